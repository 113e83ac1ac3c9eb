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
from enum import StrEnum

from rapidfuzz import fuzz, process, utils

from bot.content import CORE_VIEWPOINT, Passage
from bot.glossary import Glossary
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
# Passages of different articles whose scores are this close are "alike": the reader is
# asked to choose (unless one is from the conversation's current article, which wins).
TIE_MARGIN = 0.03


class Outcome(StrEnum):
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
        glossary: Glossary | None = None,
    ) -> None:
        self.answer_threshold = answer_threshold
        self.suggest_threshold = suggest_threshold
        self.glossary = glossary or Glossary()
        self.passages: list[Passage] = list(passages)
        self._content: list[str] = []  # each passage's content words, for the fuzzy rerank
        self._postings: dict[str, list[int]] = defaultdict(list)
        self._vocabulary: dict[str, str] = {}  # surface word -> its term, for typo correction
        for index, passage in enumerate(self.passages):
            text = passage.text
            if passage.number == 0:
                # "summary", "main point" and the like reach the core viewpoint through the
                # glossary, which maps them to its section title.
                text = f"{CORE_VIEWPOINT} {text}"
            passage_words = words(normalise(text))
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

    def question_words(self, question: str) -> list[str]:
        """The question's content words after normalisation and the glossary."""
        return words(self.glossary.apply(normalise(question)))

    def search(
        self, question: str, article_id: str | None = None, limit: int = 3
    ) -> list[ScoredPassage]:
        """The best `limit` passages for the question, best first, scores in [0, 1]."""
        question_words = self.question_words(question)
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

    def match(
        self, question: str, article_id: str | None = None, prefer_article: str | None = None
    ) -> MatchResult:
        """Decide between answering, suggesting up to 3 candidates, and admitting ignorance.

        `article_id` scopes the question to one article; `prefer_article` (the conversation's
        current article) wins ties. Alike scores from different articles are suggested.
        """
        ranked = self.search(question, article_id, limit=RERANK_CANDIDATES)
        plausible = [s for s in ranked if s.score >= self.suggest_threshold]
        if not plausible:
            return MatchResult(Outcome.UNANSWERED, ())
        top = plausible[0].score
        tied = [s for s in plausible if top - s.score <= TIE_MARGIN]
        if prefer_article is not None:
            # A stable sort: the current article's passages first among the tied ones.
            tied.sort(key=lambda s: s.passage.article_id != prefer_article)
            plausible = tied + plausible[len(tied) :]
        best = plausible[0]
        rivals = {s.passage.article_id for s in tied} - {best.passage.article_id}
        ambiguous = bool(rivals) and best.passage.article_id != prefer_article
        if best.score >= self.answer_threshold and not ambiguous:
            return MatchResult(Outcome.ANSWERED, tuple(plausible[:3]))
        if ambiguous:
            plausible = _one_per_article(tied)
        return MatchResult(Outcome.SUGGESTED, tuple(plausible[:3]))

    def _query_terms(self, question_words: list[str]) -> list[_QueryTerm]:
        """The question's distinct terms with their weights.

        A word none of whose terms is indexed is first typo-corrected; failing that it
        counts once, at the maximum IDF, against every passage.
        """
        query: dict[str, _QueryTerm] = {}
        for word in question_words:
            word_term = word_terms(word)
            known = [t for t in word_term if t in self._idf]
            for term in known:
                query.setdefault(term, _QueryTerm(term, self._idf[term], 1.0))
            if known:
                continue
            corrected = self._correct(word) if len(word_term) == 1 else None
            if corrected:
                query.setdefault(
                    corrected, _QueryTerm(corrected, self._idf[corrected], TYPO_CREDIT)
                )
            else:
                query.setdefault(word, _QueryTerm(word, self._max_idf, 0.0))
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


def _one_per_article(ranked: list[ScoredPassage]) -> list[ScoredPassage]:
    """The best passage of each article, in rank order, so the reader chooses the article."""
    seen: set[str] = set()
    best = []
    for scored in ranked:
        if scored.passage.article_id not in seen:
            seen.add(scored.passage.article_id)
            best.append(scored)
    return best
