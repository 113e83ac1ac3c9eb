"""The query log: every question, vote, reload and admin action, in SQLite via aiosqlite.

Logging must never cost a reader anything, so the `record_*` methods only build a row and
append it to an in-memory buffer; one writer task drains the buffer in batches, one
transaction each. When the database cannot be written (locked, read-only, disk full, its
folder or file gone) the writer keeps the rows, retries with backoff and logs one warning a
minute, while the buffer holds at most `max_pending` rows and counts the ones it drops; the
count is written to the `dropped` table once the database works again, so `stats` sees it.

`QueryLog` is for asyncio code (the Telegram application opens it in `post_init` and closes
it in `post_shutdown`); `BackgroundQueryLog` wraps it for synchronous code (the CLI).

Privacy: reader ids (and private chat ids, which equal them) are stored as a keyed hash, as
given or not at all (`QUERY_LOG_USERS`); admin ids in `reloads`/`admin_actions` are stored
raw. The hash is applied by the writer, so rows waiting in memory hold the raw id and
`forget` can still find them there.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bot.answers import Answer
from bot.config import Settings
from bot.stats import Stats, compute_stats, window_start

logger = logging.getLogger(__name__)

VIAS = ("private", "group", "inline", "callback", "cli")
OUTCOMES = ("answered", "suggested", "unanswered")
USER_MODES = ("hash", "raw", "off")
QUERY_COLUMNS = (
    "id", "ts", "via", "chat_ref", "chat_type", "user_ref", "question", "outcome",
    "article_id", "passage_id", "score", "latency_ms", "delivered",
)  # fmt: skip

# Rows per transaction: big enough to amortise the commit, small enough to keep a failed
# batch cheap to retry.
BATCH_SIZE = 1000
# Seconds the writer lets rows gather before a transaction, unless a batch is full: one
# transaction per row would cost a busy bot's single core more than the rows themselves.
LINGER = 0.1
# Reader ids whose hash is remembered (readers come back; HMAC costs more than the insert).
REF_CACHE_SIZE = 50_000
WARNING_INTERVAL = 60.0  # seconds between two warnings about the same outage
BACKOFF_START = 0.1
BACKOFF_MAX = 30.0
# How long close() keeps retrying a failing database before it gives the rows up.
DRAIN_TIMEOUT = 5.0
BUSY_TIMEOUT_MS = 5000
# 16 hex characters (64 bits) of HMAC-SHA256: collisions are negligible for a bot's readers.
REF_LENGTH = 16

# Ordered migrations: MIGRATIONS[n] takes the schema from version n to n + 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE queries (
            id TEXT PRIMARY KEY, ts TEXT NOT NULL, via TEXT NOT NULL, chat_ref TEXT,
            chat_type TEXT, user_ref TEXT, question TEXT NOT NULL, outcome TEXT NOT NULL,
            article_id TEXT, passage_id TEXT, score REAL, latency_ms REAL)""",
        "CREATE INDEX queries_ts ON queries (ts)",
        "CREATE INDEX queries_outcome ON queries (outcome)",
        """CREATE TABLE feedback (
            ts TEXT NOT NULL, query_id TEXT NOT NULL, user_ref TEXT, helpful INTEGER NOT NULL)""",
        # One vote per reader and answer: a second press updates the row (an upsert).
        "CREATE UNIQUE INDEX feedback_vote ON feedback (query_id, user_ref)",
        "CREATE INDEX feedback_ts ON feedback (ts)",
        """CREATE TABLE reloads (
            ts TEXT NOT NULL, admin_id INTEGER, articles INTEGER NOT NULL,
            passages INTEGER NOT NULL, rejected TEXT NOT NULL)""",
        "CREATE INDEX reloads_ts ON reloads (ts)",
        """CREATE TABLE admin_actions (
            ts TEXT NOT NULL, user_id INTEGER, action TEXT NOT NULL, allowed INTEGER NOT NULL)""",
        "CREATE INDEX admin_actions_ts ON admin_actions (ts)",
    ),
    (
        # Version 2: the generated hash key lives with the data it keys; dropped rows are
        # recorded so stats can report them; forget finds a reader's rows by index.
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE dropped (ts TEXT NOT NULL, rows INTEGER NOT NULL)",
        "CREATE INDEX dropped_ts ON dropped (ts)",
        "CREATE INDEX queries_user_ref ON queries (user_ref)",
    ),
    (
        # Version 3: whether the reply reached Telegram (1), failed (0) or is unknown (NULL:
        # timed out, or not sent through Telegram), so a flood's losses show in the log.
        "ALTER TABLE queries ADD COLUMN delivered INTEGER",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class StorageError(Exception):
    """The query log cannot do what was asked."""


class SchemaTooNewError(StorageError):
    """The database was written by a newer version of the bot; refusing to touch it."""


class StorageUnavailableError(StorageError):
    """The database cannot be reached right now (a read or a deletion could not run)."""


@dataclass(slots=True)
class _Row:
    """A row waiting in memory: its table and its values, reader ids and time still raw.

    The time is a float from time.time() (or a datetime from an injected clock); the writer
    formats it, which keeps the work on the reply's path to a minimum.
    """

    kind: str  # "query" | "feedback" | "reload" | "admin"
    values: tuple[Any, ...]
    user_id: int | None = None  # the reader (or admin) the row belongs to, for forget


@dataclass(frozen=True)
class ForgetResult:
    """Rows deleted for one user, per table (waiting rows included in their table)."""

    queries: int = 0
    feedback: int = 0
    admin_actions: int = 0
    reloads: int = 0

    @property
    def total(self) -> int:
        return self.queries + self.feedback + self.admin_actions + self.reloads


@dataclass
class _Health:
    """The writer's view of the database: failing or not, and when it last warned."""

    failing: bool = False
    last_warning: float | None = None
    failures: int = 0
    last_error: str = ""


def utc_now() -> datetime:
    """The current time in UTC (the default clock for timestamps)."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """The stored timestamp form: UTC ISO-8601 with milliseconds, sortable as text."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")


