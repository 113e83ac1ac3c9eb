"""Admins see the subscriptions: /stats through the real bot in process, `python -m bot
stats --json` reading the database read-only (bot/subscription_stats.py), and the
outbox's figures in /metrics."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.follows import Follows
from bot.outbox import Item, Outbox, Outcome, Queued, Result
from bot.watches import Watches
from tests.conftest import ROVER, MainRunner
from tests.inprocess import InProcessBot, StartBot
from tests.telegram_harness import ADMIN, free_port, text_of

pytestmark = pytest.mark.bot(env={"QUESTIONS_PER_WINDOW": "1000"})

READER, BLOCKED = 6301, 6302


def get(port: int, path: str) -> tuple[int, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.status, response.read().decode()


async def pushed(bot: InProcessBot, sent: int, suspended: int = 0) -> float:
    """Wait until the outbox has sent `sent` items and suspended `suspended` chats; when
    the last push was sent."""
    outbox = bot.app.bot_data.outbox
    assert outbox is not None
    deadline = time.monotonic() + 10
    while True:  # the sender records Telegram's answer a moment after it
        figures = await outbox.figures()
        if (figures.sent, figures.suspended) == (sent, suspended) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.02)
    assert (figures.sent, figures.suspended) == (sent, suspended)
    assert figures.last_push is not None
    return figures.last_push


def minute(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


async def test_stats_show_subscribers_suspended_chats_and_the_last_push(
    bot: InProcessBot,
) -> None:
    fake = bot.telegram
    fake.add_user(READER, language_code="en")
    fake.add_user(BLOCKED, language_code="en")
    await bot.private(READER, "/subscribe")
    await bot.private(BLOCKED, "/subscribe")
    before = text_of(await bot.private(ADMIN, "/stats"))
    assert "Subscriptions: 2 chats (0 paused); pushes waiting: 0" in before
    assert "No push sent yet." in before
    assert "Paused chats" not in before

    fake.block_user(BLOCKED)
    await bot.deliver()
    assert "Reloaded" in await bot.upload(ROVER, "rover.md")
    last_push = await pushed(bot, sent=1, suspended=1)
    stats = text_of(await bot.private(ADMIN, "/stats"))
    assert "Subscriptions: 1 chats (1 paused); pushes waiting: 1" in stats
    assert f"Last push sent: {minute(last_push)} UTC" in stats
    # The bot's admins are told which chat Telegram refused, and why.
    assert "Paused chats (Telegram refused them; /subscribe there resumes):" in stats
    assert f"{BLOCKED} · " in stats and "bot was blocked by the user" in stats

    # The last push is the database's: it survives a restart.
    await bot.restart()
    again = text_of(await bot.private(ADMIN, "/stats"))
    assert f"Last push sent: {minute(last_push)} UTC" in again

    fake.add_user(ADMIN, language_code="zh-hant")
    chinese = text_of(await bot.private(ADMIN, "/stats"))
    assert f"最近一次推送：{minute(last_push)} UTC" in chinese


async def test_stats_go_out_when_the_outbox_cannot_be_read(bot: InProcessBot) -> None:
    outbox = bot.app.bot_data.outbox
    assert outbox is not None

    async def broken() -> None:
        raise sqlite3.OperationalError("disk I/O error")

    outbox.figures = broken  # type: ignore[method-assign,assignment]
    stats = text_of(await bot.private(ADMIN, "/stats"))
    assert "question" in stats and "Subscriptions" not in stats
    assert "the outbox's figures could not be read" in bot.output


async def test_metrics_show_the_outbox(start_bot: StartBot) -> None:
    port = free_port()
    bot = await start_bot(HEALTH_PORT=str(port), QUESTIONS_PER_WINDOW="1000")
    bot.telegram.add_user(READER, language_code="en")
    await bot.private(READER, "/subscribe")
    assert "Reloaded" in await bot.upload(ROVER, "rover.md")
    last_push = await pushed(bot, sent=1)
    # The scrape is served by this event loop: the request waits in a thread.
    status, body = await asyncio.to_thread(get, port, "/metrics")
    assert status == 200
    assert "digest_bot_subscribers 1.0" in body
    assert "digest_bot_subscriptions_suspended 0.0" in body
    assert 'digest_bot_outbox_items{state="sent"} 1.0' in body
    assert 'digest_bot_outbox_items{state="pending"} 0.0' in body
    assert 'digest_bot_outbox_pushes_total{result="sent"} 1.0' in body
    assert 'digest_bot_outbox_pushes_total{result="retry"} 0.0' in body
    [line] = [x for x in body.splitlines() if x.startswith("digest_bot_outbox_last_push_")]
    assert float(line.split()[1]) == pytest.approx(last_push)


async def outbox_with_a_push_and_a_suspended_chat(database: Path) -> float:
    """The outbox's tables as the running bot leaves them: chat 1 subscribed and sent one
    push, chat 2 suspended with its push paused, chat 3 waiting; the push's time."""
    now = [time.time()]
    outbox = await Outbox.open(database, clock=lambda: now[0])
    try:
        for chat in (1, 2, 3):
            await outbox.subscribe(chat, None)
        await outbox.enqueue(Item(chat, "article:x", "news") for chat in (1, 2, 3))

        async def transport(item: Queued) -> Outcome:
            if item.chat_id == 2:
                return Outcome(Result.BLOCKED, reason="Forbidden: bot was kicked")
            return Outcome(Result.SENT, message_id=7)

        for _ in range(2):  # chat 1 sent, chat 2 suspended; chat 3 left waiting
            item, _due = await outbox.next_due()
            assert item is not None
            await outbox._send(item, transport)
            now[0] += 1.0  # past the overall pacing
        follows = await Follows.open(outbox)
        for topic in ("Alibaba", "lunar rover"):
            await follows.follow(1, topic, None)
        watches = await Watches.open(outbox)
        await watches.request(3, "How long does the rover battery last?", None)
        figures = await outbox.figures()
    finally:
        await outbox.close()
    assert figures.last_push is not None
    return figures.last_push


