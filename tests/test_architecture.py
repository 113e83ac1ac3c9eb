"""The domain in bot/ stays independent of Telegram, so the CLI and tests use it directly."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

# bot/app.py (the Telegram application) may import telegram, and bot/persistence.py, the
# thin python-telegram-bot adapter (a BasePersistence subclass) over bot/chat_state.py,
# which holds the storage itself and stays Telegram-free; and bot/monitoring.py, which
# watches the Application for bot/health.py (Telegram-free too).
TELEGRAM_MODULES = {"app.py", "persistence.py", "monitoring.py"}


def imported_modules(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_domain_does_not_import_telegram() -> None:
    modules = sorted((ROOT / "bot").rglob("*.py"))  # bot/querylog/ too
    assert len(modules) >= 8
    for path in modules:
        if path.name in TELEGRAM_MODULES:
            continue
        imports = imported_modules(path.read_text(encoding="utf-8"))
        assert not imports & {"telegram", "handlers"}, f"{path.name} imports {imports}"


def test_layout() -> None:
    for name in ("bot", "handlers", "seeds", "tests", "benchmarks"):
        assert (ROOT / name).is_dir(), name
    for name in ("pyproject.toml", ".env.example", "README.md", ".ci/run"):
        assert (ROOT / name).is_file(), name


def imported_names(source: str) -> list[tuple[str, str]]:
    """(module, name) for every `from module import name` in the source."""
    return [
        (node.module, alias.name)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    ]


def test_handlers_never_import_each_others_private_names() -> None:
    for path in sorted((ROOT / "handlers").glob("*.py")):
        for module, name in imported_names(path.read_text(encoding="utf-8")):
            if module.startswith(("handlers", "bot")):
                assert not name.startswith("_"), f"{path.name} imports {module}.{name}"


# Values and loading know nothing of the algorithms or encodings built on them: answers
# are what the matcher returns, not part of it; the library knows nothing of buttons; the
# shipped packages never reach into benchmarks or tests.
FORBIDDEN = {
    "bot/answers.py": {"bot.matching", "bot.library"},
    "bot/content.py": {"bot.matching", "bot.library", "bot.callbacks"},
    "bot/library.py": {"bot.callbacks", "bot.state"},
    "bot/matching.py": {"bot.library", "bot.callbacks", "bot.state"},
    "bot/matcher_config.py": {"bot.matching", "bot.config"},
}


def test_value_modules_do_not_import_what_is_built_on_them() -> None:
    for relative, forbidden in FORBIDDEN.items():
        source = (ROOT / relative).read_text(encoding="utf-8")
        modules = {module for module, _ in imported_names(source)}
        modules |= {
            alias.name
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        assert not modules & forbidden, f"{relative} imports {modules & forbidden}"
    for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").glob("*.py")]):
        imports = imported_modules(path.read_text(encoding="utf-8"))
        assert not imports & {"benchmarks", "tests"}, f"{path} imports {imports}"
