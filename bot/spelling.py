"""Typo correction of a question's words, before the glossary sees them.

Readers type on phones: "huawie", "spedning", "articel". A word that is neither in the
index, nor an alias of the glossary, nor a stopword, nor a real English word (WordNet's
lemmas and their inflections, `bot/data/english_words.txt`: "France", "cash" and "sold"
stay what they are) is taken for a typo and replaced by the nearest known word within a small edit
distance (optimal string alignment, so a swap of two letters is one edit; one edit for
words of 4-5 letters, two from 6 on, as search engines' "auto" fuzziness does), among the
known words of the same first letter. Correcting
before the glossary lets "main poitn" reach the glossary's "main point".
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Container, Iterable
from functools import lru_cache
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.text import sorted_lines, stem
from bot.thesaurus import Thesaurus

MIN_LENGTH = 4
ENGLISH_WORDS_PATH = Path(__file__).resolve().parent / "data" / "english_words.txt"
CACHE_SIZE = 10_000
_TOKEN_RE = re.compile(r"[a-z]+")


def max_edits(word: str) -> int:
    """How many edits a word of this length may be away from what was meant."""
    return 1 if len(word) <= 5 else 2


class SpellingCorrector:
    """Corrects unknown Latin words of normalised text to the nearest known word."""

    def __init__(
        self,
        targets: Iterable[str],
        also_known: Iterable[str] = (),
        known_stems: Iterable[str] = (),
        dictionary: Thesaurus | None = None,
        vocabulary: Container[str] | None = None,
    ) -> None:
        # Targets (the index's and the glossary's words) are what a typo becomes first, in
        # order of preference; the dictionary's English words only when nearer. also_known
        # are real words left as they are, and so is a word whose stem is known or that
        # inflects a known word ("getting" when "get" is known).
        ordered = list(dict.fromkeys(t for t in targets if t.isalpha() and t.isascii()))
        self._known = set(ordered) | set(also_known)
        self._known_stems = set(known_stems)
        self._dictionary = dictionary or Thesaurus()
        # Real words that are never corrected (but never offered as corrections either:
        # a typo becomes an indexed word or a thesaurus word, not an obscure lemma).
        self._vocabulary = english_words() if vocabulary is None else vocabulary
        # Candidates by first letter: a typo rarely hits the first letter, and scanning one
        # letter's words instead of every word keeps a correction well under a millisecond.
        self._by_initial: dict[str, list[str]] = {}
        for target in ordered:
            self._by_initial.setdefault(target[0], []).append(target)
        self._cache: dict[str, str | None] = {}

    def correct(self, text: str) -> tuple[str, set[str]]:
        """The text with its typos corrected, and the set of words put in their place."""
        corrected: set[str] = set()

        def replace(match: re.Match[str]) -> str:
            word = match.group(0)
            fixed = self.correction(word)
            if fixed is None:
                return word
            corrected.add(fixed)
            return fixed

        return _TOKEN_RE.sub(replace, text), corrected

    def is_known(self, word: str) -> bool:
        """A known word, or an inflection of one ("getting", "companies", "making")."""
        dictionary = self._dictionary
        if word in self._known or word in dictionary.words or word in self._vocabulary:
            return True
        if (word_stem := stem(word)) in self._known_stems or word_stem in dictionary.stems:
            return True
        return any(
            base in self._known or base in dictionary.words or base in self._vocabulary
            for base in _inflection_bases(word)
        )

    def correction(self, word: str) -> str | None:
        """The known word a typo stands for, or None (a known word, or nothing near)."""
        if len(word) < MIN_LENGTH or self.is_known(word):
            return None
        if word in self._cache:
            return self._cache[word]
        best, edits = None, max_edits(word)
        for candidates in (
            self._by_initial.get(word[0], ()),
            self._dictionary.by_initial.get(word[0], ()),
        ):
            found = process.extractOne(word, candidates, scorer=OSA.distance, score_cutoff=edits)
            if found:
                best, edits = found[0], found[1] - 1  # the dictionary must do strictly better
            if edits < 1:
                break
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[word] = best
        return best


class SortedWords:
    """A sorted list of words, kept as UTF-8 bytes and searched by bisection.

    Loading is one read and one split: a frozenset of the bundled 99,000 words took ~70 ms
    to build at every start, for the few lookups a question makes. UTF-8 bytes sort as
    the code points do, so the file's order (tools/build_words.py sorts it) is kept.
    """

    def __init__(self, data: bytes) -> None:
        self._words = sorted_lines(data)

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str) or not word:
            return False
        key = word.encode("utf-8", "surrogatepass")
        i = bisect_left(self._words, key)
        return i < len(self._words) and self._words[i] == key

    def __len__(self) -> int:
        return len(self._words)


@lru_cache(maxsize=1)
def english_words() -> SortedWords:
    """The bundled English vocabulary (tools/build_words.py), read once per process."""
    return SortedWords(ENGLISH_WORDS_PATH.read_bytes())


def _inflection_bases(word: str) -> list[str]:
    """What an inflected English word may come from: companies -> company, getting -> get."""
    bases: list[str] = []
    for suffix, replacements in _INFLECTIONS:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            base = word[: -len(suffix)]
            bases.extend(base + r for r in replacements)
            if suffix in ("ing", "ed") and len(base) >= 3 and base[-1] == base[-2]:
                bases.append(base[:-1])  # a doubled consonant: getting, stopped
    return bases


_INFLECTIONS = (
    ("ies", ("y",)), ("ied", ("y",)), ("es", ("", "e")), ("s", ("",)),
    ("ing", ("", "e")), ("ed", ("", "e")), ("er", ("", "e")), ("est", ("", "e")),
)  # fmt: skip
