"""`QueryLog`, the query log's public face for asyncio code, composed of its parts.

The Telegram application opens it in `post_init` and closes it in `post_shutdown`; the
parts are the connection (connection.py), the privacy setting (privacy.py), the writer
and its buffer (writer.py) and the reads and deletions (queries.py). This module only
records rows and runs each public operation under the connection's lock.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from bot.config import Settings
from bot.querylog import queries
from bot.querylog.connection import Connection
from bot.querylog.errors import SchemaTooNewError, StorageUnavailableError
from bot.querylog.privacy import Privacy
from bot.querylog.queries import ForgetResult
from bot.querylog.rows import Row, new_query_id
from bot.querylog.schema import migrate
from bot.querylog.timestamps import iso, utc_now
from bot.querylog.writer import DRAIN_TIMEOUT, LINGER, Writer
from bot.stats import Stats

logger = logging.getLogger(__name__)


class Observer(Protocol):
    """Told of each question and reload as it is queued (the metrics, bot/monitoring.py)."""

    def query(
        self, via: str, kind: str, outcome: str, delivered: bool | None, latency_ms: float | None
    ) -> None: ...

    def reload(self, articles: int, passages: int, rejected: int) -> None: ...


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
    observer: Observer | None = field(default=None, repr=False)
    _privacy: Privacy = field(init=False, repr=False)
    _connection: Connection = field(init=False, repr=False)
    _writer: Writer = field(init=False, repr=False)
    # The writer's push, bound once: record_* are on every reply's path.
    _push: Callable[[Row], None] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._privacy = Privacy(self.users, self.salt)
        self._connection = Connection(self.path, self._prepare)
        self._writer = Writer(
            self._connection,
            self._privacy,
            self._moment,
            max_pending=self.max_pending,
            linger=self.linger,
            drain_timeout=self.drain_timeout,
            monotonic=self.monotonic,
            sleep=self.sleep,
        )
        self._push = self._writer.push

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
        self._privacy.check()
        try:
            await self._connection.open()
        except SchemaTooNewError:
            raise
        except Exception as error:  # the database is unusable now; the writer retries
            self._writer.failed(error)
        self._writer.start()

    async def _prepare(self, db: aiosqlite.Connection) -> None:
        """What every fresh connection needs: the schema, the hash key, no expired rows."""
        await migrate(db)
        await self._privacy.load_key(db)
        await queries.purge(db, self._cutoff())

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
        kind: str = "question",
    ) -> str:
        """Queue one question and what the bot did with it; returns the query id at once.

        Given the `query_id` of a row recorded earlier, the new row replaces it (a reader's
        pick of an inline result replaces their typed query's row). `delivered`: whether the
        reply reached Telegram, None when unknown. `kind`: what the row is (one of KINDS:
        a question, a summary, a pick, small talk); only questions count as questions.
        """
        query_id = query_id or new_query_id()
        try:
            values = (
                query_id, self._moment(), via, chat_ref, chat_type, user_id, question,
                str(getattr(outcome, "value", outcome)), article_id, passage_id, score,
                latency_ms, delivered, kind,
            )  # fmt: skip
            self._push(Row("query", values, user_id))
        except Exception:  # a reply must never fail because of its log row
            logger.exception("query log: could not queue a query row")
        if self.observer is not None:
            try:
                outcome_value = str(getattr(outcome, "value", outcome))
                self.observer.query(via, kind, outcome_value, delivered, latency_ms)
            except Exception:
                logger.debug("query log: the observer failed", exc_info=True)
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
        problems = [str(problem) for problem in rejected]
        rejected_json = json.dumps(problems, ensure_ascii=False)
        values = (self._moment(), admin_id, articles, passages, rejected_json)
        self._safe_push("reload", values, admin_id)
        if self.observer is not None:
            try:
                self.observer.reload(articles, passages, len(problems))
            except Exception:
                logger.debug("query log: the observer failed", exc_info=True)

    def record_admin_action(self, *, user_id: int | None, action: str, allowed: bool) -> None:
        """Queue an attempt at an admin command (allowed or refused)."""
        self._safe_push("admin", (self._moment(), user_id, action, int(allowed)), user_id)

    def _moment(self) -> float | datetime:
        """The time now, raw: time.time() unless a test injected a clock."""
        return time.time() if self.now is utc_now else self.now()

    def _safe_push(self, kind: str, values: tuple[Any, ...], user_id: int | None) -> None:
        try:
            self._push(Row(kind, values, user_id))
        except Exception:
            logger.exception("query log: could not queue a %s row", kind)

    # -- state ---------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Rows waiting in memory (including the batch being written)."""
        return len(self._writer.buffer)

    @property
    def healthy(self) -> bool:
        """False while the database cannot be written."""
        return not self._writer.health.failing

    @property
    def dropped(self) -> int:
        """Rows dropped by this process: the cap was reached, or the database failed at close."""
        return self._writer.dropped

    def user_ref(self, user_id: int | str | None) -> str | None:
        """How a reader id is stored under the privacy setting (None when unknown or off)."""
        return self._privacy.user_ref(user_id)

    @property
    def _db(self) -> aiosqlite.Connection | None:
        """The open connection, if any (tests reach it to make the database fail)."""
        return self._connection.db

    @property
    def _key(self) -> str | None:
        """The hash key in use (tests check it never shows in the repr)."""
        return self._privacy.key

    # -- maintenance, deletion, statistics ---------------------------------------------

    async def purge_expired(self) -> int:
        """Delete rows older than the retention period; the number deleted (0 if unreachable)."""
        async with self._connection.lock:
            try:
                db = await self._connected()
                return await queries.purge(db, self._cutoff())
            except (StorageUnavailableError, sqlite3.Error) as error:
                logger.warning("query log: purge skipped: %s", error)
                return 0

    async def forget(self, user_id: int) -> ForgetResult:
        """Delete every row of one user, waiting in memory or stored (raises if unreachable)."""
        async with self._connection.lock:
            waiting = self._writer.take(lambda row: row.belongs_to(user_id))
            db = await self._connected()
            refs = await self._privacy.stored_refs(db, user_id)
            counts = await queries.forget_stored(db, refs, user_id)
        for row in waiting:
            counts[row.table] += 1
        return ForgetResult(**counts)

    async def stats(self, days: int = 30) -> Stats:
        """The figures of the last `days` days (see bot.stats), dropped rows included."""
        async with self._connection.lock:
            db = await self._connected()
            await self._writer.write_waiting()
            result = await queries.compute_stats(db, self.now(), days)
        # Rows dropped by this process and not yet written to the `dropped` table.
        return result.with_extra_dropped(self._writer.dropped_unrecorded)

    async def export_csv(self, target: Path, days: int = 30) -> int:
        """Write the window's query rows as stored to a CSV file; the number of rows."""
        async with self._connection.lock:
            db = await self._connected()
            await self._writer.write_waiting()
            rows = await queries.window_rows(db, self.now(), days)
        return queries.write_csv(target, rows)

    async def _connected(self) -> aiosqlite.Connection:
        """The connection for a read or a deletion, or StorageUnavailableError."""
        try:
            return await self._connection.ensure()
        except SchemaTooNewError:
            raise
        except Exception as error:
            self._writer.failed(error)
            raise StorageUnavailableError(f"{self.path}: {error}") from error

    def _cutoff(self) -> str:
        """The stored time before which rows have outlived the retention period."""
        return iso(self.now() - timedelta(days=self.retention_days))

    # -- the end -------------------------------------------------------------------------

    async def flush(self) -> bool:
        """Wait until the buffer is empty; False at once if the database is failing."""
        return await self._writer.flush()

    async def close(self) -> None:
        """Drain the buffer (retrying up to `drain_timeout` if failing), then disconnect."""
        if self._writer.closed:
            return
        await self._writer.close()
        await self._connection.close()
