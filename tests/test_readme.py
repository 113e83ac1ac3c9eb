"""The README's and the docs' promises: examples parse, CI runs exactly the quick start."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.parsing import load_folder, parse_article
from tests.conftest import ROOT, SHARED

README = (ROOT / "README.md").read_text(encoding="utf-8")
CONTENT = (ROOT / "docs" / "content.md").read_text(encoding="utf-8")


def code_blocks(language: str, text: str = README) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_markdown_example_parses() -> None:
    (example,) = code_blocks("markdown", CONTENT)
    article, warnings = parse_article(example, "example", "example.md")
    assert warnings == []
    assert article.headline == "Alibaba Cloud's quarter"
    assert article.source == "21st Century Business Herald"
    assert [s.title for s in article.sections] == ["Revenue", "Outlook"]
    assert [p.citations for p in article.passages] == [(1, 2), (3,), (4, 5), (6,)]
    assert article.passages[2].text.endswith("with triple-digit growth.")


def test_quick_start_is_what_ci_runs() -> None:
    commands = [block.strip() for block in code_blocks("sh")[:2]]
    run, test = commands
    install = "python3 -m venv .venv && .venv/bin/pip install -e '.[dev,charts]'"
    assert run == f"{install} && .venv/bin/python -m bot chat"
    assert test.splitlines() == [
        install,
        ".venv/bin/mypy bot handlers",
        ".venv/bin/python -m pytest",
    ]
    assert test in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.needs_shared
def test_seed_is_bundled_unchanged() -> None:
    shared = SHARED / "seeds" / "000_4859508c0bdee28a.txt"
    bundled = ROOT / "seeds" / "000_4859508c0bdee28a.txt"
    assert bundled.read_bytes() == shared.read_bytes()


def test_rejection_example_matches_real_messages(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("Just some notes.\n", encoding="utf-8")
    (tmp_path / "draft.md").write_text(
        "# Draft\nSource: X · 2025-01-01\n\n## Core Viewpoint\nA view [1].\n\n## Outlook\n",
        encoding="utf-8",
    )
    rejected = {Path(p.file).name: f"{p.line}: {p.reason}" for p in load_folder(tmp_path).rejected}
    assert set(rejected) == {"notes.txt", "draft.md"}
    for name, message in rejected.items():
        assert f"{name}:{message}" in CONTENT


def test_every_test_the_operations_table_names_exists() -> None:
    section = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    named = [n for row in rows[1:] for n in re.findall(r"`([a-z0-9_]+)`", row.split("|")[-2])]
    assert len(named) >= 12
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    for name in named:
        # A test module, or (part of) a test function's name: `pytest -k NAME` selects it.
        found = (ROOT / "tests" / f"{name}.py").is_file() or re.search(
            rf"def test_\w*{re.escape(name)}", sources
        )
        assert found, f"the operations table names {name!r}, which no test matches"


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def without_code(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found: set[str] = set()
    for heading in re.findall(r"^#+ (.+)$", without_code(path.read_text(encoding="utf-8")), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        number, candidate = 0, slug
        while candidate in found:
            number += 1
            candidate = f"{slug}-{number}"
        found.add(candidate)
    return found


def test_docs_are_where_the_readme_says() -> None:
    for name in (
        "configuration", "content", "privacy", "cli", "architecture", "matching",
        "benchmarks", "deploying", "telegram", "decisions/README",
    ):  # fmt: skip
        assert f"](docs/{name}.md)" in README, name


def test_every_relative_link_resolves() -> None:
    checked = 0
    for source in markdown_files():
        text = without_code(source.read_text(encoding="utf-8"))
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            linked = (source.parent / file_part).resolve() if file_part else source
            where = f"{source.relative_to(ROOT)} links to {target}"
            assert linked.is_file(), f"{where}, which does not exist"
            if anchor:
                assert anchor in anchors(linked), f"{where}, which has no such heading"
            checked += 1
    assert checked >= 20


def test_the_readme_stays_short_and_says_how_to_add_a_language() -> None:
    # A reader's first page: what they see, how to start, where the rest is (10 KiB at most).
    assert len(README.encode("utf-8")) <= 10 * 1024
    languages = README.split("**Languages.**", 1)[1].split("\n\n", 1)[0]
    assert "To add a language" in " ".join(languages.split())
    assert "(docs/telegram.md#languages)" in languages
