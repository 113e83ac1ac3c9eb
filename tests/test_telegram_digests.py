"""/digest and /timezone through the real bot in process (tests/inprocess.py): a digest at
a faked clock, sent once through the outbox, with a working summary button; nothing when
nothing is new; a group's non-admin refused; a bad time zone refused with a suggestion.

The clock: the outbox's and the digests' (`Outbox.clock`, `Digests.clock`) are one faked
clock that runs at the real pace from an instant the test moves (so the sender's pacing
still sees time pass); the job that queues digests is run by `fast_forward`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest

from bot.digests import Digests
from tests.conftest import ROVER
from tests.inprocess import InProcessBot
from tests.telegram_harness import BOT, buttons, text_of

pytestmark = pytest.mark.bot(env={"QUESTIONS_PER_WINDOW": "1000"})

READER, HANT_READER = 6301, 6302
GROUP, GROUP_ADMIN, GROUP_MEMBER = -4077, 6401, 6402
SHANGHAI = ZoneInfo("Asia/Shanghai")


class MovableClock:
    """Real time shifted by an offset the test sets (`jump_to`)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def jump_to(self, when: dt.datetime) -> None:
        self.offset = when.timestamp() - time.time()


def faked_clock(bot: InProcessBot) -> tuple[MovableClock, Digests]:
    """One movable clock for the running bot's outbox and digests."""
    outbox = bot.app.bot_data.outbox
    digests = bot.app.bot_data.digests
    assert outbox is not None and digests is not None
    clock = MovableClock()
    outbox.clock = clock
    digests.clock = clock
    return clock, digests


async def test_a_digest_at_a_faked_clock(bot: InProcessBot) -> None:
    bot.telegram.add_user(READER, language_code="en")
    clock, digests = faked_clock(bot)
    # 04:00 in Shanghai, a day or two ahead: later than the seeds' first sight at the start.
    today = dt.datetime.now(dt.UTC).date()
    clock.jump_to(dt.datetime.combine(today + dt.timedelta(days=1), dt.time(20), dt.UTC))
    due = dt.datetime.combine(today + dt.timedelta(days=3), dt.time(8), SHANGHAI)

    zone = await bot.private(READER, "/timezone Asia/Shanghai")
    assert text_of(zone).startswith("Time zone set: Asia/Shanghai")
    done = await bot.private(READER, "/digest daily 08:00")
    assert text_of(done).startswith("Digest set: every day at 08:00 (Asia/Shanghai)")
    assert f"Next: {(due - dt.timedelta(days=1)).strftime('%Y-%m-%d')} 08:00." in text_of(done)
    status = await bot.private(READER, "/subscriptions")
    assert text_of(status).startswith("This chat gets a digest every day at 08:00")
    shown = await bot.private(READER, "/digest")
    assert text_of(shown).startswith("This chat gets a digest every day at 08:00 (Asia/Shanghai)")

    # A new article: no immediate push to a chat in digest mode.
    mark = bot.telegram.mark()
    assert "Reloaded" in await bot.upload(ROVER, "rover.md")
    await bot.fast_forward(1)
    assert bot.sent_to(READER, mark) == []

    # 08:00 in Shanghai: one digest, through the outbox.
    clock.jump_to(due - dt.timedelta(days=1, seconds=-1))
    await bot.fast_forward(60)
    digest = await bot.telegram.wait_for_async(
        lambda c: c.method == "sendMessage" and c.params["chat_id"] == READER, after=mark
    )
    text = text_of(digest)
    assert text.startswith("Digest: 1 new article")
    assert "Lunar rover program update" in text and "Space Desk" in text
    assert "battery redesign" in text
    [button] = buttons(digest)
    assert button["text"] == "📄 Lunar rover program update"
    await bot.fast_forward(60)  # the job again: still one
    await asyncio.sleep(0.05)
    assert len(bot.sent_to(READER, mark)) == 1

    # Its button sends the full summary.
    pressed = bot.telegram.mark()
    await bot.press(READER, digest.result, button["callback_data"])
    [summary] = bot.sent_to(READER, pressed)
    assert "Battery" in text_of(summary)

    # A day later with nothing new: nothing sent, the next one scheduled.
    quiet = bot.telegram.mark()
    clock.jump_to(due + dt.timedelta(seconds=1))
    await bot.fast_forward(60)
    await asyncio.sleep(0.05)
    assert bot.sent_to(READER, quiet) == []
    found = await digests.digest(READER)
    assert found is not None and found.next_due == (due + dt.timedelta(days=1)).timestamp()

    # /subscribe switches back to each new article; /digest off then has nothing to stop.
    switched = await bot.private(READER, "/subscribe")
    assert text_of(switched).startswith("Switched: each new article will be sent here")
    assert await digests.digest(READER) is None
    status = await bot.private(READER, "/subscriptions")
    assert text_of(status).startswith("This chat gets each new article")
    again = await bot.private(READER, "/digest weekly 周一 08:00")
    assert text_of(again).startswith("Digest set: every Monday at 08:00 (Asia/Shanghai)")
    off = await bot.private(READER, "/digest off")
    assert text_of(off).startswith("Digest stopped")
    status = await bot.private(READER, "/subscriptions")
    assert text_of(status).startswith("This chat is not subscribed.")