def hash_ref(salt: str, value: int | str) -> str:
    """The keyed hash of an id: HMAC-SHA256 with the salt, truncated to REF_LENGTH hex chars."""
    digest = hmac.new(salt.encode("utf-8"), str(value).encode("ascii"), hashlib.sha256)
    return digest.hexdigest()[:REF_LENGTH]


_second_cache: tuple[int, str] = (-1, "")


def stamp(moment: float | datetime) -> str:
    """The stored form of a time.time() float (fast: the second's text is cached) or datetime."""
    global _second_cache
    if isinstance(moment, datetime):
        return iso(moment)
    second = int(moment)
    cached_second, prefix = _second_cache
    if second != cached_second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second_cache = (second, prefix)  # one tuple: a reader in another thread sees a pair
    return f"{prefix}.{int((moment - second) * 1000):03d}+00:00"


def new_query_id() -> str:
    """A fresh query id, 12 hex characters, made before the row is written."""
    return os.urandom(6).hex()


@dataclass
class QueryLog:
    """The asyncio query log. Make it with `await QueryLog.open(settings)`."""

    path: Path
    users: str = "hash"
    salt: str | None = field(default=None, repr=False)  # a secret: never in a log line
    retention_days: int = 90
    max_pending: int = 10_000
    now: Callable[[], datetime] = utc_now
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] | None = None
    drain_timeout: float = DRAIN_TIMEOUT
    linger: float = LINGER
    # Rows dropped by this process: the cap was reached, or the database failed at close.
    dropped: int = field(default=0, init=False)
    _dropped_unrecorded: int = field(default=0, init=False, repr=False)
    _buffer: deque[_Row] = field(default_factory=deque, init=False, repr=False)
    _db: aiosqlite.Connection | None = field(default=None, init=False, repr=False)
    _identity: tuple[int, int] | None = field(default=None, init=False, repr=False)
    # The hash key in use: QUERY_LOG_SALT, else the one generated and stored in the database.
    _key: str | None = field(default=None, init=False, repr=False)
    _refs: dict[int | str, str] = field(default_factory=dict, init=False, repr=False)
    # With users "off": a random token per (answer, voter), in memory only, so a second
    # press on the same answer still replaces the vote without any reader id stored.
    _vote_tokens: dict[tuple[str, int], str] = field(default_factory=dict, init=False, repr=False)
    _health: _Health = field(default_factory=_Health, init=False, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _waiting: bool = field(default=False, init=False, repr=False)
    _closing_since: float | None = field(default=None, init=False, repr=False)
    _closed: bool = field(default=False, init=False, repr=False)
    _writer: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _loop_thread: int | None = field(default=None, init=False, repr=False)

    @classmethod
    async def open(cls, settings: Settings, **options: Any) -> QueryLog:
        """Open (creating and migrating) the log and start its writer.

        A database that cannot be written now is not an error: the log starts degraded and
        keeps retrying. A database from a newer version raises SchemaTooNewError.
        """
        log = cls(
            path=Path(settings.database_path),
            users=settings.query_log_users,
            salt=settings.query_log_salt,
            retention_days=settings.query_log_retention_days,
            max_pending=settings.query_log_max_pending,
            **options,
        )
        await log.start()
        return log

    async def start(self) -> None:
        """Connect (or note why not) and start the writer task on the running loop."""
        if self.users not in USER_MODES:
            raise ValueError(f"users must be one of {USER_MODES}, not {self.users!r}")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        try:
            await self._connect()
        except SchemaTooNewError:
            raise
        except Exception as error:  # the database is unusable now; the writer retries
            self._failed(error)
        self._writer = asyncio.create_task(self._run(), name="query-log-writer")

    # -- recording: synchronous, never blocks, never raises -----------------------------

    def record_query(
        self,
        *,
        via: str,
        question: str,
        outcome: str,
        chat_ref: int | str | None = None,
        chat_type: str | None = None,
        user_id: int | None = None,
        article_id: str | None = None,
        passage_id: str | None = None,
        score: float | None = None,
        latency_ms: float | None = None,
        query_id: str | None = None,
        delivered: bool | None = None,
    ) -> str:
        """Queue one question and what the bot did with it; returns the query id at once.

        Given the `query_id` of a row recorded earlier, the new row replaces it (a reader's
        pick of an inline result replaces their typed query's row). `delivered`: whether the
        reply reached Telegram, None when unknown.
        """
        query_id = query_id or new_query_id()
        try:
            values = (
                query_id, self._moment(), via, chat_ref, chat_type, user_id, question,
                str(getattr(outcome, "value", outcome)), article_id, passage_id, score,
                latency_ms, delivered,
            )  # fmt: skip
            self._push(_Row("query", values, user_id))
        except Exception:  # a reply must never fail because of its log row
            logger.exception("query log: could not queue a query row")
        return query_id

    def record_feedback(self, *, query_id: str, user_id: int | None, helpful: bool) -> None:
        """Queue a reader's vote on an answer; a second vote on the same answer replaces it."""
        self._safe_push("feedback", (self._moment(), query_id, user_id, int(helpful)), user_id)

    def record_reload(
        self,
        *,
        admin_id: int | None,
        articles: int,
        passages: int,
        rejected: Iterable[object] = (),
    ) -> None:
        """Queue a content reload: who asked, what loaded, which files were rejected and why."""
        rejected_json = json.dumps([str(problem) for problem in rejected], ensure_ascii=False)
        values = (self._moment(), admin_id, articles, passages, rejected_json)
        self._safe_push("reload", values, admin_id)

    def record_admin_action(self, *, user_id: int | None, action: str, allowed: bool) -> None:
        """Queue an attempt at an admin command (allowed or refused)."""
        self._safe_push("admin", (self._moment(), user_id, action, int(allowed)), user_id)

    @property
    def pending(self) -> int:
        """Rows waiting in memory (including the batch being written)."""
        return len(self._buffer)

    @property
    def healthy(self) -> bool:
        """False while the database cannot be written."""
        return not self._health.failing

    def _moment(self) -> float | datetime:
        """The time now, raw: time.time() unless a test injected a clock."""
        return time.time() if self.now is utc_now else self.now()

    def _safe_push(self, kind: str, values: tuple[Any, ...], user_id: int | None) -> None:
        try:
            self._push(_Row(kind, values, user_id))
        except Exception:
            logger.exception("query log: could not queue a %s row", kind)

    def _push(self, row: _Row) -> None:
        if self._closed or len(self._buffer) >= self.max_pending:
            self.dropped += 1
            self._dropped_unrecorded += 1
            return
        self._buffer.append(row)
        if self._waiting:
            self._waiting = False
            if threading.get_ident() == self._loop_thread:
                self._wake.set()
            elif self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._wake.set)

    # -- the writer ------------------------------------------------------------------------

    async def _run(self) -> None:
        """Drain the buffer in batches until closed; back off while the database fails."""
        delay = BACKOFF_START
        while True:
            if not self._buffer and not self._dropped_unrecorded:
                if self._closing_since is not None:
                    return
                self._wake.clear()
                self._waiting = True
                # Checked after raising the flag: a row pushed in between is not missed.
                if not self._buffer:
                    await self._wake.wait()
                self._waiting = False
                continue
            if len(self._buffer) < BATCH_SIZE and self._closing_since is None and self.linger:
                await self._until_stopping(self.linger)
            try:
                async with self._lock:
                    await self._ensure_connection()
                    await self._write_batch()
            except Exception as error:
                self._failed(error)
                if self._closing_since is not None and self._drain_expired():
                    return
                await self._pause(delay)
                delay = min(delay * 2, BACKOFF_MAX)
            else:
                self._recovered()
                delay = BACKOFF_START

    async def _write_batch(self) -> None:
        """Write up to BATCH_SIZE waiting rows (and the dropped count) in one transaction."""
        assert self._db is not None
        batch = [self._buffer[i] for i in range(min(BATCH_SIZE, len(self._buffer)))]
        grouped: dict[str, list[tuple[Any, ...]]] = {}
        for row in batch:
            grouped.setdefault(row.kind, []).append(self._stored_values(row))
        dropped = self._dropped_unrecorded
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            for kind, params in grouped.items():
                await self._db.executemany(_INSERTS[kind], params)
            if dropped:
                await self._db.execute(
                    "INSERT INTO dropped (ts, rows) VALUES (?, ?)", (stamp(self._moment()), dropped)
                )
            await self._db.execute("COMMIT")
        except BaseException:
            await self._rollback()
            raise
        for _ in batch:
            self._buffer.popleft()
        self._dropped_unrecorded -= dropped

    def _stored_values(self, row: _Row) -> tuple[Any, ...]:
        """The row as stored: reader ids through the privacy setting."""
        values = row.values
        if row.kind == "query":
            chat_ref, chat_type, user_id = values[3], values[4], values[5]
            # In a private chat the chat id is the reader's id, so it gets the same treatment.
            stored_chat = self.user_ref(chat_ref) if chat_type == "private" else chat_ref
            question, outcome, article_id, passage_id, score, latency_ms, delivered = values[6:]
            return (
                values[0], stamp(values[1]), _text(values[2]), _text(stored_chat),
                _text(chat_type), self.user_ref(user_id), _text(question), _text(outcome),
                _text(article_id), _text(passage_id), _number(score), _number(latency_ms),
                None if delivered is None else int(bool(delivered)),
            )  # fmt: skip
        if row.kind == "feedback":
            ts, query_id, user_id, helpful = values
            return (stamp(ts), _text(query_id), self._voter_ref(query_id, user_id), helpful)
        if row.kind == "admin":  # admin ids are configured (or refused), stored raw
            return (stamp(values[0]), values[1], _text(values[2]), values[3])
        return (stamp(values[0]), *values[1:])

    def user_ref(self, user_id: int | str | None) -> str | None:
        """How a reader id is stored under the privacy setting (None when unknown or off)."""
        if user_id is None or self.users == "off":
            return None
        if self.users == "raw":
            return str(user_id)
        ref = self._refs.get(user_id)
        if ref is None:
            assert self._key is not None, "the hash key is loaded with the connection"
            if len(self._refs) >= REF_CACHE_SIZE:
                self._refs.clear()
            ref = self._refs[user_id] = hash_ref(self._key, user_id)
        return ref

    def _voter_ref(self, query_id: str, user_id: int | None) -> str | None:
        """How a vote's reader is stored: as user_ref, or with users "off" a vote token."""
        if self.users != "off" or user_id is None:
            return self.user_ref(user_id)
        key = (str(query_id), user_id)
        token = self._vote_tokens.get(key)
        if token is None:
            if len(self._vote_tokens) >= REF_CACHE_SIZE:
                self._vote_tokens.clear()
            # Random, not derived from the id: the file cannot link a token to a reader.
            token = self._vote_tokens[key] = "vote:" + secrets.token_hex(8)
        return token

    async def _pause(self, delay: float) -> None:
        """Wait before a retry; an open log's wait ends early when close() is called."""
        if self._closing_since is not None:
            remaining = self.drain_timeout - (self.monotonic() - self._closing_since)
            delay = max(0.0, min(delay, remaining))
        if self.sleep is not None:
            await self.sleep(delay)
        elif self._closing_since is not None:
            await asyncio.sleep(delay)
        else:
            await self._until_stopping(delay)

    async def _until_stopping(self, timeout: float) -> None:
        """Wait `timeout` seconds, or less if close() is called meanwhile."""
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({stopping}, timeout=timeout)
        stopping.cancel()

    def _drain_expired(self) -> bool:
        assert self._closing_since is not None
        return self.monotonic() - self._closing_since >= self.drain_timeout

    def _failed(self, error: BaseException) -> None:
        """Note a failure; warn at most once a minute, with what is waiting and dropped."""
        health = self._health
        health.failing = True
        health.failures += 1
        health.last_error = f"{type(error).__name__}: {error}"
        moment = self.monotonic()
        if health.last_warning is None or moment - health.last_warning >= WARNING_INTERVAL:
            health.last_warning = moment
            logger.warning(
                "query log: cannot write %s (%s); replies go on, %d rows waiting in memory "
                "(at most %d), %d dropped so far; retrying",
                self.path, health.last_error, len(self._buffer), self.max_pending, self.dropped,
            )  # fmt: skip

    def _recovered(self) -> None:
        if self._health.failing:
            logger.warning(
                "query log: %s is writable again after %d failed attempts; %d rows dropped",
                self.path, self._health.failures, self.dropped,
            )  # fmt: skip
        self._health = _Health(last_warning=self._health.last_warning)

    # -- the connection --------------------------------------------------------------------

    async def _ensure_connection(self) -> None:
        """Reconnect when there is no connection or the file under it was removed/replaced."""
        # Unlinking an open SQLite file does not fail its writes: they would go on into the
        # deleted inode and vanish. Comparing the path's inode before each batch catches it.
        if self._db is not None and _file_identity(self.path) != self._identity:
            logger.warning("query log: %s was removed or replaced; reopening it", self.path)
            await self._disconnect()
        if self._db is None:
            await self._connect()

    async def _connect(self) -> None:
        """Open the file, set WAL and timeouts, migrate, load the hash key, purge old rows."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            await migrate(db)
            key = self.salt or await _stored_salt(db)
            if key != self._key:  # a new file brings a new generated key
                self._key, self._refs = key, {}
            await _purge(db, iso(self.now() - timedelta(days=self.retention_days)))
        except BaseException:
            await db.close()
            raise
        self._db = db
        self._identity = _file_identity(self.path)

    async def _disconnect(self) -> None:
        db, self._db, self._identity = self._db, None, None
        if db is not None:
            try:
                await db.close()
            except Exception as error:  # closing a broken connection may fail too
                logger.debug("query log: closing the old connection failed: %s", error)

    async def _rollback(self) -> None:
        if self._db is not None and self._db.in_transaction:
            try:
                await self._db.execute("ROLLBACK")
            except Exception as error:
                logger.debug("query log: rollback failed: %s", error)

    async def _connected(self) -> aiosqlite.Connection:
        """The connection for a read or a deletion, or StorageUnavailableError."""
        try:
            await self._ensure_connection()
        except SchemaTooNewError:
            raise
        except Exception as error:
            self._failed(error)
            raise StorageUnavailableError(f"{self.path}: {error}") from error
        assert self._db is not None
        return self._db

    # -- maintenance, deletion, statistics ---------------------------------------------

    async def purge_expired(self) -> int:
        """Delete rows older than the retention period; the number deleted (0 if unreachable)."""
        async with self._lock:
            try:
                db = await self._connected()
                return await _purge(db, iso(self.now() - timedelta(days=self.retention_days)))
            except (StorageUnavailableError, sqlite3.Error) as error:
                logger.warning("query log: purge skipped: %s", error)
                return 0

    async def forget(self, user_id: int) -> ForgetResult:
        """Delete every row of one user, waiting in memory or stored (raises if unreachable)."""
        async with self._lock:
            waiting = self._forget_waiting(user_id)
            db = await self._connected()
            refs = sorted({str(user_id), *[hash_ref(k, user_id) for k in await self._keys(db)]})
            marks = ", ".join("?" * len(refs))
            counts: dict[str, int] = {}
            await db.execute("BEGIN IMMEDIATE")
            try:
                # Votes on the user's questions go with them: they would point at nothing.
                counts["feedback"] = await _delete(
                    db,
                    f"DELETE FROM feedback WHERE user_ref IN ({marks}) OR query_id IN "
                    f"(SELECT id FROM queries WHERE user_ref IN ({marks}) "
                    f"OR (chat_type = 'private' AND chat_ref IN ({marks})))",
                    refs * 3,
                )
                counts["queries"] = await _delete(
                    db,
                    f"DELETE FROM queries WHERE user_ref IN ({marks}) "
                    f"OR (chat_type = 'private' AND chat_ref IN ({marks}))",
                    refs * 2,
                )
                counts["admin_actions"] = await _delete(
                    db, "DELETE FROM admin_actions WHERE user_id = ?", [user_id]
                )
                counts["reloads"] = await _delete(
                    db, "DELETE FROM reloads WHERE admin_id = ?", [user_id]
                )
                await db.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise
        return ForgetResult(**{k: counts[k] + waiting.get(k, 0) for k in counts})

    def _forget_waiting(self, user_id: int) -> dict[str, int]:
        """Remove the user's rows from the buffer (in place: other threads may append)."""
        removed: dict[str, int] = {}
        table = {"query": "queries", "feedback": "feedback", "reload": "reloads"}
        for _ in range(len(self._buffer)):
            row = self._buffer.popleft()
            private_chat = row.kind == "query" and row.values[4] == "private"
            if row.user_id == user_id or (private_chat and str(row.values[3]) == str(user_id)):
                name = table.get(row.kind, "admin_actions")
                removed[name] = removed.get(name, 0) + 1
            else:
                self._buffer.append(row)
        return removed

    async def _keys(self, db: aiosqlite.Connection) -> list[str]:
        """Every hash key rows may have been written with: the configured and the stored."""
        keys = [self._key] if self._key else []
        async with db.execute("SELECT value FROM meta WHERE key = 'salt'") as cursor:
            row = await cursor.fetchone()
        if row is not None:
            keys.append(row[0])
        return keys

    async def stats(self, days: int = 30) -> Stats:
        """The figures of the last `days` days (see bot.stats), dropped rows included."""
        async with self._lock:
            db = await self._connected()
            await self._write_waiting()
            result = await compute_stats(db, self.now(), days)
        # Rows dropped by this process and not yet written to the `dropped` table.
        return result.with_extra_dropped(self._dropped_unrecorded)

    async def export_csv(self, target: Path, days: int = 30) -> int:
        """Write the window's query rows as stored to a CSV file; the number of rows."""
        async with self._lock:
            db = await self._connected()
            await self._write_waiting()
            since = iso(window_start(self.now(), days))
            columns = ", ".join(QUERY_COLUMNS)
            sql = f"SELECT {columns} FROM queries WHERE ts >= ? ORDER BY ts, id"
            rows = list(await db.execute_fetchall(sql, (since,)))
        with Path(target).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(QUERY_COLUMNS)
            writer.writerows(rows)
        return len(rows)

    async def _write_waiting(self) -> None:
        """Write the waiting rows now, so a read sees every question asked so far."""
        try:
            while self._buffer:
                await self._write_batch()
        except Exception as error:  # the writer owns retries; the read goes on without them
            logger.debug("query log: waiting rows not written before a read: %s", error)

    async def flush(self) -> bool:
        """Wait until the buffer is empty; False at once if the database is failing."""
        while self._buffer and self._writer is not None and not self._writer.done():
            if self._health.failing:
                return False
            await asyncio.sleep(0.001)
        return not self._buffer

    async def close(self) -> None:
        """Drain the buffer (retrying up to `drain_timeout` if failing), then disconnect."""
        if self._closed:
            return
        self._closing_since = self.monotonic()
        self._stopping.set()
        self._wake.set()
        if self._writer is not None:
            await self._writer
        self._closed = True
        lost = len(self._buffer) + self._dropped_unrecorded
        if lost:
            self.dropped += len(self._buffer)
            self._buffer.clear()
            logger.error("query log: closed with %d rows that could not be written", lost)
        await self._disconnect()


