"""The query log's figures as values: what readers ask, what the articles cannot answer yet.

`Stats` and its parts, their stable JSON form and their text; bot.querylog reads them from
the database (bot/querylog/queries.py), this module holds no SQL. The window is whole UTC
calendar days: `days=7` is today and the six days before, so the per-day series has exactly
`days` entries. `Stats.to_json()` keys are stable and documented in docs/privacy.md
("`stats`"); rates are null when there is nothing to divide by.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from bot.text import normalise

OUTCOME_NAMES = ("answered", "suggested", "unanswered")
# The kinds of query-log rows (bot.querylog's KINDS): only questions are questions; the
# others (/summary and the full-summary button, picks of a passage offered, small talk) are
# counted apart, never as answered questions or content gaps.
KIND_NAMES = ("question", "summary", "pick", "small_talk")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Counted:
    """A question (or passage id) and how often it came up."""

    text: str
    count: int


@dataclass(frozen=True)
class UnhelpfulAnswer:
    """A passage given as an answer, with its unhelpful and total votes."""

    passage_id: str
    unhelpful: int
    votes: int


@dataclass(frozen=True)
class Day:
    """Questions on one UTC day, by outcome."""

    date: str
    answered: int = 0
    suggested: int = 0
    unanswered: int = 0


@dataclass(frozen=True)
class Stats:
    """Every figure `python -m bot stats` shows, for one window."""

    days: int
    since: str
    until: str
    questions: int
    outcomes: dict[str, int]
    distinct_users: int
    top_questions: tuple[Counted, ...]
    top_unanswered: tuple[Counted, ...]
    top_passages: tuple[Counted, ...]
    votes: int
    helpful: int
    unhelpful_answers: tuple[UnhelpfulAnswer, ...]
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    dropped_rows: int
    per_day: tuple[Day, ...]
    # Replies Telegram refused or a flood outlasted (FLOOD_GIVE_UP_SECONDS): asked, not read.
    undelivered: int = 0
    # Rows of each kind (KIND_NAMES), questions included.
    kinds: dict[str, int] = field(default_factory=dict)

    def rate(self, outcome: str) -> float | None:
        """The share of questions with this outcome, or None without questions."""
        return _ratio(self.outcomes.get(outcome, 0), self.questions)

    @property
    def helpful_rate(self) -> float | None:
        return _ratio(self.helpful, self.votes)

    def with_extra_dropped(self, rows: int) -> Stats:
        """The same figures with rows dropped in memory (not yet in the database) added."""
        return replace(self, dropped_rows=self.dropped_rows + rows) if rows else self

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form (docs/privacy.md documents each key)."""
        return {
            "days": self.days,
            "since": self.since,
            "until": self.until,
            "questions": self.questions,
            "outcomes": {name: self.outcomes.get(name, 0) for name in OUTCOME_NAMES},
            "kinds": {name: self.kinds.get(name, 0) for name in KIND_NAMES},
            "rates": {name: _round(self.rate(name)) for name in OUTCOME_NAMES},
            "distinct_users": self.distinct_users,
            "top_questions": [{"question": c.text, "count": c.count} for c in self.top_questions],
            "top_unanswered": [{"question": c.text, "count": c.count} for c in self.top_unanswered],
            "top_passages": [{"passage_id": c.text, "count": c.count} for c in self.top_passages],
            "feedback": {
                "votes": self.votes,
                "helpful": self.helpful,
                "helpful_rate": _round(self.helpful_rate),
            },
            "unhelpful_answers": [
                {"passage_id": a.passage_id, "unhelpful": a.unhelpful, "votes": a.votes}
                for a in self.unhelpful_answers
            ],
            "latency_ms": {"p50": self.latency_p50_ms, "p95": self.latency_p95_ms},
            "dropped_rows": self.dropped_rows,
            "undelivered": self.undelivered,
            "per_day": [
                {
                    "date": d.date,
                    "answered": d.answered,
                    "suggested": d.suggested,
                    "unanswered": d.unanswered,
                }
                for d in self.per_day
            ],
        }


def window_start(until: datetime, days: int) -> datetime:
    """Midnight UTC at the start of a window of `days` calendar days ending with `until`."""
    first = until.astimezone(UTC).date() - timedelta(days=days - 1)
    return datetime.combine(first, time(0), tzinfo=UTC)


def question_key(question: str) -> str:
    """How questions are grouped: NFKC, lower case, punctuation and extra spaces gone."""
    return " ".join(_WORD.findall(normalise(question)))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def render_stats(stats: Stats) -> str:
    """The figures as plain text, for the terminal and for an admin's chat."""
    first, last = stats.per_day[0].date, stats.per_day[-1].date
    lines = [
        f"Last {stats.days} day(s), {first} to {last} (UTC): {stats.questions} questions "
        f"from {stats.distinct_users} reader(s)",
        "  " + " · ".join(
            f"{name} {_percent(stats.rate(name))} ({stats.outcomes[name]})"
            for name in OUTCOME_NAMES
        ),
        f"  answer latency: p50 {_ms(stats.latency_p50_ms)}, p95 {_ms(stats.latency_p95_ms)}",
        f"  helpful: {_percent(stats.helpful_rate)} of {stats.votes} vote(s)",
        f"  dropped log rows: {stats.dropped_rows}",
        f"  replies not delivered: {stats.undelivered}",
    ]  # fmt: skip
    sections = (
        ("Most asked", [f"{c.count:>5}  {c.text}" for c in stats.top_questions]),
        (
            "Content gaps (most asked, unanswered)",
            [f"{c.count:>5}  {c.text}" for c in stats.top_unanswered],
        ),
        ("Most cited passages", [f"{c.count:>5}  {c.text}" for c in stats.top_passages]),
        (
            "Answers most often marked unhelpful",
            [f"{a.unhelpful:>5}  of {a.votes}  {a.passage_id}" for a in stats.unhelpful_answers],
        ),
    )
    for title, rows in sections:
        lines += ["", f"{title}:", *(rows or ["  (none)"])]
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"
