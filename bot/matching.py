"""Finding the passage that answers a question.

An inverted index with IDF weights finds the candidate passages; each is scored by
*coverage*, the IDF-weighted share of the question's terms it contains (words the corpus
has never seen count against it, so questions about other things score low), and the best
candidates are reranked with rapidfuzz on their content words. The final score is in [0, 1]
and keeps its meaning as the corpus grows, which is what lets fixed thresholds decide
between answering, suggesting and admitting ignorance.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from rapidfuzz import fuzz, process, utils

from bot.content import Passage
from bot.text import normalise, word_terms, words

# Weights of the final score (shared/eval measured this blend on the seed's questions).
COVERAGE_WEIGHT = 0.75
TOKEN_SET_WEIGHT = 0.15
PARTIAL_WEIGHT = 0.10
RERANK_CANDIDATES = 40
# Unknown words this long or longer are corrected to the nearest indexed word...
TYPO_MIN_LENGTH = 4
TYPO_MIN_RATIO = 80
# ...which then earns this share of the credit an exact word would.
TYPO_CREDIT = 0.8


class Outcome(str, Enum):
    """What the bot does with a question."""

    ANSWERED = "answered"
    SUGGESTED = "suggested"
    UNANSWERED = "unanswered"


@dataclass(frozen=True)
class ScoredPassage:
    passage: Passage
    score: float


@dataclass(frozen=True)
class MatchResult:
    """The outcome and the passages behind it, best first."""

    outcome: Outcome
    matches: tuple[ScoredPassage, ...]


@dataclass(frozen=True)
class _QueryTerm:
    term: str
    weight: float  # its IDF, or the maximum IDF for a word the index does not know
    credit: float  # 1 for an exact term, TYPO_CREDIT for a corrected one, 0 for unknown


class Matcher:
    """An index over passages that scores questions against them."""

    def __init__(
        self,
        passages: Iterable[Passage],
        answer_threshold: float = 0.8,
        suggest_threshold: float = 0.5,
    ) -> None:
        self.answer_threshold = answer_threshold
        self.suggest_threshold = suggest_threshold
        self.passages: list[Passage] = list(passages)
        self._content: list[str] = []  # each passage's content words, for the fuzzy rerank
        self._postings: dict[str, list[int]] = defaultdict(list)
        self._vocabulary: dict[str, str] = {}  # surface word -> its term, for typo correction
        for index, passage in enumerate(self.passages):
            passage_words = words(normalise(passage.text))
            # rapidfuzz 3 does no preprocessing by itself: do it once here, not per question.
            self._content.append(utils.default_process(" ".join(passage_words)))
            passage_terms: set[str] = set()
            for word in passage_words:
                word_term = word_terms(word)
                passage_terms.update(word_term)
                if len(word_term) == 1 and word.isascii():
                    self._vocabulary.setdefault(word, word_term[0])
            for term in passage_terms:
                self._postings[term].append(index)
        count = len(self.passages)
        # BM25's IDF: always positive, rare terms weigh most.
        self._idf = {
            term: math.log(1 + (count - len(docs) + 0.5) / (len(docs) + 0.5))
            for term, docs in self._postings.items()
        }
        self._max_idf = max(self._idf.values(), default=1.0)
        self._vocabulary_words = list(self._vocabulary)

    def search(
        self, question: str, article_id: str | None = None, limit: int = 3
    ) -> list[ScoredPassage]:
        """The best `limit` passages for the question, best first, scores in [0, 1]."""
        question_words = words(normalise(question))
        query = self._query_terms(question_words)
        total_weight = sum(q.weight for q in query)
        if not total_weight:
            return []
        coverage: dict[int, float] = defaultdict(float)
        for q in query:
            if q.credit:
                for index in self._postings[q.term]:
                    coverage[index] += q.weight * q.credit
        if article_id is not None:
            coverage = {
                i: c for i, c in coverage.items() if self.passages[i].article_id == article_id
            }
        candidates = sorted(coverage, key=coverage.__getitem__, reverse=True)[:RERANK_CANDIDATES]
        question_text = utils.default_process(" ".join(question_words))
        scored = []
        for index in candidates:
            content = self._content[index]
            score = (
                COVERAGE_WEIGHT * coverage[index] / total_weight
                + TOKEN_SET_WEIGHT * fuzz.token_set_ratio(question_text, content) / 100
                + PARTIAL_WEIGHT * fuzz.partial_ratio(question_text, content) / 100
            )
            scored.append(ScoredPassage(self.passages[index], round(min(score, 1.0), 4)))
        scored.sort(key=lambda s: (-s.score, s.passage.article_id, s.passage.number))
        return scored[:limit]

    def match(self, question: str, article_id: str | None = None) -> MatchResult:
        """Decide between answering, suggesting up to 3 candidates, and admitting ignorance."""
        ranked = self.search(question, article_id, limit=3)
        plausible = tuple(s for s in ranked if s.score >= self.suggest_threshold)
        if not plausible:
            return MatchResult(Outcome.UNANSWERED, ())
        if plausible[0].score >= self.answer_threshold:
            return MatchResult(Outcome.ANSWERED, plausible)
        return MatchResult(Outcome.SUGGESTED, plausible)

    def _query_terms(self, question_words: list[str]) -> list[_QueryTerm]:
        """The question's distinct terms with their weights; unknown words typo-corrected."""
        query: dict[str, _QueryTerm] = {}
        for word in question_words:
            for term in word_terms(word):
                if term in query:
                    continue
                if term in self._idf:
                    query[term] = _QueryTerm(term, self._idf[term], 1.0)
                    continue
                corrected = self._correct(word) if len(word_terms(word)) == 1 else None
                if corrected and corrected not in query:
                    query[corrected] = _QueryTerm(corrected, self._idf[corrected], TYPO_CREDIT)
                else:
                    query[term] = _QueryTerm(term, self._max_idf, 0.0)
        return list(query.values())

    def _correct(self, word: str) -> str | None:
        """The index term of the indexed word nearest to a misspelt one, if near enough."""
        if len(word) < TYPO_MIN_LENGTH or not word.isalpha() or not word.isascii():
            return None
        best = process.extractOne(
            word,
            self._vocabulary_words,
            scorer=fuzz.ratio,
            processor=utils.default_process,
            score_cutoff=TYPO_MIN_RATIO,
        )
        return self._vocabulary[best[0]] if best else None
