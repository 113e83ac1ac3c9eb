"""The query log's one SQLite connection: opened on demand, reopened when its file is
replaced, shared under one lock, and the write transaction every writer uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


@dataclass(eq=False)
class Connection:
    """The connection to `path`, or none while it cannot be opened.

    `prepare` runs on every fresh connection before it is used (the log migrates the schema,
    loads its hash key and purges old rows there); if it fails the connection is closed.
    Whoever uses `db` holds `lock`: aiosqlite runs one statement at a time, but two
    coroutines' transactions would interleave on the one connection.
    """

    path: Path
    prepare: Callable[[aiosqlite.Connection], Awaitable[None]]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    db: aiosqlite.Connection | None = field(default=None, init=False, repr=False)
    _identity: tuple[int, int] | None = field(default=None, init=False, repr=False)

    async def ensure(self) -> aiosqlite.Connection:
        """The open connection; reconnect when there is none or its file was removed/replaced."""
        # Unlinking an open SQLite file does not fail its writes: they would go on into the
        # deleted inode and vanish. Comparing the path's inode before each use catches it.
        if self.db is not None and file_identity(self.path) != self._identity:
            logger.warning("query log: %s was removed or replaced; reopening it", self.path)
            await self.close()
        if self.db is None:
            await self.open()
        assert self.db is not None
        return self.db

    async def open(self) -> None:
        """Open the file, set WAL and timeouts, then prepare it; raises if any of it fails."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            await self.prepare(db)
        except BaseException:
            await db.close()
            raise
        self.db = db
        self._identity = file_identity(self.path)

    async def close(self) -> None:
        """Close the connection, if any; a broken one's failure to close is only noted."""
        db, self.db, self._identity = self.db, None, None
        if db is not None:
            try:
                await db.close()
            except Exception as error:  # closing a broken connection may fail too
                logger.debug("query log: closing the old connection failed: %s", error)


@contextlib.asynccontextmanager
async def transaction(db: aiosqlite.Connection) -> AsyncIterator[None]:
    """One write transaction: BEGIN IMMEDIATE, then COMMIT, or ROLLBACK on any exception.

    IMMEDIATE takes the write lock at once, so a transaction that reads before it writes
    (a migration step) cannot be overtaken by another process between the two.
    """
    await db.execute("BEGIN IMMEDIATE")
    try:
        yield
        await db.execute("COMMIT")
    except BaseException:
        await rollback(db)
        raise


async def rollback(db: aiosqlite.Connection) -> None:
    """Roll back an open transaction; a failure is only noted, the caller's error matters."""
    if db.in_transaction:
        try:
            await db.execute("ROLLBACK")
        except Exception as error:
            logger.debug("query log: rollback failed: %s", error)


def file_identity(path: Path) -> tuple[int, int] | None:
    """The (device, inode) of the file at `path`, or None when there is none."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_dev, status.st_ino)
