"""The outbox: every push (a new article to its subscribers, later digests and follows) is a
row in the bot's SQLite database (`DATABASE_PATH`) before anything is sent, and a sender
drains it at the pace Telegram allows. No Telegram import: the sender is handed a
`Transport` (handlers/subscriptions.py adapts the Bot API to it).

Pacing is done in advance, not by retrying after the fact: per chat at most one message a
second (`CHAT_INTERVAL`), per group or channel (a negative id) at most `GROUP_PER_MINUTE` in
any minute, and overall at most `rate` a second (OUTBOX_RATE, default 25, below Telegram's
~30/s so that replies to readers keep room). Items of one chat go out in the order they
were queued (FIFO): a chat's next item waits until its head is sent or given up.

Nothing is sent twice. Every item has an idempotency key, unique per chat (a new article's
is `article:<id>`): queueing the same key again is a no-op, also after a restart. An item
is marked `sending` (committed) before the request and `sent` (with the message id) once
Telegram accepted it. An item found `sending` at the next start, or whose request timed out
(Telegram may or may not have delivered it), is marked `unknown` and **not** sent again:
the outbox chooses at-most-once for that narrow window, since a duplicate push is worse for
a reader than one that might be missing, and the log and `counts()` show such items.

What a send can end in (`Outcome`): sent; retry after N seconds (a 429: the item and the
whole outbox wait exactly as long as Telegram asks, as often as it asks); blocked (403 or
"chat not found": the chat is paused, its subscription suspended until /subscribe again);
migrated (a group became a supergroup: its items and subscription follow the new id and
are sent there); unknown (timed out, see above); failed (any other refusal: given up after
`MAX_ATTEMPTS`, with a growing delay between tries).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from bot.subscription_stats import (
    STATES_SQL,
    SUBSCRIBERS_SQL,
    SubscriptionFigures,
    figures_of,
)

logger = logging.getLogger(__name__)

CHAT_INTERVAL = 1.0  # seconds between two messages to one chat
GROUP_PER_MINUTE = 20  # messages to one group or channel in any 60 seconds
GROUP_WINDOW = 60.0
DEFAULT_RATE = 25.0  # messages a second overall (OUTBOX_RATE)
MAX_ATTEMPTS = 5  # tries of an item Telegram refuses for another reason than 429/403
RETRY_BASE = 5.0  # seconds before the second try of such an item, doubling after
HEADS_SCANNED = 1000  # chats' head items looked at per send (the oldest first)
IDLE_WAIT = 60.0  # seconds the sender sleeps with nothing to send (woken at once by enqueue)
BUSY_TIMEOUT_MS = 5000
# The rate_limit_args of a push's request: the bot's rate limiter (bot/app.py) hands a 429
# back at once instead of waiting it out, and the outbox keeps the wait in the database.
SEND_ONCE = 1

# Item states.
PENDING, SENDING, SENT, UNKNOWN, FAILED, PAUSED, CANCELLED = (
    "pending", "sending", "sent", "unknown", "failed", "paused", "cancelled",
)  # fmt: skip

# Ordered migrations of the outbox's own tables. The file's `PRAGMA user_version` belongs
# to the query log (bot/querylog/schema.py), so the outbox keeps its version in a row of
# `schema_versions`, under its own name.
COMPONENT = "outbox"
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id INTEGER NOT NULL,
            key TEXT NOT NULL,
            text TEXT NOT NULL,
            buttons TEXT,
            created REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt REAL NOT NULL,
            state TEXT NOT NULL,
            sent REAL,
            message_id INTEGER,
            error TEXT,
            UNIQUE (chat_id, key))""",
        "CREATE INDEX outbox_pending ON outbox (state, chat_id, id)",
        # Chats that want new articles pushed; `suspended` set when Telegram refused them.
        """CREATE TABLE subscriptions (
            chat_id INTEGER PRIMARY KEY,
            language TEXT,
            created REAL NOT NULL,
            suspended REAL,
            reason TEXT)""",
        # Every article id the bot has ever announced (or found at the first start): an
        # article is new once, whether it came by /reload, an upload, the watcher or while
        # the bot was down.
        "CREATE TABLE known_articles (article_id TEXT PRIMARY KEY, first_seen REAL NOT NULL)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class Result(Enum):
    SENT = "sent"
    RETRY = "retry"
    BLOCKED = "blocked"
    MIGRATED = "migrated"
    UNKNOWN = "unknown"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """What one send ended in (see the module docstring)."""

    result: Result
    message_id: int | None = None
    retry_after: float = 0.0
    new_chat_id: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class Item:
    """One message to queue: `text` is rendered HTML, `buttons` an inline keyboard as the
    Bot API's JSON (`{"inline_keyboard": [[{"text": ..., "callback_data": ...}]]}`) or None."""

    chat_id: int
    key: str
    text: str
    buttons: dict[str, Any] | None = None


