"""The query log's figures as values: what readers ask, what the articles cannot answer yet.

`Stats` and its parts, their stable JSON form and their text; bot.querylog reads them from
the database (bot/querylog/queries.py), this module holds no SQL. The window is whole UTC
calendar days: `days=7` is today and the six days before, so the per-day series has exactly
`days` entries. `Stats.to_json()` keys are stable and documented in docs/privacy.md
("`stats`"); rates are null when there is nothing to divide by.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from bot.content import Article, Passage
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

    def to_json(self, passage_label: PassageLabel | None = None) -> dict[str, Any]:
        """The stable JSON form (docs/privacy.md documents each key). Passages keep their
        ids; given `passage_label`, each also has a `label` (null for a passage no longer
        loaded)."""

        def labelled(entry: dict[str, Any]) -> dict[str, Any]:
            if passage_label is not None:
                entry["label"] = passage_label(entry["passage_id"])
            return entry

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
            "top_passages": [
                labelled({"passage_id": c.text, "count": c.count}) for c in self.top_passages
            ],
            "feedback": {
                "votes": self.votes,
                "helpful": self.helpful,
                "helpful_rate": _round(self.helpful_rate),
            },
            "unhelpful_answers": [
                labelled({"passage_id": a.passage_id, "unhelpful": a.unhelpful, "votes": a.votes})
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


# What render_stats translates with: gettext(message) and ngettext(singular, plural, n),
# the signatures of the gettext module's functions (and of a catalog's methods). Every
# message is a str.format template; counts are filled in after the translation.
Gettext = Callable[[str], str]
Ngettext = Callable[[str, str, int], str]
# The passage a stored id names, as a reader would recognise it ("headline · section"), or
# None when no loaded article has it (any more).
PassageLabel = Callable[[str], str | None]

QUESTION_WIDTH = 60  # display columns of a question in the lists; a phone wraps the rest
# Display columns of a passage label's parts (a CJK character takes two).
HEADLINE_WIDTH = 20
SECTION_WIDTH = 32


def passage_labels(articles: Iterable[Article]) -> PassageLabel:
    """A PassageLabel over these articles (the loaded Library's): `"<headline> · <section>"`,
    both shortened for a phone, or None for an id none of them has."""
    found = {p.id: (a, p) for a in articles for p in a.passages}

    def label(passage_id: str) -> str | None:
        hit = found.get(passage_id)
        return None if hit is None else passage_name(*hit)

    return label


def passage_name(article: Article, passage: Passage) -> str:
    """What a reader would call a passage: its article's headline and its section, short."""
    return f"{shorten(article.title, HEADLINE_WIDTH)} · {shorten(passage.section, SECTION_WIDTH)}"


def english_ngettext(singular: str, plural: str, n: int) -> str:
    """ngettext without a catalog: English's rule (the plural unless exactly one)."""
    return singular if n == 1 else plural


def _untranslated(message: str) -> str:
    return message


def render_stats(
    stats: Stats,
    passage_label: PassageLabel | None = None,
    *,
    gettext: Gettext = _untranslated,
    ngettext: Ngettext = english_ngettext,
) -> str:
    """The figures as plain text, short lines for a phone: for the terminal and for an
    admin's chat (in a <pre> block). `passage_label` names passages (else their ids show);
    `gettext` and `ngettext` translate (English as written by default)."""

    def count(singular: str, plural: str, n: int) -> str:
        return ngettext(singular, plural, n).format(count=n)

    first, last = stats.per_day[0].date, stats.per_day[-1].date
    days = stats.days
    lines = [
        ngettext("Last {days} day (UTC)", "Last {days} days (UTC)", days).format(days=days),
        gettext("{first} to {last}").format(first=first, last=last) if days > 1 else first,
        " · ".join((
            count("{count} question", "{count} questions", stats.questions),
            count("{count} reader", "{count} readers", stats.distinct_users),
        )),
    ]  # fmt: skip
    if stats.questions:
        shown = {
            "answered": gettext("answered {share} ({count})"),
            "suggested": gettext("suggested {share} ({count})"),
            "unanswered": gettext("unanswered {share} ({count})"),
        }
        lines += [
            "  " + shown[name].format(share=_percent(stats.rate(name)), count=stats.outcomes[name])
            for name in OUTCOME_NAMES
        ]
    others = [
        count(singular, plural, stats.kinds.get(kind, 0))
        for kind, singular, plural in (
            ("summary", "{count} summary", "{count} summaries"),
            ("pick", "{count} pick", "{count} picks"),
            ("small_talk", "{count} small-talk message", "{count} small-talk messages"),
        )
        if stats.kinds.get(kind, 0)
    ]
    if others:
        lines.append(gettext("Also: {items}").format(items=" · ".join(others)))
    if stats.votes:
        lines.append(f"👍 {stats.helpful} · 👎 {stats.votes - stats.helpful}")
    if stats.latency_p50_ms is not None and stats.latency_p95_ms is not None:
        lines.append(
            gettext("Latency p50 {p50} · p95 {p95}").format(
                p50=_ms(stats.latency_p50_ms), p95=_ms(stats.latency_p95_ms)
            )
        )
    if stats.dropped_rows:
        lines.append(
            count("{count} log row dropped", "{count} log rows dropped", stats.dropped_rows)
        )
    if stats.undelivered:
        lines.append(
            count("{count} reply not delivered", "{count} replies not delivered", stats.undelivered)
        )

    def passage(passage_id: str) -> str:
        return (passage_label(passage_id) if passage_label else None) or passage_id

    sections = (
        (gettext("Most asked:"), _counted(stats.top_questions, _question)),
        (gettext("Content gaps (asked, not answered):"), _counted(stats.top_unanswered, _question)),
        (gettext("Most cited passages:"), _counted(stats.top_passages, passage)),
        (
            gettext("Marked unhelpful:"),
            [
                "  "
                + ngettext(
                    "👎 {unhelpful} of {count} vote", "👎 {unhelpful} of {count} votes", a.votes
                ).format(unhelpful=a.unhelpful, count=a.votes)
                + "  "
                + passage(a.passage_id)
                for a in stats.unhelpful_answers
            ],
        ),
    )
    for title, rows in sections:
        lines += ["", title, *(rows or ["  " + gettext("(none)")])]
    return "\n".join(lines)


def _counted(entries: tuple[Counted, ...], name: Callable[[str], str]) -> list[str]:
    """One line an entry, the counts right-aligned only as wide as the largest needs."""
    width = max((len(str(c.count)) for c in entries), default=1)
    return [f"  {c.count:>{width}}  {name(c.text)}" for c in entries]


def _question(text: str) -> str:
    return shorten(text, QUESTION_WIDTH)


def display_width(text: str) -> int:
    """Columns the text takes in a monospaced font: CJK (wide, full-width) characters two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def shorten(text: str, width: int) -> str:
    """The text in at most `width` display columns, cut with "…" when longer: at a space when
    one falls in the second half (Latin words stay whole), else mid-text (CJK has none)."""
    text = " ".join(text.split())
    if display_width(text) <= width:
        return text
    end, used = 0, 0
    while used + display_width(text[end]) <= width - 1:  # one column is for the "…"
        used += display_width(text[end])
        end += 1
    cut = text[:end]
    space = cut.rfind(" ")
    if text[end] != " " and space >= len(cut) // 2:  # not to end mid-word
        cut = cut[:space]
    return cut.rstrip(" ,;:·-") + "…"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"
