from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from bot.answers import Outcome
from bot.config import Settings
from bot.content import CORE_VIEWPOINT, Article, Passage, Section
from bot.library import Library, load_library
from bot.matcher_config import MatcherConfig
from tests.conftest import ROOT, SEED_ID, SEEDS


def article(article_id: str, headline: str, day: int, bullet: str) -> Article:
    core = Passage(article_id, 0, CORE_VIEWPOINT, f"{headline} overview.", ())
    section = Section(1, "Details", (Passage(article_id, 1, "Details", bullet, (1,)),))
    return Article(article_id, headline, "Source", datetime(2025, 1, day), core, (section,))


TWINS = [
    article("a", "Solar prices", 1, "Solar panel prices fell forty percent in Europe."),
    article("b", "Solar outlook", 2, "Solar panel prices fell forty percent in Europe."),
]


def test_alike_passages_of_different_articles_are_suggested_by_article() -> None:
    answer = Library(TWINS).ask("solar panel prices fell")
    assert answer.outcome is Outcome.SUGGESTED
    assert {m.article.id for m in answer.matches} == {"a", "b"}
    assert answer.spans_articles  # rendered with headlines


def test_current_article_wins_ties() -> None:
    library = Library(TWINS)
    for current in ("a", "b"):
        answer = library.ask("solar panel prices fell", prefer_article=current)
        assert answer.outcome is Outcome.ANSWERED
        assert answer.best is not None and answer.best.article.id == current


def test_scope_answers_from_one_article_only() -> None:
    answer = Library(TWINS).ask("solar panel prices fell", article_id="b")
    assert answer.outcome is Outcome.ANSWERED
    assert {m.article.id for m in answer.matches} == {"b"}


def test_articles_are_newest_first_and_found_by_number_id_headline_or_topic() -> None:
    library = Library(TWINS)
    assert [a.id for a in library.articles] == ["b", "a"]
    assert library.find_article("1") is library.article("b")
    assert library.find_article("2") is library.article("a")
    assert library.find_article("3") is None
    assert library.find_article("a") is library.article("a")
    assert library.find_article("outlook") is library.article("b")
    assert library.find_article("") is library.article("b")  # the latest
    assert library.find_article("quantum chromodynamics") is None


def test_passage_by_id() -> None:
    match = Library(TWINS).passage("a#1")
    assert match is not None and match.article.id == "a" and match.passage.number == 1
    assert Library(TWINS).passage("a#9") is None


EXTRA = (
    "# Extra\nSource: X · 2026-01-01\n## Core Viewpoint\nWind power grows [1].\n"
    "## Wind\n- Turbines got larger [2].\n"
)


def seeded_folder(tmp_path: Path, extra: bool = False) -> Path:
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    if extra:
        (folder / "extra.md").write_text(EXTRA, encoding="utf-8")
    return folder


def test_reload_keeps_the_last_good_version_of_a_file_that_now_fails(tmp_path: Path) -> None:
    folder = seeded_folder(tmp_path, extra=True)
    settings = Settings(seeds_dir=folder)
    first, _ = load_library(settings)
    (folder / f"{SEED_ID}.txt").write_text("now broken\n", encoding="utf-8")
    second, loaded = load_library(settings, previous=first)
    assert [p.file for p in loaded.rejected] == [str(folder / f"{SEED_ID}.txt")]
    assert second.article(SEED_ID) is first.article(SEED_ID)
    assert any("last good version" in w.reason for w in loaded.warnings)
    # Without a previous library (a first start) the broken file is simply missing.
    fresh, _ = load_library(settings)
    assert fresh.article(SEED_ID) is None
    assert fresh.article("extra") is not None


def test_reload_never_replaces_content_with_nothing(tmp_path: Path) -> None:
    folder = seeded_folder(tmp_path)
    settings = Settings(seeds_dir=folder)
    first, _ = load_library(settings)
    for path in folder.iterdir():
        path.unlink()
    second, loaded = load_library(settings, previous=first)
    assert [a.id for a in second.articles] == [SEED_ID]
    assert any("keeping" in w.reason for w in loaded.warnings)


def test_reload_adds_new_files_and_drops_deleted_ones(tmp_path: Path) -> None:
    folder = seeded_folder(tmp_path)
    settings = Settings(seeds_dir=folder)
    first, _ = load_library(settings)
    (folder / "extra.md").write_text(EXTRA, encoding="utf-8")
    second, loaded = load_library(settings, previous=first)
    assert [a.id for a in second.articles] == ["extra", SEED_ID]
    assert loaded.rejected == ()
    (folder / "extra.md").unlink()
    third, _ = load_library(settings, previous=second)
    assert [a.id for a in third.articles] == [SEED_ID]


def test_candidates_are_best_first_and_above_the_suggest_bar() -> None:
    library = Library(TWINS, MatcherConfig(suggest_threshold=0.5))
    found = library.candidates("solar panel prices fell", limit=5)
    assert {m.article.id for m in found} == {"a", "b"}
    assert all(m.score >= 0.5 for m in found)
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    assert library.candidates("sourdough bread recipe", limit=5) == []
    assert len(library.candidates("solar panel prices fell", limit=1)) == 1


def test_a_reply_asks_the_replied_articles_passages_first(tmp_path: Path) -> None:
    for source in (SEEDS, ROOT / "tests" / "data" / "articles"):
        for path in source.iterdir():
            shutil.copy(path, tmp_path / path.name)
    library, _ = load_library(Settings(seeds_dir=tmp_path))
    phones, bank = "101_7c3e9a1f5b2d8e40", "102_e14b6d02a9c7f358"
    answer = library.ask("how many users?", prefer_article=phones, about_article=bank)
    assert answer.best is not None and answer.best.passage.id == f"{bank}#7"
    # Without the reply the chat's current article wins the tie.
    answer = library.ask("how many users?", prefer_article=phones)
    assert answer.best is not None and answer.best.article.id == phones
    # A reply about an article that answers worse still gets the library's best answer.
    answer = library.ask("Alibaba Cloud customers", about_article=bank)
    assert answer.best is not None and answer.best.article.id == SEED_ID
