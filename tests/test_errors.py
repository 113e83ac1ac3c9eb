"""handlers/errors.py with the real Bot against the fake: when a reader is told, when not."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import CallbackContext

from bot.app import build_application
from bot.config import Settings
from handlers.errors import SORRY, on_error
from tests.conftest import SEEDS
from tests.fake_telegram import FakeTelegram


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # RetryAfter(30)
async def test_only_a_real_failure_gets_an_apology(tmp_path: Path) -> None:
    with FakeTelegram() as fake:
        settings = Settings(
            telegram_bot_token=fake.token,
            telegram_base_url=fake.base_url,
            telegram_base_file_url=fake.base_file_url,
            seeds_dir=SEEDS,
            database_path=tmp_path / "log.sqlite3",
            persistence_path=tmp_path / "state.pickle",
        )
        application = build_application(settings)
        async with application.bot:
            message = fake.private_message(5, "Huawei strategy")
            update = Update.de_json({"update_id": 1, "message": message}, application.bot)
            # The answer may have arrived (a timeout), the network is down, or a flood
            # outlasted the give-up: an apology would be wrong, or would only flood more.
            for error in (TimedOut(), NetworkError("connection reset"), RetryAfter(30)):
                await on_error(update, CallbackContext.from_error(update, error, application))
            assert fake.calls_to("sendMessage") == []
            failure = BadRequest("Bad Request: something unexpected")
            await on_error(update, CallbackContext.from_error(update, failure, application))
            (sorry,) = fake.calls_to("sendMessage")
            assert sorry.params["text"] == SORRY and sorry.params["chat_id"] == 5
