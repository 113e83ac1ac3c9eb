from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.querylog import QueryLog
from bot.stats import Stats, question_key, render_stats

NOW = datetime(2025, 6, 7, 18, 30, tzinfo=UTC)
JSON_KEYS = {
    "days", "since", "until", "questions", "outcomes", "rates", "distinct_users",
    "top_questions", "top_unanswered", "top_passages", "feedback", "unhelpful_answers",
    "latency_ms", "dropped_rows", "undelivered", "per_day", "kinds",
}  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.wall = NOW

    def now(self) -> datetime:
        return self.wall


async def known_log(tmp_path: Path) -> tuple[QueryLog, Clock]:
    """Ten questions from three readers over three days, votes, and one outside the window."""
    clock = Clock()
    log = await QueryLog.open(Settings(database_path=tmp_path / "log.sqlite3"), now=clock.now)

    def ask(days_ago: int, user: int, question: str, outcome: str, passage: str | None,
            latency: float) -> str:  # fmt: skip
        clock.wall = NOW - timedelta(days=days_ago)
        return log.record_query(
            via="private", question=question, outcome=outcome, user_id=user,
            chat_ref=user, chat_type="private", passage_id=passage, latency_ms=latency,
        )  # fmt: skip

    cloud = ask(0, 1, "Alibaba Cloud customers?", "answered", "a#7", 10.0)
    ask(0, 2, "alibaba  cloud CUSTOMERS", "answered", "a#7", 20.0)
    ask(0, 3, "Alibaba Cloud customers?", "answered", "a#7", 30.0)
    huawei = ask(1, 1, "Huawei strategy", "answered", "a#5", 40.0)
    ask(1, 2, "weather in Paris", "unanswered", None, 50.0)
    ask(1, 3, "Weather in Paris!", "unanswered", None, 60.0)
    ask(2, 1, "football scores", "unanswered", None, 70.0)
    ask(2, 2, "Tencent capex", "suggested", "a#6", 80.0)
    ask(6, 2, "", "unanswered", None, 90.0)  # a blank line: counted, never "most asked"
    ask(6, 3, "Huawei strategy", "answered", "a#5", 1000.0)
    ask(7, 1, "outside the window", "answered", "a#1", 5.0)
    clock.wall = NOW
    log.record_feedback(query_id=cloud, user_id=1, helpful=True)
    log.record_feedback(query_id=cloud, user_id=2, helpful=False)
    log.record_feedback(query_id=huawei, user_id=1, helpful=False)
    log.record_feedback(query_id=huawei, user_id=3, helpful=False)
    return log, clock


async def test_figures_on_a_known_data_set(tmp_path: Path) -> None:
    log, _ = await known_log(tmp_path)
    stats = await log.stats(days=7)
    await log.close()

    assert stats.questions == 10
    assert stats.outcomes == {"answered": 5, "suggested": 1, "unanswered": 4}
    assert (stats.rate("answered"), stats.rate("unanswered")) == (0.5, 0.4)
    assert stats.distinct_users == 3
    assert [(c.text, c.count) for c in stats.top_questions] == [
        ("Alibaba Cloud customers?", 3),  # three spellings, one question
        ("Huawei strategy", 2),
        ("Weather in Paris!", 2),
        ("football scores", 1),  # ties: alphabetical by the grouped form
        ("Tencent capex", 1),
    ]
    assert [(c.text, c.count) for c in stats.top_unanswered] == [
        ("Weather in Paris!", 2),
        ("football scores", 1),
    ]
    assert [(c.text, c.count) for c in stats.top_passages] == [("a#7", 3), ("a#5", 2)]
    assert (stats.votes, stats.helpful, stats.helpful_rate) == (4, 1, 0.25)
    assert [(a.passage_id, a.unhelpful, a.votes) for a in stats.unhelpful_answers] == [
        ("a#5", 2, 2),
        ("a#7", 1, 2),
    ]
    # Nearest rank over 10, 20, ..., 90, 1000: the 5th and the 10th value.
    assert (stats.latency_p50_ms, stats.latency_p95_ms) == (50.0, 1000.0)
    assert stats.dropped_rows == 0
    assert [d.date for d in stats.per_day] == [f"2025-06-0{n}" for n in range(1, 8)]
    assert [(d.answered, d.suggested, d.unanswered) for d in stats.per_day] == [
        (1, 0, 1), (0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 1, 1), (1, 0, 2), (3, 0, 0),
    ]  # fmt: skip
    assert stats.since == "2025-06-01T00:00:00.000+00:00"


