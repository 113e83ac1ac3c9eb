"""The matcher beyond the seed: blind questions over four articles (benchmarks/eval_multi.py).

Floors at today's measured levels catch regressions; the matching issue's targets, on the
held-out questions with 200 synthetic distractors, are strict xfails until they are met
(they turn red the day they hold, and the marker must go).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.eval_multi import BLIND_ROUNDS, round_data
from benchmarks.evaluation import Tally, evaluate, library_method, load_questions
from bot.config import Settings
from bot.library import load_library
from tests.conftest import ROOT, SEEDS, synthetic_corpus

QUESTIONS = load_questions(ROOT / "tests" / "data" / "eval_multi.jsonl")
ARTICLES = ROOT / "tests" / "data" / "articles"


def tally(folder: Path, split: str | None = None) -> dict[str, Tally]:
    library, loaded = load_library(Settings(seeds_dir=folder))
    assert loaded.rejected == ()
    questions = [q for q in QUESTIONS if split is None or q.split == split]
    subsets = {
        "en": lambda q: q.lang == "en",
        "zh": lambda q: q.lang == "zh",
        "all": lambda q: True,
    }
    return evaluate(library_method(library), questions, subsets)


def corpus(folder: Path) -> Path:
    for source in (SEEDS, ARTICLES):
        for path in source.iterdir():
            if path.is_file():
                shutil.copy(path, folder / path.name)
    return folder


def test_the_set_is_blind_chinese_and_off_topic_enough() -> None:
    assert len(QUESTIONS) >= 150
    assert sum(q.lang == "zh" for q in QUESTIONS) * 4 >= len(QUESTIONS)
    assert sum(q.expected is None for q in QUESTIONS) * 5 >= len(QUESTIONS)
    assert sum(q.split == "heldout5" for q in QUESTIONS) * 3 >= len(QUESTIONS) - 10
    assert {q.split for q in QUESTIONS} == {"tune5", "heldout5"}
    assert len({p.name for p in ARTICLES.iterdir()}) >= 3


def test_four_articles_hold_their_measured_levels(tmp_path: Path) -> None:
    t = tally(corpus(tmp_path))["all"]
    # Measured: 84/171 answered right, 120/171 first, 7 wrong, 4/46 off-topic answered
    # (answering on a clear lead, chosen on the tune questions, answers 8 more right here
    # than before it, with no more wrong or off-topic answers).
    assert t.answered_right >= 81
    assert t.ranked_first >= 115
    assert t.answered_wrong <= 7
    assert t.off_topic_answered <= 5


@pytest.mark.needs_shared
@pytest.mark.xfail(strict=True, reason="the matching issue's held-out targets are not met yet")
def test_held_out_targets_with_200_distractors(tmp_path: Path) -> None:
    tallies = tally(corpus(synthetic_corpus(tmp_path, 200)), split="heldout5")
    english, chinese, every = tallies["en"], tallies["zh"], tallies["all"]
    tolerance = 0.03
    assert english.accuracy >= 0.80 - tolerance
    assert every.ranked_first / every.answerable >= 0.95 - tolerance
    assert chinese.accuracy >= 0.70 - tolerance
    assert every.answered_wrong / every.answerable <= 0.03 + tolerance
    assert every.off_topic_answered / every.off_topic <= 0.02 + tolerance


@pytest.mark.parametrize("number", BLIND_ROUNDS)
def test_blind_rounds_are_well_formed_and_kept_blind(number: int) -> None:
    """A blind round waits for the matcher change it measures: here only its shape is
    checked (its digests and those of the rounds before it are loaded beside the others)."""
    from bot.parsing import load_folder

    path, extra = round_data(number)
    questions = load_questions(path)
    folders = [SEEDS, ARTICLES, *extra]
    passages = {
        p.id
        for folder in folders
        for article in load_folder(folder).articles
        for p in article.passages
    }
    assert len(questions) == 100 and {q.split for q in questions} == {f"heldout{number}"}
    assert {q.expected for q in questions if q.expected} <= passages
    assert sum(q.lang == "zh" for q in questions) >= 25
    assert sum(q.expected is None for q in questions) >= 20


def test_off_topic_questions_about_the_ten_articles_stay_refused(tmp_path: Path) -> None:
    """tests/data/eval_tune6.jsonl (for tuning): 70 questions naming an article's company or
    person but asking what no passage says (an age, a founder, a dividend...), 50 answerable."""
    from bot.parsing import load_folder

    data = ROOT / "tests" / "data"
    folders = [SEEDS, ARTICLES, *round_data(11)[1]]  # tune6: the digests of rounds 6-11
    for folder in folders:
        for path in folder.iterdir():
            if path.is_file() and not path.name.startswith("README"):
                shutil.copy(path, tmp_path / path.name)
    questions = load_questions(data / "eval_tune6.jsonl")
    passages = {p.id for a in load_folder(tmp_path).articles for p in a.passages}
    assert {q.split for q in questions} == {"tune6"}
    assert {q.expected for q in questions if q.expected} <= passages
    library, loaded = load_library(Settings(seeds_dir=tmp_path))
    assert loaded.rejected == ()
    t = evaluate(library_method(library), questions, {"all": lambda q: True})["all"]
    # Measured: 19 of 70 off-topic answered (24 before the age, founder, headquarters,
    # dividend and share-price facts), 28 of 50 right, 3 wrong.
    assert t.off_topic == 70 and t.off_topic_answered <= 20
    assert t.answered_right >= 26 and t.answered_wrong <= 4


def test_the_rounds_are_found_and_read_with_their_digests() -> None:
    """The blind rounds are the files there are (a new one is measured with no list to
    edit), each read with its digests and those of the rounds before it."""
    from benchmarks.eval_rounds import round_questions

    assert BLIND_ROUNDS[:11] == tuple(range(6, 17))
    questions, folders = round_questions(5)
    assert len(questions) == 70 and folders == ()
    last = BLIND_ROUNDS[-1]
    questions, folders = round_questions(last)
    assert len(questions) == 100 and len(folders) == last - 5
    assert all(folder.is_dir() for folder in folders)
