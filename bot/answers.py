"""Answers: what the bot replies to a question, independent of how it is shown."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.content import Article, Passage


class Outcome(StrEnum):
    """What the bot does with a question."""

    ANSWERED = "answered"
    SUGGESTED = "suggested"
    UNANSWERED = "unanswered"


@dataclass(frozen=True)
class Match:
    """A passage with the article it comes from and how well it matched."""

    passage: Passage
    article: Article
    score: float

    def to_json(self) -> dict[str, Any]:
        return {
            "passage_id": self.passage.id,
            "article_id": self.article.id,
            "headline": self.article.title,
            "section": self.passage.section,
            "text": self.passage.text,
            "citations": list(self.passage.citations),
            "score": self.score,
        }


@dataclass(frozen=True)
class Answer:
    """The outcome for one question and its matches, best first.

    answered: the answer, then up to 2 runners-up; suggested: up to 3 candidates;
    unanswered: none.
    """

    question: str
    outcome: Outcome
    matches: tuple[Match, ...] = ()

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    @property
    def spans_articles(self) -> bool:
        """True when the matches come from more than one article (label them by headline)."""
        return len({m.article.id for m in self.matches}) > 1

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "outcome": self.outcome.value,
            "matches": [m.to_json() for m in self.matches],
        }
