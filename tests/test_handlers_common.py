"""handlers/common.py pieces that need a real Bot (against the fake) but no running app."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from telegram import Bot, Update

from bot.config import load_settings
from bot.state import REMEMBERED, BotState, ChatState
from handlers.common import typing_indicator
from tests.fake_telegram import FakeTelegram

# Instead of the default 0.5 s (TYPING_DELAY_SECONDS): the waits below are multiples.
TYPING_DELAY = 0.1


async def test_typing_shows_only_when_the_work_takes_a_while() -> None:
    state = BotState()
    state.settings = load_settings({"TYPING_DELAY_SECONDS": str(TYPING_DELAY)}, env_file=None)
    with FakeTelegram() as fake:
        message = fake.private_message(5, "hello")
        bot = Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        async with bot:
            update = Update.de_json({"update_id": 1, "message": message}, bot)
            context = SimpleNamespace(bot=bot, bot_data=state)
            async with typing_indicator(update, context):
                await asyncio.sleep(TYPING_DELAY / 5)
            await asyncio.sleep(TYPING_DELAY * 1.5)  # a cancelled indicator stays quiet
            assert fake.calls_to("sendChatAction") == []
            async with typing_indicator(update, context):
                await asyncio.sleep(TYPING_DELAY * 2)
            shown = await fake.wait_for_call_async("sendChatAction", 5, chat_id=5)
            assert shown.params["action"] == "typing"


def test_remember_keeps_the_last_entries_only() -> None:
    state = ChatState()
    for key in range(REMEMBERED + 10):
        state.remember_answer(key, key * 10)
    kept = state.answers
    assert len(kept) == REMEMBERED
    assert next(iter(kept)) == 10 and kept[REMEMBERED + 9] == (REMEMBERED + 9) * 10
    state.remember_answer(10, -1)  # re-remembering moves it to the end
    assert list(kept)[-1] == 10 and len(kept) == REMEMBERED
