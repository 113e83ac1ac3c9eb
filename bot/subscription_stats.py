"""The subscriptions' figures for admins: subscribers, suspended chats, the outbox's items
and when the last push was sent, read from the outbox's tables (bot/outbox.py).

One set of queries, two ways in: `figures_of` on the running bot's outbox connection
(/stats, /metrics), `read_figures` for `python -m bot stats`, which opens DATABASE_PATH
read-only and never starts a sender; a database without the outbox's tables (or no
database) gives zeros. The last push is `MAX(sent)` of the outbox table, so it survives a
restart. No Telegram import.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

SUSPENDED_SHOWN = 10  # the most recently suspended chats listed

STATES_SQL = "SELECT state, COUNT(*) FROM outbox GROUP BY state"
LAST_PUSH_SQL = "SELECT MAX(sent) FROM outbox"
SUBSCRIBERS_SQL = "SELECT COUNT(*), COUNT(suspended) FROM subscriptions"
SUSPENDED_SQL = (
    "SELECT chat_id, suspended, reason FROM subscriptions WHERE suspended IS NOT NULL "
    f"ORDER BY suspended DESC, chat_id LIMIT {SUSPENDED_SHOWN}"
)
TABLES_SQL = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)"
TABLES = ("outbox", "subscriptions")
# The features that keep their tables beside the outbox's (created when they first open):
# each figure is read only where its table exists, zero elsewhere.
FEATURE_TABLES_SQL = (
    "SELECT name FROM sqlite_master WHERE type = 'table' "
    "AND name IN ('digests', 'follows', 'watches')"
)
DIGESTS_SQL = "SELECT cadence, COUNT(*) FROM digests GROUP BY cadence"
FOLLOWS_SQL = "SELECT COUNT(*), COUNT(DISTINCT chat_id) FROM follows"
REQUESTS_SQL = "SELECT COUNT(*) FROM watches WHERE closed IS NULL"

Rows = Sequence[Sequence[Any]]


@dataclass(frozen=True)
class SuspendedChat:
    """A chat Telegram refused (blocked, kicked, not found): its pushes wait paused."""

    chat_id: int
    since: float  # time.time()
    reason: str


@dataclass(frozen=True)
class SubscriptionFigures:
    """The figures; all zero (and no last push) where there is no outbox."""

    subscribers: int = 0  # subscribed and not suspended
    suspended: int = 0
    pending: int = 0  # waiting to be sent (and being sent)
    paused: int = 0  # waiting for a suspended chat to subscribe again
    sent: int = 0
    unknown: int = 0  # cut off mid-send: not sent again
    failed: int = 0  # given up
    last_push: float | None = None  # time.time() the last push was sent
    suspended_chats: tuple[SuspendedChat, ...] = field(default_factory=tuple)
    digests: int = 0  # chats that get a digest instead of each article
    daily: int = 0
    weekly: int = 0
    follows: int = 0  # topics followed, all chats
    following_chats: int = 0
    open_requests: int = 0  # "tell me when answered", not answered yet

    def to_json(self) -> dict[str, Any]:
        return {
            "subscribers": self.subscribers,
            "suspended": self.suspended,
            "pending": self.pending,
            "paused": self.paused,
            "sent": self.sent,
            "unknown": self.unknown,
            "failed": self.failed,
            "last_push": iso_time(self.last_push),
            "suspended_chats": [
                {"chat_id": c.chat_id, "since": iso_time(c.since), "reason": c.reason}
                for c in self.suspended_chats
            ],
            "digests": {"chats": self.digests, "daily": self.daily, "weekly": self.weekly},
            "follows": {"topics": self.follows, "chats": self.following_chats},
            "open_requests": self.open_requests,
        }

    def with_features(self, digests: Rows, follows: Rows, requests: Rows) -> SubscriptionFigures:
        """These figures and the digests', follows' and answer requests' (rows of
        DIGESTS_SQL, FOLLOWS_SQL, REQUESTS_SQL; empty where a table is not there)."""
        by_cadence = {str(cadence): int(count) for cadence, count in digests}
        topics, chats = follows[0] if follows else (0, 0)
        return replace(
            self,
            digests=sum(by_cadence.values()),
            daily=by_cadence.get("daily", 0),
            weekly=by_cadence.get("weekly", 0),
            follows=int(topics),
            following_chats=int(chats),
            open_requests=int(requests[0][0]) if requests else 0,
        )


def iso_time(seconds: float | None) -> str | None:
    """A time.time() as ISO 8601 UTC to the second, or None."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def _figures(states: Rows, last: Rows, subscribers: Rows, suspended: Rows) -> SubscriptionFigures:
    by_state = {str(state): int(count) for state, count in states}
    total, paused_chats = subscribers[0] if subscribers else (0, 0)
    last_push = last[0][0] if last else None
    return SubscriptionFigures(
        subscribers=int(total) - int(paused_chats),
        suspended=int(paused_chats),
        pending=by_state.get("pending", 0) + by_state.get("sending", 0),
        paused=by_state.get("paused", 0),
        sent=by_state.get("sent", 0),
        unknown=by_state.get("unknown", 0),
        failed=by_state.get("failed", 0),
        last_push=float(last_push) if last_push is not None else None,
        suspended_chats=tuple(
            SuspendedChat(int(chat), float(since), str(reason or ""))
            for chat, since, reason in suspended
        ),
    )


