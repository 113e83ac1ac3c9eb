"""The in-process harness itself (tests/inprocess.py), only as far as the other tests lean on
it: a request answered in process gets what the same request over HTTP gets (so the fake's
own tests, over HTTP, vouch for both), files go up and down, `deliver` hands over only what
Telegram would and returns once it is handled, and `fast_forward` runs only what is due
(event-loop timers and jobs)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import TelegramError
from telegram.ext import ContextTypes
from telegram.request import HTTPXRequest

from tests.fake_telegram import FakeTelegram
from tests.inprocess import InProcessBot, InProcessRequest
from tests.telegram_harness import GROUP, READER

Send = Callable[[Bot], Awaitable[Message]]


def keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data=data)]])


REQUESTS: dict[str, Send] = {
    "valid HTML": lambda bot: bot.send_message(READER, "<b>4</b> &amp; 2", parse_mode="HTML"),
    "4,097 characters": lambda bot: bot.send_message(READER, "x" * 4097),
    "a bare &": lambda bot: bot.send_message(READER, "fish & chips", parse_mode="HTML"),
    "65-byte callback data": lambda bot: bot.send_message(
        READER, "pick", reply_markup=keyboard("a" * 65)
    ),
    "an unknown chat": lambda bot: bot.send_message(999, "x"),
    "a reply to a missing message": lambda bot: bot.send_message(
        READER, "x", reply_to_message_id=999
    ),
}


async def outcome(telegram: FakeTelegram, bot: Bot, send: Send) -> tuple[Any, ...]:
    """What the bot got (its message's text, or PTB's exception) and what the fake recorded."""
    async with bot:
        try:
            got: object = (await send(bot)).text
        except TelegramError as error:
            got = (type(error), error.message)
    call = telegram.calls[-1]
    return got, call.method, call.params, call.status, call.description


@pytest.mark.parametrize("send", REQUESTS.values(), ids=REQUESTS.keys())
async def test_a_request_in_process_gets_what_it_gets_over_http(send: Send) -> None:
    outcomes = []
    for in_process in (False, True):
        with FakeTelegram() as telegram:
            telegram.private_message(READER, "hi")
            if in_process:
                request = InProcessRequest(telegram)
                bot = Bot(telegram.token, request=request, get_updates_request=request)
            else:
                http = HTTPXRequest(httpx_kwargs={"verify": False})
                bot = Bot(telegram.token, base_url=telegram.base_url, request=http)
            outcomes.append(await outcome(telegram, bot, send))
    assert outcomes[0] == outcomes[1]


async def test_files_go_up_and_down_in_process() -> None:
    telegram = FakeTelegram()  # never started: nothing listens
    telegram.private_message(READER, "hi")
    request = InProcessRequest(telegram)
    async with Bot(telegram.token, request=request, get_updates_request=request) as bot:
        sent = await bot.send_document(READER, b"# Notes\n", filename="notes.md")
        assert telegram.calls_to("sendDocument")[-1].files["document"].data == b"# Notes\n"
        assert sent.document is not None
        file = await bot.get_file(sent.document.file_id)
        assert bytes(await file.download_as_bytearray()) == b"# Notes\n"
    assert telegram.downloads == [telegram.file(sent.document.file_id).file_path]


async def test_deliver_hands_over_what_telegram_would_and_returns_once_handled(
    bot: InProcessBot,
) -> None:
    bot.telegram.group_message(GROUP, READER, "chatter")  # privacy mode: never delivered
    bot.telegram.private_message(READER, "/help")
    bot.telegram.private_message(READER, "/privacy")
    calls = await bot.deliver()
    assert [c.method for c in calls] == ["sendMessage", "sendMessage"]  # both handled
    assert bot.telegram.pending_updates == []  # confirmed
    assert await bot.deliver() == []


async def test_fast_forward_runs_what_is_due_within_the_time_only(bot: InProcessBot) -> None:
    ran: list[str] = []

    async def job(context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.job is not None
        ran.append(context.job.name or "")

    loop = asyncio.get_running_loop()
    loop.call_later(3, ran.append, "timer soon")
    loop.call_later(3600, ran.append, "timer later")
    job_queue = bot.app.job_queue
    assert job_queue is not None
    job_queue.run_once(job, 3, name="job soon")
    job_queue.run_once(job, dt.timedelta(hours=1), name="job later")
    await bot.fast_forward(10)
    assert sorted(ran) == ["job soon", "timer soon"]
    await bot.fast_forward(10)  # what ran, ran once
    assert sorted(ran) == ["job soon", "timer soon"]
    assert [j.name for j in job_queue.get_jobs_by_name("job later")] == ["job later"]
