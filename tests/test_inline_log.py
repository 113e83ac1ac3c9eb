"""bot/inline_log.py: a typed inline query is logged once its reader stops typing, and a pick
takes its place. The delay is the log's own, so these tests wait milliseconds, not 3 s."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any, cast

import pytest

from bot.inline_log import LOG_DELAY, VIA_INLINE, InlineLog, TypedQuery
from bot.querylog import QueryLog
from bot.state import BotState

DELAY = 0.02
READER, OTHER = 7, 8


class FakeLog:
    """record_query as the query log has it: returns the row's id (a given one replaces)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def record_query(self, **row: Any) -> str:
        self.rows.append(row)
        return str(row.get("query_id") or f"new{len(self.rows)}")


def typed(question: str, user_id: int = READER, query_id: str = "0123456789ab") -> TypedQuery:
    return TypedQuery(
        question=question,
        outcome="answered",
        user_id=user_id,
        chat_type="sender",
        article_id="a1",
        passage_id="p1",
        score=0.9,
        latency_ms=1.5,
        query_id=query_id,
    )


def fake_log() -> tuple[FakeLog, QueryLog]:
    log = FakeLog()
    return log, cast(QueryLog, log)


def test_the_delay_defaults_to_three_seconds_and_is_the_bot_states() -> None:
    assert LOG_DELAY == 3.0
    assert InlineLog().delay == LOG_DELAY
    assert BotState().inline_log.delay == LOG_DELAY
    assert BotState(inline_log=InlineLog(DELAY)).inline_log.delay == DELAY


async def test_a_burst_of_keystrokes_logs_the_last_query_once() -> None:
    fake, log = fake_log()
    inline_log = InlineLog(DELAY)
    for prefix in ("Hua", "Huawei", "Huawei strategy"):
        inline_log.typed(log, typed(prefix))
    inline_log.typed(log, typed("Tencent", user_id=OTHER))  # another reader, its own timer
    await asyncio.sleep(DELAY * 5)
    assert [(r["question"], r["user_id"]) for r in fake.rows] == [
        ("Huawei strategy", READER),
        ("Tencent", OTHER),
    ]
    assert fake.rows[0] == {"via": VIA_INLINE, **typed("Huawei strategy").__dict__}


async def test_a_pick_before_the_row_is_written_takes_its_place() -> None:
    fake, log = fake_log()
    inline_log = InlineLog(DELAY)
    inline_log.typed(log, typed("Huawei strategy"))
    assert inline_log.picked(READER, "Huawei") is None  # not the query waiting
    pending = inline_log.picked(READER, "Huawei strategy")
    assert pending == typed("Huawei strategy")
    inline_log.record_pick(
        log,
        user_id=READER,
        question="Huawei strategy",
        article_id="a2",
        passage_id="p2",
        score=None,
        typed=pending,
    )
    await asyncio.sleep(DELAY * 5)  # the typed row never comes
    (row,) = fake.rows
    assert row["query_id"] == "0123456789ab" and row["passage_id"] == "p2"
    assert row["outcome"] == "answered" and row["latency_ms"] == 1.5
    assert row["chat_type"] == "sender" and row["via"] == VIA_INLINE


async def test_a_pick_after_the_row_was_written_replaces_it_once() -> None:
    fake, log = fake_log()
    inline_log = InlineLog(DELAY)
    inline_log.typed(log, typed("Huawei strategy"))
    await asyncio.sleep(DELAY * 5)
    assert len(fake.rows) == 1
    assert inline_log.picked(OTHER, "Huawei strategy") is None  # another reader's
    assert inline_log.picked(READER, "Huawei strategy") == typed("Huawei strategy")
    assert inline_log.picked(READER, "Huawei strategy") is None  # a second pick: its own row


async def test_a_new_query_replaces_the_one_a_pick_could_replace() -> None:
    fake, log = fake_log()
    inline_log = InlineLog(DELAY)
    inline_log.typed(log, typed("Huawei strategy"))
    await asyncio.sleep(DELAY * 5)
    second = replace(typed("Tencent"), query_id="ba9876543210")
    inline_log.typed(log, second)
    await asyncio.sleep(DELAY * 5)
    assert [r["question"] for r in fake.rows] == ["Huawei strategy", "Tencent"]
    assert inline_log.picked(READER, "Huawei strategy") is None
    assert inline_log.picked(READER, "Tencent") == second


async def test_close_drops_the_queries_still_waiting() -> None:
    fake, log = fake_log()
    inline_log = InlineLog(DELAY)
    inline_log.typed(log, typed("Huawei strategy"))
    inline_log.close()
    await asyncio.sleep(DELAY * 5)
    assert fake.rows == []
    assert inline_log.picked(READER, "Huawei strategy") is None


async def test_a_failing_write_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenLog:
        def record_query(self, **row: Any) -> str:
            raise RuntimeError("disk gone")

    inline_log = InlineLog(DELAY)
    inline_log.typed(cast(QueryLog, BrokenLog()), typed("Huawei strategy"))
    await asyncio.sleep(DELAY * 5)
    assert "inline query 0123456789ab: not logged" in caplog.text
    assert inline_log.picked(READER, "Huawei strategy") is None
