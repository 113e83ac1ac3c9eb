"""Every read and deletion of the stored log: the statistics, the CSV export, the
retention purge and `forget`.

Each function takes an open connection whose lock the caller holds. The figures they read
are the value types of bot.stats (`Stats` and its parts); this module is where they are
read and counted.
"""

from __future__ import annotations

import csv
import logging
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from bot.querylog.connection import transaction
from bot.querylog.schema import QUERY_COLUMNS
from bot.querylog.timestamps import iso
from bot.stats import (
    KIND_NAMES,
    OUTCOME_NAMES,
    Counted,
    Day,
    Stats,
    UnhelpfulAnswer,
    question_key,
    window_start,
)

logger = logging.getLogger(__name__)

TOP = 10  # entries in each "most ..." list of the stats
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


# -- the statistics ---------------------------------------------------------------------


async def compute_stats(db: aiosqlite.Connection, until: datetime, days: int) -> Stats:
    """Read every figure of the window ending at `until` from the log's tables."""
    since = window_start(until, days)
    start = iso(since)
    # Only questions count as questions: summaries, picks and small talk are counted apart.
    outcomes = dict(
        await _rows(
            db,
            "SELECT outcome, COUNT(*) FROM queries WHERE ts >= ? AND kind = 'question' GROUP BY 1",
            start,
        )
    )
    kinds = dict(
        await _rows(db, "SELECT kind, COUNT(*) FROM queries WHERE ts >= ? GROUP BY 1", start)
    )
    users = await _rows(db, "SELECT COUNT(DISTINCT user_ref) FROM queries WHERE ts >= ?", start)
    asked = await _rows(
        db,
        "SELECT question, outcome, COUNT(*) FROM queries WHERE ts >= ? AND kind = 'question' "
        "GROUP BY 1, 2",
        start,
    )
    passages = await _rows(
        db,
        "SELECT passage_id, COUNT(*) AS n FROM queries WHERE ts >= ? AND outcome = 'answered' "
        "AND passage_id IS NOT NULL GROUP BY 1 ORDER BY n DESC, passage_id LIMIT ?",
        start,
        TOP,
    )
    votes = await _rows(
        db, "SELECT COUNT(*), COALESCE(SUM(helpful), 0) FROM feedback WHERE ts >= ?", start
    )
    unhelpful = await _rows(
        db,
        "SELECT q.passage_id, SUM(f.helpful = 0) AS bad, COUNT(*) FROM feedback f "
        "JOIN queries q ON q.id = f.query_id WHERE f.ts >= ? AND q.passage_id IS NOT NULL "
        "GROUP BY 1 HAVING bad > 0 ORDER BY bad DESC, COUNT(*) DESC, 1 LIMIT ?",
        start,
        TOP,
    )
    latencies = [
        row[0]
        for row in await _rows(
            db,
            "SELECT latency_ms FROM queries WHERE ts >= ? AND kind = 'question' "
            "AND latency_ms IS NOT NULL ORDER BY latency_ms",
            start,
        )
    ]
    dropped = await _rows(db, "SELECT COALESCE(SUM(rows), 0) FROM dropped WHERE ts >= ?", start)
    undelivered = await _rows(
        db, "SELECT COUNT(*) FROM queries WHERE ts >= ? AND delivered = 0", start
    )
    daily = await _rows(
        db,
        "SELECT substr(ts, 1, 10), outcome, COUNT(*) FROM queries WHERE ts >= ? "
        "AND kind = 'question' GROUP BY 1, 2",
        start,
    )
    return Stats(
        days=days,
        since=start,
        until=iso(until),
        questions=sum(outcomes.values()),
        outcomes={name: int(outcomes.get(name, 0)) for name in OUTCOME_NAMES},
        kinds={name: int(kinds.get(name, 0)) for name in KIND_NAMES},
        distinct_users=int(users[0][0]),
        top_questions=_top_questions(asked),
        top_unanswered=_top_questions([r for r in asked if r[1] == "unanswered"]),
        top_passages=tuple(Counted(str(p), int(n)) for p, n in passages),
        votes=int(votes[0][0]),
        helpful=int(votes[0][1]),
        unhelpful_answers=tuple(UnhelpfulAnswer(str(p), int(b), int(n)) for p, b, n in unhelpful),
        latency_p50_ms=_percentile(latencies, 0.50),
        latency_p95_ms=_percentile(latencies, 0.95),
        dropped_rows=int(dropped[0][0]),
        undelivered=int(undelivered[0][0]),
        per_day=_per_day(daily, since, days),
    )


def _top_questions(rows: list[Any]) -> tuple[Counted, ...]:
    """The TOP most asked question groups, each shown in its most common spelling."""
    totals: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for question, _outcome, count in rows:
        key = question_key(question)
        if not key:  # a blank line is not a question anyone asked
            continue
        totals[key] += count
        spellings[key][" ".join(question.split())] += count
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    return tuple(Counted(_spelling(spellings[key]), total) for key, total in ranked)


def _spelling(counts: Counter[str]) -> str:
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]


def _per_day(rows: list[Any], since: datetime, days: int) -> tuple[Day, ...]:
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for date, outcome, count in rows:
        counts[date][outcome] = int(count)
    series = []
    for offset in range(days):
        date = (since + timedelta(days=offset)).date().isoformat()
        day = counts.get(date, {})
        series.append(Day(date, *(day.get(name, 0) for name in OUTCOME_NAMES)))
    return tuple(series)


def _percentile(sorted_values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(share * len(sorted_values)))
    return round(float(sorted_values[rank - 1]), 3)


async def _rows(db: aiosqlite.Connection, sql: str, *params: Any) -> list[Any]:
    return list(await db.execute_fetchall(sql, params))
