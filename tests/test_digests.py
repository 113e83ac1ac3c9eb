"""Digests (bot/digests.py) on their own: parsing rules, the next due time across DST edges,
rendering within Telegram's limits, and the scheduler on a faked clock (no Telegram)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.callbacks import MAX_CALLBACK_BYTES, summary_data
from bot.content import Article, Passage
from bot.digests import (
    BAD_TIME,
    BAD_WEEKDAY,
    Cadence,
    Digests,
    Rule,
    RuleError,
    digest_chats,
    find_zone,
    local_instant,
    next_due,
    parse_rule,
    period_key,
    render_digest,
    suggest_zone,
    zone,
)
from bot.i18n import Translators, translators
from bot.outbox import Outbox
from bot.rendering import telegram_length
from bot.subscriptions import announce
from tests.conftest import HandClock

UTC = dt.UTC
NEW_YORK = zone("America/New_York")
LONDON = zone("Europe/London")
SHANGHAI = zone("Asia/Shanghai")
DAILY_8 = Rule(Cadence.DAILY, 8, 0)


def at(zone_: dt.tzinfo, *fields: int, fold: int = 0) -> dt.datetime:
    return dt.datetime(*fields, tzinfo=zone_, fold=fold)  # type: ignore[misc]


# -- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "rule"),
    [
        (["daily", "08:00"], Rule(Cadence.DAILY, 8, 0)),
        (["Daily", "8:05"], Rule(Cadence.DAILY, 8, 5)),
        (["daily", "23:59"], Rule(Cadence.DAILY, 23, 59)),
        (["daily", "00:00"], Rule(Cadence.DAILY, 0, 0)),
        (["每天", "07\uff1a30"], Rule(Cadence.DAILY, 7, 30)),
        (["weekly", "mon", "08:00"], Rule(Cadence.WEEKLY, 8, 0, 0)),
        (["weekly", "Sunday", "20:00"], Rule(Cadence.WEEKLY, 20, 0, 6)),
        (["weekly", "周一", "08:00"], Rule(Cadence.WEEKLY, 8, 0, 0)),
        (["weekly", "星期日", "08:00"], Rule(Cadence.WEEKLY, 8, 0, 6)),
        (["weekly", "週五", "18:00"], Rule(Cadence.WEEKLY, 18, 0, 4)),
        (["每周", "周天", "09:00"], Rule(Cadence.WEEKLY, 9, 0, 6)),
    ],
)
def test_rules_parse(words: list[str], rule: Rule) -> None:
    assert parse_rule(words) == rule


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["daily", "24:00"], BAD_TIME),
        (["daily", "8am"], BAD_TIME),
        (["daily", "08:60"], BAD_TIME),
        (["weekly", "funday", "08:00"], BAD_WEEKDAY),
        (["weekly", "mon", "8"], BAD_TIME),
    ],
)
def test_bad_rules_say_what_is_wrong(words: list[str], message: str) -> None:
    with pytest.raises(RuleError) as raised:
        parse_rule(words)
    assert raised.value.message == message


@pytest.mark.parametrize("words", [["hourly", "08:00"], ["daily"], ["weekly", "08:00"], []])
def test_what_is_no_rule_is_refused(words: list[str]) -> None:
    with pytest.raises(RuleError):
        parse_rule(words)


def test_rules_describe_themselves_in_each_language() -> None:
    languages = translators()
    weekly = Rule(Cadence.WEEKLY, 8, 0, 0)
    assert DAILY_8.describe(languages["en"]) == "every day at 08:00"
    assert weekly.describe(languages["en"]) == "every Monday at 08:00"
    assert weekly.describe(languages["zh_Hans"]) == "每周一 08:00"
    assert weekly.describe(languages["zh_Hant"]) == "每週一 08:00"


def test_time_zones_are_found_whatever_the_case_and_mistypes_get_a_suggestion() -> None:
    assert find_zone("asia/shanghai") == "Asia/Shanghai"
    assert find_zone("UTC") == "UTC"
    assert find_zone("Mars/Olympus") is None
    assert suggest_zone("Asia/Shangai") == "Asia/Shanghai"
    assert suggest_zone("Europe/Londn") == "Europe/London"
    assert suggest_zone("qqqqqqqq") is None


# -- when ---------------------------------------------------------------------------------


def test_daily_in_shanghai() -> None:
    after = at(UTC, 2026, 11, 29, 20, 0)  # 04:00 in Shanghai
    due = next_due(DAILY_8, SHANGHAI, after)
    assert due == at(UTC, 2026, 11, 30, 0, 0)
    assert next_due(DAILY_8, SHANGHAI, due) == at(UTC, 2026, 12, 1, 0, 0)
    assert period_key(due, SHANGHAI) == "digest:2026-11-30T08:00"


def test_due_is_strictly_after() -> None:
    exactly = at(SHANGHAI, 2026, 11, 30, 8, 0)
    assert next_due(DAILY_8, SHANGHAI, exactly) == at(SHANGHAI, 2026, 12, 1, 8, 0)
    assert next_due(DAILY_8, SHANGHAI, exactly - dt.timedelta(seconds=1)) == exactly


def test_weekly_finds_the_weekday() -> None:
    monday = Rule(Cadence.WEEKLY, 8, 0, 0)
    # Monday 30 November 2026, 09:00: this week's is over, next Monday's is due.
    assert next_due(monday, LONDON, at(LONDON, 2026, 11, 30, 9, 0)) == at(LONDON, 2026, 12, 7, 8)
    assert next_due(monday, LONDON, at(LONDON, 2026, 11, 30, 7, 0)) == at(LONDON, 2026, 11, 30, 8)
    sunday_late = Rule(Cadence.WEEKLY, 23, 30, 6)
    assert next_due(sunday_late, LONDON, at(LONDON, 2026, 11, 30, 0, 0)) == at(
        LONDON, 2026, 12, 6, 23, 30
    )


def test_a_time_skipped_by_spring_forward_is_sent_at_the_next_valid_minute() -> None:
    # New York, 8 March 2026: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist.
    rule = Rule(Cadence.DAILY, 2, 30)
    due = next_due(rule, NEW_YORK, at(UTC, 2026, 3, 7, 12, 0))
    assert due == at(NEW_YORK, 2026, 3, 8, 3, 0)
    assert due.astimezone(UTC) == at(UTC, 2026, 3, 8, 7, 0)
    # The day after, 02:30 exists again.
    assert next_due(rule, NEW_YORK, due) == at(NEW_YORK, 2026, 3, 9, 2, 30)
    # London, 29 March 2026: 01:00 GMT jumps to 02:00 BST.
    london = next_due(Rule(Cadence.DAILY, 1, 15), LONDON, at(UTC, 2026, 3, 28, 12, 0))
    assert london.astimezone(UTC) == at(UTC, 2026, 3, 29, 1, 0)  # 02:00 BST


def test_a_time_repeated_by_fall_back_is_sent_once() -> None:
    # New York, 1 November 2026: 02:00 EDT goes back to 01:00 EST; 01:30 happens twice.
    rule = Rule(Cadence.DAILY, 1, 30)
    first = next_due(rule, NEW_YORK, at(UTC, 2026, 10, 31, 12, 0))
    assert first.astimezone(UTC) == at(UTC, 2026, 11, 1, 5, 30)  # 01:30 EDT
    second = next_due(rule, NEW_YORK, first)
    assert second.astimezone(UTC) == at(UTC, 2026, 11, 2, 6, 30)  # the next day, EST
    # Between the two 01:30s, the second one is not due.
    between = at(UTC, 2026, 11, 1, 6, 0)
    assert next_due(rule, NEW_YORK, between).astimezone(UTC) == at(UTC, 2026, 11, 2, 6, 30)
    # London, 25 October 2026: 01:30 happens twice too.
    london = next_due(rule, LONDON, at(UTC, 2026, 10, 24, 12, 0))
    assert london.astimezone(UTC) == at(UTC, 2026, 10, 25, 0, 30)  # 01:30 BST
    assert next_due(rule, LONDON, london).astimezone(UTC) == at(UTC, 2026, 10, 26, 1, 30)


def test_a_daily_digest_keeps_its_local_hour_across_dst() -> None:
    due = at(UTC, 2026, 3, 6, 13, 0)  # 08:00 EST
    hours = []
    for _ in range(4):
        due = next_due(DAILY_8, NEW_YORK, due)
        hours.append((due.astimezone(NEW_YORK).hour, due.astimezone(UTC).hour))
    assert hours == [(8, 13), (8, 12), (8, 12), (8, 12)]


def test_local_instant_of_an_existing_time_is_that_time() -> None:
    assert local_instant(dt.date(2026, 6, 1), 8, 0, NEW_YORK) == at(NEW_YORK, 2026, 6, 1, 8, 0)


# -- rendering ----------------------------------------------------------------------------


def article(number: int, *, english: str | None = None, viewpoint: str = "") -> Article:
    text = viewpoint or f"Viewpoint of article {number}."
    core = Passage(f"a{number}", 0, "Core Viewpoint", text)
    return Article(
        id=f"a{number}",
        headline=f"Headline {number} <&>",
        source="Space Desk",
        published=dt.datetime(2025, 6, number % 28 + 1, 9, 30),
        core_viewpoint=core,
        sections=(),
        english_title=english,
    )


def test_a_digest_lists_each_article_with_a_summary_button() -> None:
    english = translators()["en"]
    text, keyboard = render_digest([article(2, english="Rover news"), article(1)], english)
    assert text.startswith("<b>Digest: 2 new articles</b>")
    assert "<b>Headline 2 &lt;&amp;&gt;</b> (<i>Rover news</i>)" in text
    assert "<i>Space Desk · 2025-06-03 09:30</i>" in text
    assert text.index("Headline 2") < text.index("Headline 1")
    rows = keyboard["inline_keyboard"]
    assert [row[0]["text"] for row in rows] == ["📄 Headline 2 <&>", "📄 Headline 1 <&>"]
    assert rows[0][0]["callback_data"] == summary_data(article(2))
    one, _ = render_digest([article(1)], english)
    assert one.startswith("<b>Digest: 1 new article</b>")
    chinese, _ = render_digest([article(1)], translators()["zh_Hans"])
    assert "1" in chinese.split("\n")[0] and "Digest" not in chinese


def test_a_long_digest_keeps_the_newest_within_telegrams_limit() -> None:
    long = "Word " * 400
    articles = [article(n, viewpoint=long) for n in range(60, 0, -1)]
    text, keyboard = render_digest(articles, translators()["en"])
    assert telegram_length(text) <= 4096
    shown = text.count("<b>Headline")
    assert 5 < shown < 60
    assert text.endswith(f"…and {60 - shown} more: /articles")
    assert "Headline 60" in text and "Headline 1 " not in text
    rows = keyboard["inline_keyboard"]
    assert len(rows) == 5
    assert all(len(row[0]["callback_data"].encode()) <= MAX_CALLBACK_BYTES for row in rows)
    assert all(len(row[0]["text"]) <= 32 for row in rows)


# -- the scheduler ------------------------------------------------------------------------


class Clock(HandClock):
    def set(self, when: dt.datetime) -> None:
        self.now = when.timestamp()


@pytest.fixture
def clock() -> Clock:
    return Clock(at(UTC, 2026, 11, 29, 20, 0).timestamp())  # Sunday, 04:00 Monday in Shanghai


@pytest.fixture
async def digests(tmp_path: Path, clock: Clock) -> AsyncIterator[Digests]:
    outbox = await Outbox.open(tmp_path / "bot.sqlite3", clock=clock)
    await outbox.new_articles(["seed"])  # the library the bot started with: not news
    yield await Digests.open(outbox, clock)
    await outbox.close()


LANGUAGES: Translators = translators()
LIBRARY = [article(n) for n in range(1, 4)]


async def pending(digests: Digests) -> list[tuple[int, str, str]]:
    async with digests.db.execute(
        "SELECT chat_id, key, text FROM outbox WHERE state = 'pending' ORDER BY id"
    ) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]  # type: ignore[misc]


async def test_a_digest_is_queued_once_at_its_hour_with_what_was_added(
    digests: Digests, clock: Clock
) -> None:
    outbox = digests.outbox
    await outbox.subscribe(10, "en")
    await digests.set_zone(10, "Asia/Shanghai")
    found = await digests.set(10, DAILY_8, "en")
    assert found.next_due == at(UTC, 2026, 11, 30, 0, 0).timestamp()
    assert await digest_chats(outbox) == {10}
    clock.now += 60
    # The immediate push skips a chat in digest mode; the article is recorded as added.
    assert await announce(outbox, [LIBRARY[0]], LANGUAGES) == 0
    assert await digests.queue_due(LIBRARY, LANGUAGES) == 0  # not due yet
    clock.set(at(SHANGHAI, 2026, 11, 30, 8, 0))
    assert await digests.queue_due(LIBRARY, LANGUAGES) == 1
    assert await digests.queue_due(LIBRARY, LANGUAGES) == 0  # once
    [(chat, key, text)] = await pending(digests)
    assert (chat, key) == (10, "digest:2026-11-30T08:00")
    assert "Digest: 1 new article" in text and "Headline 1" in text
    # A day later with nothing new: nothing queued, the next one scheduled.
    clock.set(at(SHANGHAI, 2026, 12, 1, 8, 0, 30))
    assert await digests.queue_due(LIBRARY, LANGUAGES) == 0
    assert len(await pending(digests)) == 1
    after = await digests.digest(10)
    assert after is not None and after.next_due == at(SHANGHAI, 2026, 12, 2, 8, 0).timestamp()
    assert await digests.counts() == {"digests": 1, "daily": 1, "weekly": 0}


async def test_a_bot_down_for_days_sends_the_missed_digest_once(
    digests: Digests, clock: Clock
) -> None:
    await digests.outbox.subscribe(10, "en")
    await digests.set(10, DAILY_8, "en")  # UTC
    clock.now += 60
    await digests.outbox.new_articles(["a1", "a2", "removed-since"])
    clock.set(at(UTC, 2026, 12, 3, 15, 0))  # three due times missed
    assert await digests.queue_due(LIBRARY, LANGUAGES) == 1
    assert await digests.queue_due(LIBRARY, LANGUAGES) == 0
    [(_, key, text)] = await pending(digests)
    assert key == "digest:2026-11-30T08:00" and "Digest: 2 new articles" in text
    after = await digests.digest(10)
    assert after is not None and after.next_due == at(UTC, 2026, 12, 4, 8, 0).timestamp()


async def test_a_restart_between_queueing_and_rescheduling_sends_nothing_twice(
    digests: Digests, clock: Clock
) -> None:
    await digests.outbox.subscribe(10, "en")
    found = await digests.set(10, DAILY_8, "en")
    clock.now += 60
    await digests.outbox.new_articles(["a1"])
    clock.set(at(UTC, 2026, 11, 30, 8, 0))
    assert await digests.queue_due(LIBRARY, LANGUAGES) == 1
    # As if the bot stopped before recording the next due time: the same occurrence again.
    await digests.db.execute(
        "UPDATE digests SET next_due = ?, since = ? WHERE chat_id = 10",
        (found.next_due, found.since),
    )
    assert await digests.queue_due(LIBRARY, LANGUAGES) == 0
    assert len(await pending(digests)) == 1


async def test_weekly_digests_and_changes(digests: Digests, clock: Clock) -> None:
    outbox = digests.outbox
    await outbox.subscribe(20, "zh_Hans")
    weekly = await digests.set(20, Rule(Cadence.WEEKLY, 9, 0, 4), "zh_Hans")  # Friday
    assert weekly.next_due == at(UTC, 2026, 12, 4, 9, 0).timestamp()
    # A new time zone moves it; the articles since it was set stay for it.
    moved = await digests.set_zone(20, "Europe/London")
    assert moved is not None and moved.since == weekly.since
    clock.now += 60
    await outbox.new_articles(["a3"])
    clock.set(at(LONDON, 2026, 12, 4, 9, 0))
    assert await digests.queue_due(LIBRARY, LANGUAGES) == 1
    [(_, key, text)] = await pending(digests)
    assert key == "digest:2026-12-04T09:00" and "Headline 3" in text and "摘要" in text
    # A suspended chat gets no digest; without a subscription neither.
    await outbox.suspend(20, "blocked")
    clock.set(at(LONDON, 2026, 12, 11, 9, 0))
    await outbox.new_articles(["a2"])
    clock.now += 60
    assert await digests.queue_due(LIBRARY, LANGUAGES) == 0
    assert await digests.remove(20) and not await digests.remove(20)
    assert await digests.counts() == {"digests": 0, "daily": 0, "weekly": 0}


async def test_an_unknown_stored_zone_falls_back_to_utc() -> None:
    assert zone("Nowhere/Atlantis").key == "UTC"
    assert zone(None).key == "UTC"