@dataclass(frozen=True)
class Queued:
    """An item as stored."""

    id: int
    chat_id: int
    key: str
    text: str
    buttons: dict[str, Any] | None
    attempts: int
    next_attempt: float


@dataclass(frozen=True)
class Subscription:
    chat_id: int
    language: str | None
    created: float
    suspended: float | None = None
    reason: str | None = None


class Transport(Protocol):
    """Sends one item; never raises for Telegram's answers (they are Outcomes)."""

    async def __call__(self, item: Queued) -> Outcome: ...


@dataclass
class Pacer:
    """When a chat may get its next message: per chat, per group and overall (in memory:
    after a restart the first messages may come a little sooner, never more than the
    limits allow within a second or a minute of sends before it)."""

    rate: float = DEFAULT_RATE
    chat_interval: float = CHAT_INTERVAL
    group_limit: int = GROUP_PER_MINUTE
    group_window: float = GROUP_WINDOW
    _last_chat: dict[int, float] = field(default_factory=dict)
    _group_sends: dict[int, deque[float]] = field(default_factory=dict)
    _last_any: float = float("-inf")
    hold_until: float = 0.0  # a 429 holds every push until then

    def ready_at_all(self, now: float) -> float:
        """The earliest time (>= now) any message keeps the overall rate and a 429's hold."""
        return max(now, self.hold_until, self._last_any + 1.0 / self.rate)

    def ready_at(self, chat_id: int, now: float) -> float:
        """The earliest time (>= now) a message to `chat_id` keeps every limit."""
        at = self.ready_at_all(now)
        last = self._last_chat.get(chat_id)
        if last is not None:
            at = max(at, last + self.chat_interval)
        sends = self._group_sends.get(chat_id)
        if sends is not None:
            while sends and sends[0] <= now - self.group_window:
                sends.popleft()
            if len(sends) >= self.group_limit:
                at = max(at, sends[0] + self.group_window)
        return at

    def sent(self, chat_id: int, now: float, started: float | None = None) -> None:
        """A message to `chat_id` went out: sent at `now`, its request begun at `started`.
        The overall rate counts from the start (the next push need not also wait out this
        one's round trip, which would keep the rate under OUTBOX_RATE by its latency); a
        chat's and a group's limits from the answer, the later and safer of the two."""
        self._last_any = now if started is None else started
        self._last_chat[chat_id] = now
        if chat_id < 0:
            self._group_sends.setdefault(chat_id, deque()).append(now)
        if len(self._last_chat) > 10_000:  # forget chats whose interval is long over
            for chat in [c for c, t in self._last_chat.items() if t < now - self.chat_interval]:
                del self._last_chat[chat]
        if len(self._group_sends) > 10_000:
            for chat in [c for c, d in self._group_sends.items() if not d or d[-1] < now - 60]:
                del self._group_sends[chat]


