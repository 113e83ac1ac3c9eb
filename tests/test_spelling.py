from __future__ import annotations

import pytest

from bot.answers import Outcome
from bot.library import Library
from bot.spelling import SpellingCorrector, max_edits
from bot.thesaurus import (
    SYNONYMS_PATH,
    TERMS_PATH,
    bundled_thesaurus,
    format_terms,
    parse_thesaurus,
    with_terms,
)

TARGETS = ["huawei", "ecosystem", "spending", "training", "train", "article", "point"]


@pytest.fixture
def speller() -> SpellingCorrector:
    return SpellingCorrector(TARGETS, also_known=["approach", "the", "get"], known_stems=["compet"])


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("huawie", "huawei"),  # two letters swapped: one edit
        ("ecosytem", "ecosystem"),
        ("spedning", "spending"),
        ("trian", "train"),
        ("poitn", "point"),
        ("articel", "article"),
    ],
)
def test_typos_become_the_nearest_known_word(
    speller: SpellingCorrector, typo: str, meant: str
) -> None:
    assert speller.correction(typo) == meant


@pytest.mark.parametrize(
    "word",
    [
        "approach",  # a real word the index lacks stays itself (synonyms may find it)
        "competing",  # its stem is known
        "trains",  # an inflection of a known word
        "getting",
        "ai",  # too short to guess at
        "australia",  # nothing near
    ],
)
def test_known_short_and_far_words_are_left_alone(speller: SpellingCorrector, word: str) -> None:
    assert speller.correction(word) is None


def test_correct_rewrites_text_and_says_what_it_put_in(speller: SpellingCorrector) -> None:
    text, corrected = speller.correct("how does huawie spend on trian, 2024?")
    assert text == "how does huawei spend on train, 2024?"
    assert corrected == {"huawei", "train"}


def test_edit_budget_grows_with_length() -> None:
    assert [max_edits(w) for w in ("ab", "abcde", "abcdef", "abcdefghij")] == [1, 1, 2, 2]


def test_thesaurus_file_parses_and_knows_common_words() -> None:
    thesaurus = bundled_thesaurus()
    assert "require" in thesaurus.synonyms["need"]
    assert "strategy" in thesaurus.words
    assert len(thesaurus.synonyms) > 5_000
    assert all(word.isalpha() and word.islower() for word in list(thesaurus.words)[:500])


def test_the_bundled_terms_are_what_the_stemmer_derives_today() -> None:
    # bot/data/synonym_terms.txt is read instead of derived at start: stale after a change
    # to bot/text.py's stemmer or to synonyms.txt until `python tools/build_synonyms.py
    # --terms-only` rewrites it.
    derived = parse_thesaurus(SYNONYMS_PATH.read_text(encoding="utf-8"))
    bundled = bundled_thesaurus()
    assert bundled.stems == derived.stems, "run python tools/build_synonyms.py --terms-only"
    assert bundled.term_synonyms == derived.term_synonyms
    assert TERMS_PATH.read_text(encoding="utf-8") == format_terms(derived)
    assert (bundled.words, bundled.by_initial) == (derived.words, derived.by_initial)


def test_terms_read_back_as_they_were_written() -> None:
    thesaurus = parse_thesaurus("needs requires necessity\nrequiring needs\nnecessary")
    read = with_terms(parse_thesaurus(""), format_terms(thesaurus))
    assert read.stems == thesaurus.stems == {"need", "requir", "necess"}
    expected = {"need": {"requir", "necess"}, "requir": {"need"}}
    assert read.term_synonyms == thesaurus.term_synonyms == expected


def test_thesaurus_comments_and_blank_lines_are_skipped() -> None:
    thesaurus = parse_thesaurus("# header\n\nbig large\n")
    assert thesaurus.synonyms == {"big": ("large",)}
    assert thesaurus.words == {"big", "large"}


@pytest.mark.parametrize("word", ["france", "cash", "sold", "bought", "grew", "amazon", "paris"])
def test_a_real_word_is_never_rewritten(word: str) -> None:
    # Each is one or two edits from a target ("face", "case", "scold"...), yet a real word:
    # a question about France is not a typo of a question about faces.
    speller = SpellingCorrector(["face", "case", "scold", "blight", "grey", "amaze", "pairs"])
    assert speller.correction(word) is None


def test_a_question_about_france_is_not_answered_from_capital_expenditure(
    library: Library,
) -> None:
    answer = library.ask("What is the capital of France?")
    assert answer.outcome is not Outcome.ANSWERED  # "france" stays unknown: it counts against


def test_the_vocabulary_is_found_by_bisection_in_its_sorted_file() -> None:
    from bot.spelling import ENGLISH_WORDS_PATH, SortedWords, english_words

    listed = [
        line
        for line in ENGLISH_WORDS_PATH.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert listed == sorted(listed)  # what bisection needs: tools/build_words.py sorts it
    vocabulary = english_words()
    assert len(vocabulary) == len(listed)
    assert all(word in vocabulary for word in listed[:: len(listed) // 500])
    assert "france" in vocabulary and "sold" in vocabulary
    assert "investmnet" not in vocabulary and "" not in vocabulary
    assert "b" in SortedWords(b"# header\na\nb\nc\n") and "d" not in SortedWords(b"a\nb\n")
