"""The write-behind writer: the buffer record_* append to, and the one task that drains it.

Logging must never cost a reader anything, so a row is only appended to an in-memory
buffer; the writer task writes the buffer in batches, one transaction each. When the
database cannot be written (locked, read-only, disk full, its folder or file gone) the
writer keeps the rows, retries with backoff and logs one warning a minute, while the buffer
holds at most `max_pending` rows and counts the ones it drops; the count is written to the
`dropped` table once the database works again, so `stats` sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.querylog.connection import Connection, transaction
from bot.querylog.privacy import Privacy
from bot.querylog.rows import INSERT_DROPPED, INSERTS, Row, stored_values
from bot.querylog.timestamps import stamp

logger = logging.getLogger(__name__)

# Rows per transaction: big enough to amortise the commit, small enough to keep a failed
# batch cheap to retry.
BATCH_SIZE = 1000
# Seconds the writer lets rows gather before a transaction, unless a batch is full: one
# transaction per row would cost a busy bot's single core more than the rows themselves.
LINGER = 0.1
WARNING_INTERVAL = 60.0  # seconds between two warnings about the same outage
BACKOFF_START = 0.1
BACKOFF_MAX = 30.0
# How long close() keeps retrying a failing database before it gives the rows up.
DRAIN_TIMEOUT = 5.0


@dataclass
class Health:
    """The writer's view of the database: failing or not, and when it last warned."""

    failing: bool = False
    last_warning: float | None = None
    failures: int = 0
    last_error: str = ""