async def figures_of(db: aiosqlite.Connection) -> SubscriptionFigures:
    """The figures from the outbox's open connection (its tables exist)."""

    async def rows(sql: str) -> Rows:
        async with db.execute(sql) as cursor:
            return list(await cursor.fetchall())

    figures = _figures(
        await rows(STATES_SQL),
        await rows(LAST_PUSH_SQL),
        await rows(SUBSCRIBERS_SQL),
        await rows(SUSPENDED_SQL),
    )
    present = {str(name) for (name,) in await rows(FEATURE_TABLES_SQL)}
    return figures.with_features(
        await rows(DIGESTS_SQL) if "digests" in present else [],
        await rows(FOLLOWS_SQL) if "follows" in present else [],
        await rows(REQUESTS_SQL) if "watches" in present else [],
    )


def read_figures(database: Path, busy_timeout_ms: int = 5000) -> SubscriptionFigures:
    """The figures from DATABASE_PATH opened read-only (nothing created, no sender); zeros
    when the file or the outbox's tables are not there. sqlite3.Error when it cannot be
    read."""
    if not database.exists():
        return SubscriptionFigures()
    connection = sqlite3.connect(
        f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=busy_timeout_ms / 1000
    )

    def rows(sql: str) -> Rows:
        return connection.execute(sql).fetchall()

    try:
        if connection.execute(TABLES_SQL, TABLES).fetchone()[0] < len(TABLES):
            return SubscriptionFigures()
        figures = _figures(
            rows(STATES_SQL), rows(LAST_PUSH_SQL), rows(SUBSCRIBERS_SQL), rows(SUSPENDED_SQL)
        )
        present = {str(name) for (name,) in rows(FEATURE_TABLES_SQL)}
        return figures.with_features(
            rows(DIGESTS_SQL) if "digests" in present else [],
            rows(FOLLOWS_SQL) if "follows" in present else [],
            rows(REQUESTS_SQL) if "watches" in present else [],
        )
    finally:
        connection.close()


def _untranslated(message: str) -> str:
    return message


def render_subscriptions(
    figures: SubscriptionFigures, *, gettext: Callable[[str], str] = _untranslated
) -> str:
    """The figures as plain text for /stats (in its <pre> block): counts, the last push,
    and the chats Telegram refused, so the bot's admins are told of them."""
    waiting = gettext(
        "Subscriptions: {subscribers} chats ({suspended} paused); pushes waiting: {pending}"
    )
    lines = [
        waiting.format(
            subscribers=figures.subscribers,
            suspended=figures.suspended,
            pending=figures.pending + figures.paused,
        )
    ]
    lines.append(
        gettext(
            "Digests: {digests} chats; follows: {follows} topics in {chats} chats; "
            "answer requests waiting: {requests}"
        ).format(
            digests=figures.digests,
            follows=figures.follows,
            chats=figures.following_chats,
            requests=figures.open_requests,
        )
    )
    if figures.last_push is None:
        lines.append(gettext("No push sent yet."))
    else:
        when = datetime.fromtimestamp(figures.last_push, UTC).strftime("%Y-%m-%d %H:%M")
        lines.append(gettext("Last push sent: {time} UTC").format(time=when))
    if figures.unknown or figures.failed:
        lines.append(
            gettext("Pushes not delivered: {failed} refused, {unknown} cut off").format(
                failed=figures.failed, unknown=figures.unknown
            )
        )
    if figures.suspended_chats:
        lines.append(gettext("Paused chats (Telegram refused them; /subscribe there resumes):"))
        for chat in figures.suspended_chats:
            since = datetime.fromtimestamp(chat.since, UTC).strftime("%Y-%m-%d %H:%M")
            lines.append(f"  {chat.chat_id} · {since} · {chat.reason}")
    return "\n".join(lines)