class Outbox:
    """The outbox and the subscriptions, on one aiosqlite connection (see the module doc)."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        rate: float = DEFAULT_RATE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.clock = clock
        self.pacer = Pacer(rate=rate)
        self.wake = asyncio.Event()  # set when something is queued or a chat resumes
        # The batch of candidates next_due serves from (rows of the outbox table).
        self._heads: list[Any] | None = None
        # What else moves with a group when a push finds it migrated (its digest, its
        # follows: features keeping their rows by chat id add theirs).
        self.migration_hooks: list[Callable[[int, int], Awaitable[None]]] = []
        # One connection serves the sender, the handlers and the features that keep their
        # tables beside the outbox's (follows, answer requests, digests): a statement another
        # task issues inside an open transaction would join it (and a second BEGIN fail),
        # so every write holds this lock (`transaction`, `write`).
        self.lock = asyncio.Lock()
        self.last_sent: float | None = None
        # Sends by result in this process (/metrics); what the database holds: `figures`.
        self.results: Counter[str] = Counter()

    @classmethod
    async def open(
        cls, path: Path, rate: float = DEFAULT_RATE, clock: Callable[[], float] = time.time
    ) -> Outbox:
        """Open (creating or upgrading) the tables; items left `sending` by a crash become
        `unknown` (at-most-once: see the module docstring)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await db.execute("PRAGMA journal_mode = WAL")
            await migrate(db)
            outbox = cls(db, rate, clock)
            unknown = await outbox.write(
                "UPDATE outbox SET state = ?, error = ? WHERE state = ?",
                (UNKNOWN, "interrupted while sending (not sent again)", SENDING),
            )
        except BaseException:
            await db.close()
            raise
        if unknown:
            logger.warning(
                "outbox: %d items were being sent when the bot stopped; whether they arrived "
                "is unknown, and they are not sent again",
                unknown,
            )
        return outbox

    async def close(self) -> None:
        await self.db.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction on the shared connection, the others' writes waiting."""
        async with self.lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    async def write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement (its own transaction) outside any other's; the rows changed."""
        async with self.lock, self.db.execute(sql, params) as cursor:
            return cursor.rowcount

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self.db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    # -- queueing --------------------------------------------------------------------------

    async def enqueue(self, items: Iterable[Item]) -> int:
        """Queue the items in one transaction; an item whose key its chat already has (sent
        or not) is left out. The number queued."""
        now = self.clock()
        rows = [
            (
                item.chat_id, item.key, item.text,
                json.dumps(item.buttons, ensure_ascii=False) if item.buttons else None,
                now, now, PENDING,
            )
            for item in items
        ]  # fmt: skip
        if not rows:
            return 0
        async with self.transaction():
            before = self.db.total_changes
            await self.db.executemany(
                "INSERT OR IGNORE INTO outbox "
                "(chat_id, key, text, buttons, created, next_attempt, state) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            queued = self.db.total_changes - before
        if queued:
            self._queue_changed()
        return queued

    # -- sending ---------------------------------------------------------------------------

    async def next_due(self) -> tuple[Queued | None, float | None]:
        """The item to send now, or None with the time the next one will be due (None:
        nothing pending). FIFO per chat: only each chat's oldest pending item is a
        candidate, and the oldest of those that the pacing allows now goes first.

        The candidates are read in batches (`_heads`, up to HEADS_SCANNED chats' oldest
        items) and served from memory until the batch is used up or something changes
        what is queued (enqueue, suspend, subscribe, migrate, a send that did not go
        through): asking the database for every chat's head before every push cost more
        than the push itself at 10,000 chats (docs/benchmarks.md). While the overall rate
        holds every push, the batch is not even looked at."""
        now = self.clock()
        if self._heads:
            soonest = self.pacer.ready_at_all(now)
            if soonest > now:
                return None, soonest
        else:
            self._heads = await self._rows(
                "SELECT id, chat_id, key, text, buttons, attempts, next_attempt FROM outbox "
                "WHERE id IN (SELECT MIN(id) FROM outbox WHERE state IN (?, ?) "
                "GROUP BY chat_id) AND state = ? ORDER BY id LIMIT ?",
                (PENDING, PAUSED, PENDING, HEADS_SCANNED),
            )
        earliest: float | None = None
        for index, row in enumerate(self._heads):
            at = max(self.pacer.ready_at(row[1], now), row[6])
            if at <= now:
                del self._heads[index]
                item = Queued(
                    id=row[0], chat_id=row[1], key=row[2], text=row[3],
                    buttons=json.loads(row[4]) if row[4] else None,
                    attempts=row[5], next_attempt=row[6],
                )  # fmt: skip
                return item, now
            earliest = at if earliest is None else min(earliest, at)
        return None, earliest

    def _queue_changed(self) -> None:
        """What is queued changed behind the batch of candidates: read it again."""
        self._heads = None
        self.wake.set()

    async def send_next(self, transport: Transport) -> float | None:
        """Send at most one item. Returns how many seconds until the next one may be sent
        (0: at once), or None when nothing is pending."""
        item, due = await self.next_due()
        if item is None:
            return None if due is None else max(0.0, due - self.clock())
        await self._send(item, transport)
        return 0.0

    async def _send(self, item: Queued, transport: Transport) -> None:
        claimed = await self.write(
            "UPDATE outbox SET state = ?, attempts = attempts + 1 WHERE id = ? AND state = ?",
            (SENDING, item.id, PENDING),
        )
        if not claimed:  # cancelled, paused or moved since the batch was read
            self._heads = None
            return
        started = self.clock()
        try:
            outcome = await transport(item)
        except asyncio.CancelledError:
            # Cut off mid-request (shutdown): whether it arrived is unknown.
            await self._finish(item, Outcome(Result.UNKNOWN, reason="cancelled mid-send"))
            raise
        except Exception as error:  # a transport bug: the item is not lost, tried again
            logger.exception("outbox: item %s to %s: the send raised", item.id, item.chat_id)
            outcome = Outcome(Result.FAILED, reason=f"{type(error).__name__}: {error}")
        await self._finish(item, outcome, started)

    async def _finish(self, item: Queued, outcome: Outcome, started: float | None = None) -> None:
        now = self.clock()
        result = outcome.result
        self.results[result.value] += 1
        if result not in (Result.SENT, Result.UNKNOWN):
            self._heads = None  # the item is pending again (or its chat changed): re-read
        if result is Result.SENT:
            self.pacer.sent(item.chat_id, now, started)
            self.last_sent = now
            await self.write(
                "UPDATE outbox SET state = ?, sent = ?, message_id = ?, error = NULL WHERE id = ?",
                (SENT, now, outcome.message_id, item.id),
            )
        elif result is Result.RETRY:
            # However often Telegram asks: the attempt is not counted against MAX_ATTEMPTS.
            wait = max(outcome.retry_after, 0.0)
            self.pacer.hold_until = max(self.pacer.hold_until, now + wait)
            logger.info("outbox: flood control, pushes wait %.1f s", wait)
            await self.write(
                "UPDATE outbox SET state = ?, attempts = attempts - 1, next_attempt = ?, "
                "error = ? WHERE id = ?",
                (PENDING, now + wait, outcome.reason or "retry after", item.id),
            )
        elif result is Result.BLOCKED:
            await self.write("UPDATE outbox SET state = ? WHERE id = ?", (PENDING, item.id))
            await self.suspend(item.chat_id, outcome.reason)
        elif result is Result.MIGRATED and outcome.new_chat_id is not None:
            await self.write("UPDATE outbox SET state = ? WHERE id = ?", (PENDING, item.id))
            await self.migrate_chat(item.chat_id, outcome.new_chat_id)
            for follow in self.migration_hooks:
                try:
                    await follow(item.chat_id, outcome.new_chat_id)
                except Exception:  # the push and the subscription moved: the rest stands
                    logger.exception(
                        "outbox: chat %s moved to %s, but not all of its settings",
                        item.chat_id, outcome.new_chat_id,
                    )  # fmt: skip
        elif result is Result.UNKNOWN:
            logger.warning(
                "outbox: item %s to %s: %s; not sent again", item.id, item.chat_id, outcome.reason
            )
            await self.write(
                "UPDATE outbox SET state = ?, error = ? WHERE id = ?",
                (UNKNOWN, outcome.reason, item.id),
            )
        else:
            attempts = item.attempts + 1
            given_up = attempts >= MAX_ATTEMPTS
            logger.warning(
                "outbox: item %s to %s refused (%s)%s",
                item.id, item.chat_id, outcome.reason, "; given up" if given_up else "",
            )  # fmt: skip
            await self.write(
                "UPDATE outbox SET state = ?, next_attempt = ?, error = ? WHERE id = ?",
                (
                    FAILED if given_up else PENDING,
                    now + RETRY_BASE * 2 ** (attempts - 1),
                    outcome.reason,
                    item.id,
                ),
            )

    async def run(
        self,
        transport: Transport,
        may_send: Callable[[], Awaitable[None]] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        """Drain the outbox forever (until cancelled). `may_send` is awaited before each
        send: where replies to readers take priority (handlers/subscriptions.py)."""
        while True:
            wait: float | None
            try:
                item, due = await self.next_due()
                if item is not None:
                    if may_send is not None:
                        await may_send()
                    await self._send(item, transport)
                    wait = 0.0
                else:
                    wait = None if due is None else max(0.0, due - self.clock())
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("outbox: the sender failed; trying again in a while")
                wait = 5.0
            if wait == 0.0:
                await asyncio.sleep(0)
                continue
            self.wake.clear()
            timeout = IDLE_WAIT if wait is None else wait
            if sleep is not None:
                await sleep(timeout)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)

    # -- chats -----------------------------------------------------------------------------

    async def suspend(self, chat_id: int, reason: str) -> None:
        """Telegram refuses the chat (blocked, kicked, not found): its items wait paused and
        its subscription is suspended, until the chat subscribes again."""
        logger.info("outbox: chat %s paused: %s", chat_id, reason)
        async with self.transaction():
            await self.db.execute(
                "UPDATE outbox SET state = ? WHERE chat_id = ? AND state = ?",
                (PAUSED, chat_id, PENDING),
            )
            await self.db.execute(
                "UPDATE subscriptions SET suspended = ?, reason = ? WHERE chat_id = ?",
                (self.clock(), reason, chat_id),
            )
        self._heads = None

    async def migrate_chat(self, old: int, new: int) -> None:
        """A group became a supergroup (`migrate_to_chat_id`): its pending items and its
        subscription move to the new id (an item the new chat already has stays once)."""
        logger.info("outbox: chat %s moved to %s", old, new)
        async with self.transaction():
            await self.db.execute(
                "UPDATE OR IGNORE outbox SET chat_id = ? WHERE chat_id = ? AND state IN (?, ?)",
                (new, old, PENDING, PAUSED),
            )
            await self.db.execute(
                "UPDATE outbox SET state = ?, error = ? WHERE chat_id = ? AND state IN (?, ?)",
                (CANCELLED, f"chat moved to {new}", old, PENDING, PAUSED),
            )
            await self.db.execute(
                "INSERT OR IGNORE INTO subscriptions (chat_id, language, created, suspended, "
                "reason) SELECT ?, language, created, suspended, reason FROM subscriptions "
                "WHERE chat_id = ?",
                (new, old),
            )
            await self.db.execute("DELETE FROM subscriptions WHERE chat_id = ?", (old,))
        self._queue_changed()

    # -- subscriptions ---------------------------------------------------------------------

    async def subscribe(self, chat_id: int, language: str | None) -> bool:
        """Subscribe the chat (or resume a suspended one, its paused items with it); whether
        it was not subscribed (or suspended) before."""
        before = await self.subscription(chat_id)
        async with self.transaction():
            await self.db.execute(
                "INSERT INTO subscriptions (chat_id, language, created) VALUES (?, ?, ?) "
                "ON CONFLICT (chat_id) DO UPDATE SET language = excluded.language, "
                "suspended = NULL, reason = NULL",
                (chat_id, language, self.clock()),
            )
            await self.db.execute(
                "UPDATE outbox SET state = ? WHERE chat_id = ? AND state = ?",
                (PENDING, chat_id, PAUSED),
            )
        self._queue_changed()
        return before is None or before.suspended is not None

    async def unsubscribe(self, chat_id: int) -> bool:
        """End the chat's subscription and cancel what was still queued for it; whether it
        had one."""
        async with self.transaction():
            async with self.db.execute(
                "DELETE FROM subscriptions WHERE chat_id = ?", (chat_id,)
            ) as cursor:
                had = cursor.rowcount > 0
            await self.db.execute(
                "UPDATE outbox SET state = ?, error = 'unsubscribed' "
                "WHERE chat_id = ? AND state IN (?, ?)",
                (CANCELLED, chat_id, PENDING, PAUSED),
            )
        self._heads = None
        return had

    async def subscription(self, chat_id: int) -> Subscription | None:
        rows = await self._rows(
            "SELECT chat_id, language, created, suspended, reason FROM subscriptions "
            "WHERE chat_id = ?",
            (chat_id,),
        )
        return Subscription(*rows[0]) if rows else None

    async def subscribers(self) -> list[Subscription]:
        """The chats subscribed and not suspended, oldest subscription first."""
        rows = await self._rows(
            "SELECT chat_id, language, created, suspended, reason FROM subscriptions "
            "WHERE suspended IS NULL ORDER BY created, chat_id"
        )
        return [Subscription(*row) for row in rows]

    async def new_articles(self, article_ids: Iterable[str]) -> list[str]:
        """Of `article_ids`, those never seen before (in the order given), now recorded as
        seen. At the very first call (no article known yet) every one is recorded and none
        is new: a library the bot starts with is not news."""
        ids = list(dict.fromkeys(article_ids))
        first = not await self._rows("SELECT 1 FROM known_articles LIMIT 1")
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self._rows(
                f"SELECT article_id FROM known_articles WHERE article_id IN ({marks})", chunk
            )
            known.update(row[0] for row in rows)
        fresh = [i for i in ids if i not in known]
        if fresh:
            now = self.clock()
            async with self.transaction():
                await self.db.executemany(
                    "INSERT OR IGNORE INTO known_articles (article_id, first_seen) VALUES (?, ?)",
                    [(i, now) for i in fresh],
                )
        return [] if first else fresh

    # -- figures ---------------------------------------------------------------------------

    async def figures(self) -> SubscriptionFigures:
        """Subscribers, suspended chats, items by state and the last push, for admins."""
        async with self.lock:  # every read between transactions, never inside another's
            return await figures_of(self.db)

    async def counts(self) -> dict[str, int]:
        """Items per state, and `subscribers` / `suspended` chats."""
        figures = {state: 0 for state in (PENDING, SENDING, SENT, UNKNOWN, FAILED, PAUSED)}
        async with self.lock:  # both reads between transactions, never inside another's
            states = await self._rows(STATES_SQL)
            rows = await self._rows(SUBSCRIBERS_SQL)
        for state, count in states:
            figures[state] = count
        total, suspended = rows[0]
        figures["subscribers"] = total - suspended
        figures["suspended"] = suspended
        return figures


async def migrate(
    db: aiosqlite.Connection,
    component: str = COMPONENT,
    migrations: Sequence[Sequence[str]] = MIGRATIONS,
) -> int:
    """Bring a component's tables (the outbox's, or another feature's that shares its
    connection, e.g. digests or follows) up to `len(migrations)`, one transaction a step
    (the version re-read inside it, so two processes do not both apply a step); the version
    reached. Each component's version is its row of `schema_versions`."""
    latest = len(migrations)
    await db.execute(
        "CREATE TABLE IF NOT EXISTS schema_versions (name TEXT PRIMARY KEY, version INTEGER)"
    )
    for step in range(latest):
        await db.execute("BEGIN IMMEDIATE")
        try:
            async with db.execute(
                "SELECT version FROM schema_versions WHERE name = ?", (component,)
            ) as cursor:
                row = await cursor.fetchone()
            version = int(row[0]) if row else 0
            if version > latest:
                raise RuntimeError(
                    f"the {component} tables (version {version}) are newer than this bot's "
                    f"({latest}); upgrade the bot or use another DATABASE_PATH"
                )
            if version == step:
                for statement in migrations[step]:
                    await db.execute(statement)
                await db.execute(
                    "INSERT OR REPLACE INTO schema_versions (name, version) VALUES (?, ?)",
                    (component, step + 1),
                )
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
    return latest
