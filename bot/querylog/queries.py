"""Reads and deletions of the stored log: the CSV export, the retention purge and `forget`.

Each function takes an open connection whose lock the caller holds.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.querylog.connection import transaction
from bot.querylog.schema import QUERY_COLUMNS
from bot.querylog.timestamps import iso
from bot.stats import window_start

logger = logging.getLogger(__name__)

# Every table with a `ts` column, which the retention period applies to.
TIMED_TABLES = ("queries", "feedback", "reloads", "admin_actions", "dropped")


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


# -- deletion ---------------------------------------------------------------------------


async def purge(db: aiosqlite.Connection, cutoff: str) -> int:
    """Delete rows older than `cutoff` from every table, in one transaction."""
    deleted = 0
    async with transaction(db):
        for table in TIMED_TABLES:
            deleted += await _delete(db, f"DELETE FROM {table} WHERE ts < ?", [cutoff])
    if deleted:
        logger.info("query log: deleted %d rows older than %s", deleted, cutoff)
    return deleted


async def forget_stored(db: aiosqlite.Connection, refs: list[str], user_id: int) -> dict[str, int]:
    """Delete one user's stored rows, in one transaction; how many went, per table.

    `refs` are every form the user's id may be stored in (see Privacy.stored_refs); the
    admin tables hold admin ids raw.
    """
    marks = ", ".join("?" * len(refs))
    counts: dict[str, int] = {}
    async with transaction(db):
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
        counts["reloads"] = await _delete(db, "DELETE FROM reloads WHERE admin_id = ?", [user_id])
    return counts


async def _delete(db: aiosqlite.Connection, sql: str, params: list[Any]) -> int:
    async with db.execute(sql, params) as cursor:
        return max(cursor.rowcount, 0)


# -- the CSV export ---------------------------------------------------------------------


async def window_rows(db: aiosqlite.Connection, until: datetime, days: int) -> list[Any]:
    """The window's query rows as stored, in QUERY_COLUMNS order, oldest first."""
    since = iso(window_start(until, days))
    columns = ", ".join(QUERY_COLUMNS)
    sql = f"SELECT {columns} FROM queries WHERE ts >= ? ORDER BY ts, id"
    return list(await db.execute_fetchall(sql, (since,)))


def write_csv(target: Path, rows: list[Any]) -> int:
    """Write the rows under a QUERY_COLUMNS header line; the number of rows."""
    with Path(target).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(QUERY_COLUMNS)
        writer.writerows(rows)
    return len(rows)