async def test_only_a_groups_admins_change_its_digest_and_time_zone(bot: InProcessBot) -> None:
    fake = bot.telegram
    fake.add_user(GROUP_ADMIN, language_code="en", started=False)
    fake.add_user(GROUP_MEMBER, language_code="en", started=False)
    fake.set_member_status(GROUP, GROUP_ADMIN, "administrator")
    refusal = "Only the group's admins can change its digest or time zone."
    refused = await bot.group(GROUP, GROUP_MEMBER, f"/digest@{BOT} daily 08:00")
    assert text_of(refused) == refusal
    refused = await bot.group(GROUP, GROUP_MEMBER, f"/timezone@{BOT} Europe/London")
    assert text_of(refused) == refusal
    digests = bot.app.bot_data.digests
    assert digests is not None and await digests.digest(GROUP) is None
    assert await digests.zone_name(GROUP) == "UTC"
    zone = await bot.group(GROUP, GROUP_ADMIN, f"/timezone@{BOT} Europe/London")
    assert text_of(zone).startswith("Time zone set: Europe/London")
    done = await bot.group(GROUP, GROUP_ADMIN, f"/digest@{BOT} weekly fri 17:30")
    assert text_of(done).startswith("Digest set: every Friday at 17:30 (Europe/London)")
    # Anyone may look.
    shown = await bot.group(GROUP, GROUP_MEMBER, f"/digest@{BOT}")
    assert text_of(shown).startswith("This chat gets a digest every Friday at 17:30")
    refused = await bot.group(GROUP, GROUP_MEMBER, f"/digest@{BOT} off")
    assert text_of(refused) == refusal
    # The group becomes a supergroup: its digest and time zone follow it.
    _, moved = fake.migrate(GROUP)
    supergroup = moved["chat"]["id"]
    await bot.deliver()
    assert await digests.digest(GROUP) is None
    followed = await digests.digest(supergroup)
    assert followed is not None and followed.rule.weekday == 4
    assert await digests.zone_name(supergroup) == "Europe/London"
    outbox = bot.app.bot_data.outbox
    assert outbox is not None and await outbox.subscription(GROUP) is None
    assert await outbox.subscription(supergroup) is not None


async def test_a_bad_time_zone_is_refused_with_a_suggestion(bot: InProcessBot) -> None:
    bot.telegram.add_user(READER, language_code="en")
    bot.telegram.add_user(HANT_READER, language_code="zh-tw")
    bad = await bot.private(READER, "/timezone Asia/Shangai")
    assert text_of(bad).startswith("“Asia/Shangai” is not a time zone I know.")
    assert "Did you mean /timezone Asia/Shanghai?" in text_of(bad)
    shown = await bot.private(READER, "/timezone")
    assert text_of(shown).startswith("This chat's time zone is UTC")
    digests = bot.app.bot_data.digests
    assert digests is not None and await digests.zone_name(READER) == "UTC"
    wrong = await bot.private(READER, "/digest daily 25:00")
    assert text_of(wrong).startswith("“25:00” is not a time")
    assert await digests.digest(READER) is None
    chinese = await bot.private(HANT_READER, "/digest weekly 週五 18:00")
    assert text_of(chinese).startswith("已設定摘要：每週五 18:00（UTC）")


async def test_a_digest_missed_while_the_bot_was_down_is_sent_once(bot: InProcessBot) -> None:
    bot.telegram.add_user(READER, language_code="en")
    clock, _ = faked_clock(bot)
    today = dt.datetime.now(dt.UTC).date()
    clock.jump_to(dt.datetime.combine(today + dt.timedelta(days=1), dt.time(12), dt.UTC))
    await bot.private(READER, "/digest daily 18:00")  # UTC
    await bot.upload(ROVER, "rover.md")
    await bot.stop()
    # Down for three due times; at the start, the missed digest is sent once.
    await bot.launch()
    clock, _ = faked_clock(bot)
    clock.jump_to(dt.datetime.combine(today + dt.timedelta(days=4), dt.time(20), dt.UTC))
    mark = bot.telegram.mark()
    await bot.fast_forward(60)
    digest = await bot.telegram.wait_for_async(
        lambda c: c.method == "sendMessage" and c.params["chat_id"] == READER, after=mark
    )
    assert text_of(digest).startswith("Digest: 1 new article")
    await bot.fast_forward(60)
    await asyncio.sleep(0.05)
    assert len(bot.sent_to(READER, mark)) == 1