@dataclass(eq=False)
class Writer:
    """The buffer and its writer task, for one connection.

    `push` may be called from any thread (the CLI records from its own); everything else
    runs on the loop the writer was started on.
    """

    connection: Connection
    privacy: Privacy
    moment: Callable[[], float | datetime]  # the time now, raw (see Row)
    max_pending: int = 10_000
    linger: float = LINGER
    drain_timeout: float = DRAIN_TIMEOUT
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] | None = None
    # Rows dropped by this process: the cap was reached, or the database failed at close.
    dropped: int = field(default=0, init=False)
    # Of those, the ones not yet counted in the `dropped` table.
    dropped_unrecorded: int = field(default=0, init=False)
    buffer: deque[Row] = field(default_factory=deque, init=False, repr=False)
    health: Health = field(default_factory=Health, init=False)
    closed: bool = field(default=False, init=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    # Raised (with _wake) only while the writer waits for rows: push() sets _wake only then.
    _waiting: bool = field(default=False, init=False, repr=False)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    # Set whenever the buffer shrinks, a write fails or the task ends: what flush() awaits.
    _progress: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _closing_since: float | None = field(default=None, init=False, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _loop_thread: int | None = field(default=None, init=False, repr=False)

    def start(self) -> None:
        """Start the writer task on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._task = asyncio.create_task(self._run(), name="query-log-writer")

    # -- the buffer: push from any thread, never blocks, never raises on a full buffer ----

    def push(self, row: Row) -> None:
        """Queue a row, or count it dropped when the log is closed or the buffer full."""
        if self.closed or len(self.buffer) >= self.max_pending:
            self.dropped += 1
            self.dropped_unrecorded += 1
            return
        self.buffer.append(row)
        if self._waiting:
            self._waiting = False
            if threading.get_ident() == self._loop_thread:
                self._wake.set()
            elif self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._wake.set)

    def take(self, belongs: Callable[[Row], bool]) -> list[Row]:
        """Remove the waiting rows `belongs` picks (in place: other threads may append)."""
        taken = []
        for _ in range(len(self.buffer)):
            row = self.buffer.popleft()
            if belongs(row):
                taken.append(row)
            else:
                self.buffer.append(row)
        if taken:
            self._progress.set()
        return taken

    # -- the task ------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._drain()
        finally:
            self._progress.set()  # a flush() waiting now sees the writer gone

    async def _drain(self) -> None:
        """Drain the buffer in batches until closed; back off while the database fails."""
        delay = BACKOFF_START
        while True:
            if not self.buffer and not self.dropped_unrecorded:
                if self._closing_since is not None:
                    return
                self._wake.clear()
                self._waiting = True
                # Checked after raising the flag: a row pushed in between is not missed.
                if not self.buffer:
                    await self._wake.wait()
                self._waiting = False
                continue
            if len(self.buffer) < BATCH_SIZE and self._closing_since is None and self.linger:
                await self._until_stopping(self.linger)
            try:
                async with self.connection.lock:
                    await self.connection.ensure()
                    await self.write_batch()
            except Exception as error:
                self.failed(error)
                if self._closing_since is not None and self._drain_expired():
                    return
                await self._pause(delay)
                delay = min(delay * 2, BACKOFF_MAX)
            else:
                self._recovered()
                delay = BACKOFF_START

    async def write_batch(self) -> None:
        """Write up to BATCH_SIZE waiting rows (and the dropped count) in one transaction.

        The caller holds the connection's lock, with the connection open.
        """
        db = self.connection.db
        assert db is not None
        batch = [self.buffer[i] for i in range(min(BATCH_SIZE, len(self.buffer)))]
        grouped: dict[str, list[tuple[Any, ...]]] = {}
        for row in batch:
            grouped.setdefault(row.kind, []).append(stored_values(row, self.privacy))
        dropped = self.dropped_unrecorded
        async with transaction(db):
            for kind, params in grouped.items():
                await db.executemany(INSERTS[kind], params)
            if dropped:
                await db.execute(INSERT_DROPPED, (stamp(self.moment()), dropped))
        # Only now: rows leave the buffer once they are in the file, never before.
        for _ in batch:
            self.buffer.popleft()
        self.dropped_unrecorded -= dropped
        self._progress.set()

    async def write_waiting(self) -> None:
        """Write the waiting rows now, so a read sees every question asked so far.

        The caller holds the connection's lock, with the connection open.
        """
        try:
            while self.buffer:
                await self.write_batch()
        except Exception as error:  # the writer owns retries; the read goes on without them
            logger.debug("query log: waiting rows not written before a read: %s", error)

    async def flush(self) -> bool:
        """Wait until the buffer is empty; False at once if the database is failing.

        Waits on `_progress`, which the writer sets after each batch, each failure and when
        it ends: one wake-up per batch, not a poll.
        """
        while self.buffer and self._task is not None and not self._task.done():
            if self.health.failing:
                return False
            self._progress.clear()
            await self._progress.wait()
        return not self.buffer

    async def close(self) -> None:
        """Drain the buffer (retrying up to `drain_timeout` if failing); drop what is left."""
        if self.closed:
            return
        self._closing_since = self.monotonic()
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
        self.closed = True
        lost = len(self.buffer) + self.dropped_unrecorded
        if lost:
            self.dropped += len(self.buffer)
            self.buffer.clear()
            logger.error("query log: closed with %d rows that could not be written", lost)

    # -- waiting and backing off ------------------------------------------------------------

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
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._stopping.wait()

    def _drain_expired(self) -> bool:
        assert self._closing_since is not None
        return self.monotonic() - self._closing_since >= self.drain_timeout

    # -- health ------------------------------------------------------------------------------

    def failed(self, error: BaseException) -> None:
        """Note a failure; warn at most once a minute, with what is waiting and dropped."""
        health = self.health
        health.failing = True
        health.failures += 1
        health.last_error = f"{type(error).__name__}: {error}"
        moment = self.monotonic()
        if health.last_warning is None or moment - health.last_warning >= WARNING_INTERVAL:
            health.last_warning = moment
            logger.warning(
                "query log: cannot write %s (%s); replies go on, %d rows waiting in memory "
                "(at most %d), %d dropped so far; retrying",
                self.connection.path, health.last_error, len(self.buffer), self.max_pending,
                self.dropped,
            )  # fmt: skip
        self._progress.set()  # a flush() waiting now returns False rather than wait it out

    def _recovered(self) -> None:
        if self.health.failing:
            logger.warning(
                "query log: %s is writable again after %d failed attempts; %d rows dropped",
                self.connection.path, self.health.failures, self.dropped,
            )  # fmt: skip
        self.health = Health(last_warning=self.health.last_warning)
