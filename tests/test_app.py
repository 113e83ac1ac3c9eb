"""The Telegram application's own pieces that need no server: token redaction, wiring."""

from __future__ import annotations

import asyncio
import io
import logging

import pytest
from telegram import Update

from bot.app import (
    NOISY_LOGGERS,
    PerChatUpdateProcessor,
    RedactToken,
    build_application,
    protect_token_in_logs,
)
from bot.config import Settings
from tests.fake_telegram import FakeTelegram
from tests.inprocess import InProcessRequest

TOKEN = "123456:AAsecret-token_value"


def capture(token: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactToken(token))
    logger = logging.getLogger(f"test.redact.{id(stream)}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, stream


def test_token_is_redacted_in_messages_arguments_and_tracebacks() -> None:
    logger, stream = capture(TOKEN)
    logger.debug("GET https://api.telegram.org/bot%s/getMe", TOKEN)
    logger.info(f"plain {TOKEN} text")
    try:
        raise RuntimeError(f"connect to /bot{TOKEN}/getUpdates failed")
    except RuntimeError:
        logger.exception("request failed")
    output = stream.getvalue()
    assert TOKEN not in output
    assert output.count("***") == 3
    assert "RuntimeError" in output  # the traceback is still there


def test_empty_token_changes_nothing() -> None:
    logger, stream = capture("")
    logger.info("nothing to hide")
    assert stream.getvalue() == "nothing to hide\n"


def test_protect_caps_http_loggers_and_filters_root_handlers() -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    root.addHandler(handler)
    try:
        protect_token_in_logs(TOKEN)
        protect_token_in_logs(TOKEN)  # idempotent: one filter per handler
        assert [type(f) for f in handler.filters] == [RedactToken]
        for name in NOISY_LOGGERS:
            assert logging.getLogger(name).level == logging.WARNING
    finally:
        root.removeHandler(handler)


def test_build_application_wires_settings_handlers_and_defaults() -> None:
    settings = Settings(telegram_bot_token=TOKEN, telegram_base_url="http://127.0.0.1:9/bot")
    application = build_application(settings)
    assert application.bot_data.settings is settings
    assert application.bot.base_url == f"http://127.0.0.1:9/bot{TOKEN}"
    assert application.bot.defaults.parse_mode == "HTML"
    assert application.bot.defaults.link_preview_options.is_disabled is True
    commands = {
        command
        for group in application.handlers.values()
        for handler in group
        for command in getattr(handler, "commands", ())
    }
    assert {"start", "help", "ask", "summary", "articles", "reload", "stats", "privacy"} <= commands
    assert application.error_handlers


def test_build_application_takes_the_request_layer_it_is_given() -> None:
    settings = Settings(telegram_bot_token=TOKEN)
    request = InProcessRequest(FakeTelegram())
    assert build_application(settings, request=request).bot.request is request


def test_build_application_needs_a_token() -> None:
    with pytest.raises(ValueError, match="TELEGRAM_BOT_TOKEN"):
        build_application(Settings())


def _message_update(update_id: int, chat_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": chat_id, "type": "private"},
                "text": "hi",
            },
        },
        None,
    )


async def test_one_chats_updates_run_in_order_and_other_chats_alongside() -> None:
    processor = PerChatUpdateProcessor(8)
    events: list[str] = []

    async def handle(name: str, delay: float) -> None:
        events.append(f"{name} start")
        await asyncio.sleep(delay)
        events.append(f"{name} end")

    await asyncio.gather(
        processor.process_update(_message_update(1, 10), handle("a1", 0.05)),
        processor.process_update(_message_update(2, 10), handle("a2", 0)),
        processor.process_update(_message_update(3, 20), handle("b1", 0)),
    )
    # a2 waited for a1 (same chat); b1 (another chat) did not.
    assert events.index("a2 start") > events.index("a1 end")
    assert events.index("b1 end") < events.index("a1 end")
    assert not processor._locks and not processor._users  # nothing kept once idle