_INSERTS = {
    "query": f"INSERT OR REPLACE INTO queries ({', '.join(QUERY_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(QUERY_COLUMNS))})",
    "feedback": "INSERT INTO feedback (ts, query_id, user_ref, helpful) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (query_id, user_ref) DO UPDATE SET helpful = excluded.helpful, ts = excluded.ts",
    "reload": "INSERT INTO reloads (ts, admin_id, articles, passages, rejected) "
    "VALUES (?, ?, ?, ?, ?)",
    "admin": "INSERT INTO admin_actions (ts, user_id, action, allowed) VALUES (?, ?, ?, ?)",
}


async def migrate(db: aiosqlite.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the schema up to `target`, one transaction a step; the version reached.

    Each step re-reads the version inside its write transaction, so two processes opening
    the same file at once do not both apply it.
    """
    for step in range(target):
        await db.execute("BEGIN IMMEDIATE")
        try:
            version = await _user_version(db)
            if version > SCHEMA_VERSION:
                raise SchemaTooNewError(
                    f"the query log {version=} is newer than this bot's ({SCHEMA_VERSION}); "
                    "upgrade the bot or use another DATABASE_PATH"
                )
            if version == step:
                for statement in MIGRATIONS[step]:
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {step + 1}")
            await db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                await db.execute("ROLLBACK")
            raise
    return await _user_version(db)


async def _user_version(db: aiosqlite.Connection) -> int:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def _stored_salt(db: aiosqlite.Connection) -> str:
    """The hash key generated once and kept in the database (made on first use)."""
    await db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('salt', ?)", (secrets.token_hex(32),)
    )
    async with db.execute("SELECT value FROM meta WHERE key = 'salt'") as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return str(row[0])


async def _purge(db: aiosqlite.Connection, cutoff: str) -> int:
    """Delete rows older than `cutoff` from every table, in one transaction."""
    await db.execute("BEGIN IMMEDIATE")
    try:
        deleted = 0
        for table in ("queries", "feedback", "reloads", "admin_actions", "dropped"):
            deleted += await _delete(db, f"DELETE FROM {table} WHERE ts < ?", [cutoff])
        await db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            await db.execute("ROLLBACK")
        raise
    if deleted:
        logger.info("query log: deleted %d rows older than %s", deleted, cutoff)
    return deleted


async def _delete(db: aiosqlite.Connection, sql: str, params: list[Any]) -> int:
    async with db.execute(sql, params) as cursor:
        return max(cursor.rowcount, 0)


def _text(value: object) -> str | None:
    """A str SQLite can always bind, None kept.

    A str enum (python-telegram-bot's ChatType) becomes its value, and lone surrogates (a
    Telegram message can carry them) are replaced: one unencodable row must not stall the
    writer's every retry.
    """
    if value is None:
        return None
    text = str(getattr(value, "value", value))
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


def _number(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_dev, status.st_ino)


def answer_fields(answer: Answer) -> dict[str, Any]:
    """record_query's outcome/article/passage/score fields from a bot.answers.Answer."""
    best = answer.best
    return {
        "question": answer.question,
        "outcome": answer.outcome.value,
        "article_id": best.article.id if best else None,
        "passage_id": best.passage.id if best else None,
        "score": round(best.score, 4) if best else None,
    }


class BackgroundQueryLog:
    """A QueryLog for synchronous callers (the CLI), its event loop in a daemon thread.

    Why a thread rather than asyncio.run around the session: `ask -` and `chat` block on
    stdin for as long as the user likes, and rows should reach the disk while they wait,
    not only at exit. record_* run in the caller's thread: they append to the log's buffer
    (a deque, safe across threads) and wake the writer with call_soon_threadsafe, so a reply
    never waits for the loop, let alone the disk. close() drains, then stops the thread.
    """

    def __init__(self, log: QueryLog, loop: asyncio.AbstractEventLoop, thread: threading.Thread):
        self.log = log
        # The log's own method, safe from this thread; a wrapper would only add a call.
        self.record_query: Callable[..., str] = log.record_query
        self._loop = loop
        self._thread = thread

    @classmethod
    def open(cls, settings: Settings, **options: Any) -> BackgroundQueryLog:
        """Start the loop thread and open the log in it (SchemaTooNewError propagates)."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="query-log", daemon=True)
        thread.start()
        try:
            opening = asyncio.run_coroutine_threadsafe(QueryLog.open(settings, **options), loop)
            log = opening.result()
        except BaseException:
            _stop_loop(loop, thread)
            raise
        return cls(log, loop, thread)

    def run(self, coroutine: Awaitable[Any]) -> Any:
        """Run one of the log's coroutines (stats, forget, ...) on its loop and wait."""
        return asyncio.run_coroutine_threadsafe(_awaited(coroutine), self._loop).result()

    def close(self) -> None:
        """Drain and close the log, then stop its thread."""
        try:
            self.run(self.log.close())
        finally:
            _stop_loop(self._loop, self._thread)


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()