def test_stats_json_carries_the_subscriptions(run_main: MainRunner, tmp_path: Path) -> None:
    database = tmp_path / "log.sqlite3"
    empty = run_main("stats", "--json", cwd=tmp_path, DATABASE_PATH=str(database))
    assert empty.returncode == 0, empty.stderr
    assert json.loads(empty.stdout)["subscriptions"] == {
        "subscribers": 0, "suspended": 0, "pending": 0, "paused": 0, "sent": 0,
        "unknown": 0, "failed": 0, "last_push": None, "suspended_chats": [],
        "digests": {"chats": 0, "daily": 0, "weekly": 0},
        "follows": {"topics": 0, "chats": 0}, "open_requests": 0,
    }  # fmt: skip

    last_push = asyncio.run(outbox_with_a_push_and_a_suspended_chat(database))
    with sqlite3.connect(database) as db:
        before = db.execute("SELECT id, state FROM outbox ORDER BY id").fetchall()
    ran = run_main("stats", "--json", cwd=tmp_path, DATABASE_PATH=str(database))
    assert ran.returncode == 0, ran.stderr
    figures = json.loads(ran.stdout)["subscriptions"]
    since = figures["suspended_chats"][0].pop("since")
    assert figures == {
        "subscribers": 2, "suspended": 1, "pending": 1, "paused": 1, "sent": 1,
        "unknown": 0, "failed": 0,
        "last_push": datetime.fromtimestamp(last_push, UTC).isoformat(timespec="seconds"),
        "suspended_chats": [{"chat_id": 2, "reason": "Forbidden: bot was kicked"}],
        "digests": {"chats": 0, "daily": 0, "weekly": 0},
        "follows": {"topics": 2, "chats": 1}, "open_requests": 1,
    }  # fmt: skip
    assert since.endswith("+00:00")
    # Read only: no sender ran, nothing was sent or marked.
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT id, state FROM outbox ORDER BY id").fetchall() == before
    text = run_main("stats", cwd=tmp_path, DATABASE_PATH=str(database))
    assert "Subscriptions: 2 chats (1 paused); pushes waiting: 2" in text.stdout
    assert f"Last push sent: {minute(last_push)} UTC" in text.stdout
    assert "follows: 2 topics in 1 chats; answer requests waiting: 1" in text.stdout
