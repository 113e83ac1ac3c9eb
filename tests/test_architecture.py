"""The domain in bot/ stays independent of Telegram, so the CLI and tests use it directly."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

# bot/app.py (the Telegram application) may import telegram, and bot/persistence.py, the
# thin python-telegram-bot adapter (a BasePersistence subclass) over bot/chat_state.py,
# which holds the storage itself and stays Telegram-free.
TELEGRAM_MODULES = {"app.py", "persistence.py"}


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
