"""The query log's `kind` column: what each row is, and the version 4 migration that adds it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.config import Settings
from bot.querylog import KINDS, QUERY_COLUMNS, SCHEMA_VERSION, QueryLog, migrate

NOW = datetime(2025, 6, 7, 18, 30, tzinfo=UTC)
TS = "2025-06-07T10:00:00.000+00:00"

# Rows as a version 3 bot wrote them: (id, via, question, outcome, passage_id).
VERSION_3_ROWS = [
    ("000000000001", "private", "Huawei strategy", "answered", "a#5"),
    ("000000000002", "private", "/summary", "answered", None),
    ("000000000003", "group", "/summary 2", "answered", None),
    ("000000000004", "private", "/summary nothing like it", "unanswered", None),
    ("000000000005", "callback", "Tencent capex", "answered", "a#6"),
    ("000000000006", "inline", "Alibaba Cloud", "answered", "a#7"),
    ("000000000007", "cli", "what does /summary do", "unanswered", None),
    ("000000000008", "private", "/summaryish", "unanswered", None),
]


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


async def open_log(path: Path) -> QueryLog:
    return await QueryLog.open(Settings(database_path=path), now=lambda: NOW, linger=0.0)


async def version_3_database(path: Path) -> None:
    async with aiosqlite.connect(path, isolation_level=None) as db:
        assert await migrate(db, target=3) == 3
        for query_id, via, question, outcome, passage in VERSION_3_ROWS:
            await db.execute(
                "INSERT INTO queries (id, ts, via, question, outcome, passage_id, delivered) "
                "VALUES (?, ?, ?, ?, ?, ?, 1)",
                (query_id, TS, via, question, outcome, passage),
            )


async def test_a_version_3_database_gets_kinds_inferred_from_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "v3.sqlite3"
    await version_3_database(path)
    log = await open_log(path)
    log.record_query(via="private", question="/summary 1", outcome="answered", kind="summary")
    log.record_query(via="private", question="thanks!", outcome="unanswered", kind="small_talk")
    await log.close()
    assert SCHEMA_VERSION == 4
    assert rows(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert dict(rows(path, "SELECT question, kind FROM queries")) == {
        "Huawei strategy": "question",
        "/summary": "summary",
        "/summary 2": "summary",
        "/summary nothing like it": "summary",  # asked for, even if nothing matched
        "Tencent capex": "pick",  # a suggestion's button
        "Alibaba Cloud": "question",  # an inline pick cannot be told from its typed query
        "what does /summary do": "question",
        "/summaryish": "question",
        "/summary 1": "summary",
        "thanks!": "small_talk",
    }
    # The old rows keep everything else they had.
    assert rows(path, "SELECT via, outcome, passage_id, delivered FROM queries WHERE id = "
                "'000000000005'") == [("callback", "answered", "a#6", 1)]  # fmt: skip


async def test_rows_are_questions_unless_said_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    log = await open_log(path)
    for kind in KINDS:
        log.record_query(via="private", question=f"a {kind}", outcome="answered", kind=kind)
    log.record_query(via="cli", question="plain", outcome="unanswered")
    await log.close()
    assert sorted(rows(path, "SELECT question, kind FROM queries")) == sorted(
        [(f"a {kind}", kind) for kind in KINDS] + [("plain", "question")]
    )
    assert QUERY_COLUMNS[-1] == "kind"  # the CSV export's new column comes last
    assert rows(path, "SELECT dflt_value, \"notnull\" FROM pragma_table_info('queries') "
                "WHERE name = 'kind'") == [("'question'", 1)]  # fmt: skip


class RecordingLog:
    """Stands in for QueryLog: keeps record_query's keyword arguments."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def record_query(self, **fields: Any) -> str:
        self.rows.append(fields)
        return "0123456789ab"


def test_an_inline_pick_is_logged_as_a_pick() -> None:
    from bot.inline_log import InlineLog

    log = RecordingLog()
    InlineLog().record_pick(
        log,  # type: ignore[arg-type]
        user_id=1,
        question="Huawei strategy",
        article_id="a",
        passage_id="a#5",
        score=0.9,
        typed=None,
    )
    (row,) = log.rows
    assert row["kind"] == "pick" and row["outcome"] == "answered"


async def test_stats_count_only_questions_as_questions(tmp_path: Path) -> None:
    log = await open_log(tmp_path / "log.sqlite3")

    def record(question: str, outcome: str, kind: str, **fields: Any) -> str:
        return log.record_query(
            via=fields.pop("via", "private"), question=question, outcome=outcome, kind=kind,
            user_id=fields.pop("user_id", 1), **fields,
        )  # fmt: skip

    record("Huawei strategy", "answered", "question", passage_id="a#5", latency_ms=40.0)
    record("weather in Paris", "unanswered", "question", latency_ms=60.0)
    record("/summary", "answered", "summary", article_id="a", latency_ms=0.5)
    record("/summary bananas", "unanswered", "summary", latency_ms=0.5)  # not a content gap
    record("Tencent capex", "answered", "pick", via="callback", passage_id="a#6")
    record("Alibaba Cloud", "answered", "pick", via="inline", passage_id="a#6", latency_ms=9.0)
    record("thanks!", "unanswered", "small_talk", user_id=2, latency_ms=0.1)
    stats = await log.stats(days=1)
    await log.close()

    assert stats.questions == 2
    assert stats.outcomes == {"answered": 1, "suggested": 0, "unanswered": 1}
    assert stats.kinds == {"question": 2, "summary": 2, "pick": 2, "small_talk": 1}
    assert [c.text for c in stats.top_questions] == ["Huawei strategy", "weather in Paris"]
    assert [c.text for c in stats.top_unanswered] == ["weather in Paris"]
    assert [(d.answered, d.suggested, d.unanswered) for d in stats.per_day] == [(1, 0, 1)]
    assert (stats.latency_p50_ms, stats.latency_p95_ms) == (40.0, 60.0)  # questions' only
    # A passage a reader picked was still given to them: it counts among the cited ones.
    assert [(c.text, c.count) for c in stats.top_passages] == [("a#6", 2), ("a#5", 1)]
    assert stats.distinct_users == 2  # whoever used the bot, not only who asked
    document = stats.to_json()
    assert document["kinds"] == {"question": 2, "summary": 2, "pick": 2, "small_talk": 1}
    assert document["questions"] == 2


def test_the_stats_kinds_are_the_logs_kinds() -> None:
    from bot.stats import KIND_NAMES

    assert KIND_NAMES == KINDS