async def test_a_shorter_window_and_an_empty_one(tmp_path: Path) -> None:
    log, clock = await known_log(tmp_path)
    today = await log.stats(days=1)
    clock.wall = NOW + timedelta(days=30)
    empty = await log.stats(days=1)
    await log.close()
    assert today.questions == 3 and today.top_unanswered == ()
    assert empty.questions == 0 and empty.rate("answered") is None
    assert empty.to_json()["rates"] == {"answered": None, "suggested": None, "unanswered": None}
    assert empty.to_json()["latency_ms"] == {"p50": None, "p95": None}
    assert "(none)" in render_stats(empty)


async def test_json_has_the_documented_keys_and_round_trips(tmp_path: Path) -> None:
    log, _ = await known_log(tmp_path)
    stats = await log.stats(days=7)
    await log.close()
    document = json.loads(json.dumps(stats.to_json()))
    assert set(document) == JSON_KEYS
    assert document["outcomes"] == {"answered": 5, "suggested": 1, "unanswered": 4}
    assert document["rates"]["answered"] == 0.5
    assert document["feedback"] == {"votes": 4, "helpful": 1, "helpful_rate": 0.25}
    assert document["top_unanswered"][0] == {"question": "Weather in Paris!", "count": 2}
    assert document["unhelpful_answers"][0] == {"passage_id": "a#5", "unhelpful": 2, "votes": 2}
    assert document["per_day"][-1] == {
        "date": "2025-06-07", "answered": 3, "suggested": 0, "unanswered": 0,
    }  # fmt: skip
    docs = Path(__file__).resolve().parent.parent / "docs" / "privacy.md"
    documented = docs.read_text(encoding="utf-8")
    for key in JSON_KEYS:
        assert f"`{key}`" in documented, key


async def test_text_report_shows_the_gaps(tmp_path: Path) -> None:
    log, _ = await known_log(tmp_path)
    text = render_stats(await log.stats(days=7))
    await log.close()
    assert text.startswith("Last 7 days (UTC)\n2025-06-01 to 2025-06-07\n10 questions")
    assert "answered 50% (5)\n  suggested 10% (1)\n  unanswered 40% (4)" in text
    gaps = text.split("Content gaps")[1].split("Most cited")[0]
    assert "  2  Weather in Paris!" in gaps and "Huawei" not in gaps
    assert "👍 1 · 👎 3" in text


def test_dropped_rows_in_memory_are_added() -> None:
    stats = Stats(
        days=1, since="", until="", questions=0, outcomes={}, distinct_users=0,
        top_questions=(), top_unanswered=(), top_passages=(), votes=0, helpful=0,
        unhelpful_answers=(), latency_p50_ms=None, latency_p95_ms=None, dropped_rows=4,
        per_day=(),
    )  # fmt: skip
    assert stats.with_extra_dropped(3).dropped_rows == 7
    assert stats.with_extra_dropped(0) is stats


@pytest.mark.parametrize(
    ("a", "b"),
    [("Alibaba Cloud?", "alibaba   cloud"), ("ＡＩ chips", "ai chips"), ("阿里云！", "阿里云")],
)
def test_question_key_groups_spellings(a: str, b: str) -> None:
    assert question_key(a) == question_key(b) != ""
