"""LOG_FORMAT=json (bot/logs.py): one JSON object a line, ids of the update, never the token.

The end-to-end check (a running bot's whole output parses, names updates and hashed
chats, and never holds the token) is in tests/test_operations.py.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot import logs
from bot.app import RedactToken
from bot.config import Settings, configure_logging
from bot.logs import JsonFormatter, in_update, use_chat_refs

TOKEN = "123456:AAH-secret_token"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose one handler writes JSON lines (token redacted as bot/app.py does)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(TOKEN))
    handler.addFilter(RedactToken(TOKEN))
    logger = logging.getLogger("tests.logs.json")
    logger.handlers, logger.propagate, logger.level = [handler], False, logging.DEBUG
    yield logger, stream
    logger.handlers = []
    use_chat_refs(None)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_object_a_line_with_the_fields(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    logger.info("loaded %d articles\nand a second line", 3)
    (line,) = lines(stream)
    assert set(line) == {"time", "level", "logger", "message"}
    assert line["level"] == "INFO"
    assert line["logger"] == "tests.logs.json"
    assert line["message"] == "loaded 3 articles\nand a second line"
    assert line["time"].endswith("Z") and "T" in line["time"]


def test_the_token_never_shows(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.warning("GET https://api.telegram.org/bot%s/getMe failed", TOKEN)
    logger.warning(f"already formatted: bot{TOKEN}/sendMessage")
    try:
        raise RuntimeError(f"https://api.telegram.org/bot{TOKEN}/getUpdates: timed out")
    except RuntimeError:
        logger.exception("polling failed")
    logger.info("a stack", stack_info=True, extra={"note": TOKEN})
    assert TOKEN not in stream.getvalue()
    found = lines(stream)
    assert len(found) == 4
    assert found[0]["message"] == "GET https://api.telegram.org/bot***/getMe failed"
    assert "RuntimeError: https://api.telegram.org/bot***/getUpdates" in found[2]["exception"]
    assert "stack" in found[3]


def test_the_formatter_redacts_even_without_the_filter() -> None:
    formatter = JsonFormatter(TOKEN)
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s", (TOKEN,), None)
    assert TOKEN not in formatter.format(record)
    assert json.loads(formatter.format(record))["message"] == "token ***"


def test_lines_inside_an_update_carry_its_id_and_the_hashed_chat(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    use_chat_refs(lambda chat_id: f"ref-{chat_id}" if chat_id > 0 else str(chat_id))
    with in_update(7001, 1001):
        logger.info("answered")
        logger.debug("handled", extra={"duration_ms": 12.34567})
    with in_update(7002, -100500):
        logger.info("in a group")
    with in_update(7003, None):
        logger.info("an inline query")
    logger.info("outside")
    first, second, group, inline, outside = lines(stream)
    assert (first["update_id"], first["chat"]) == (7001, "ref-1001")
    assert second["duration_ms"] == 12.346
    assert group["chat"] == "-100500"
    assert inline["update_id"] == 7003 and "chat" not in inline
    assert "update_id" not in outside and "chat" not in outside


def test_a_chat_that_cannot_be_named_is_left_out(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured

    def failing(chat_id: int) -> str | None:
        raise AssertionError("the hash key is not loaded yet")

    use_chat_refs(failing)
    with in_update(1, 1001):
        logger.info("still logged")
    use_chat_refs(lambda chat_id: None)  # QUERY_LOG_USERS=off
    with in_update(2, 1001):
        logger.info("no chat either")
    assert [("chat" in line, line["update_id"]) for line in lines(stream)] == [
        (False, 1),
        (False, 2),
    ]


def test_query_log_chat_refs_hash_private_chats_only() -> None:
    class Log:
        def user_ref(self, user_id: int) -> str:
            return f"hash({user_id})"

    refs = logs.query_log_chat_refs(Log())  # type: ignore[arg-type]
    assert refs(1001) == "hash(1001)"
    assert refs(-100500) == "-100500"


def test_configure_logging_switches_the_root_handlers_to_json() -> None:
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    saved = root.handlers[:]
    levels = {name: logging.getLogger(name).level for name in ("bot", "handlers")}
    root.handlers = [handler]
    try:
        configure_logging(Settings(log_format="json", telegram_bot_token=TOKEN))
        assert isinstance(handler.formatter, JsonFormatter)
        logging.getLogger("bot.test").warning("token %s", TOKEN)
    finally:
        root.handlers = saved
        logging.captureWarnings(False)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    assert json.loads(stream.getvalue())["message"] == "token ***"
