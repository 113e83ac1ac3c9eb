"""Content limits end to end (in process): hostile uploads and a hostile SEEDS_DIR.

An admin who sends a TOML nested 5,000 deep, an alias of 5,000 characters or an article
past the limits gets a refusal with the reason, never the generic apology, and the bot
keeps answering; a deep TOML in SEEDS_DIR at start-up is logged as rejected and skipped,
and the bot starts, answers, and stops cleanly.
"""

from __future__ import annotations

import pytest

from handlers.errors import SORRY
from tests.inprocess import InProcessBot
from tests.telegram_harness import ADMIN, text_of
from tests.test_content_limits import markdown, one_line_megabyte

DEEP_TOML = b'# deep\n[aliases]\n"Alibaba Cloud" = ' + b"[" * 5000 + b"]" * 5000 + b"\n"
LONG_ALIAS = b'[aliases]\n"Alibaba Cloud" = ["Aliyun",\n  "' + b"a" * 5000 + b'"]\n'
QUESTION = "How many customers does Alibaba Cloud serve?"
ANSWER = "serving 4 million customers"
DEPTH_REASON = "nested more than 8 deep (the glossary needs 2)"


pytestmark = pytest.mark.bot(env={"LOG_LEVEL": "INFO"})


async def send(bot: InProcessBot, data: bytes, name: str) -> str:
    """The admin sends `data` as a document; the bot's reply text."""
    file_id = bot.telegram.add_file(data, name)
    bot.telegram.document_message(ADMIN, file_id)
    return text_of(await bot.reply_to(ADMIN))


async def ask(bot: InProcessBot, user_id: int, question: str) -> str:
    return text_of(await bot.private(user_id, question))


def assert_no_generic_apology(bot: InProcessBot) -> None:
    """Every refusal said why: never the error handler's apology, nor a crash in the log."""
    sent = [c.params.get("text", "") for c in bot.telegram.calls_to("sendMessage")]
    assert sent and not any(SORRY in text for text in sent)
    assert "Traceback" not in bot.output
    assert "RecursionError" not in bot.output


async def test_a_toml_nested_5000_deep_is_refused_with_the_reason(bot: InProcessBot) -> None:
    before = (bot.seeds / "aliases.toml").read_bytes()
    reply = await send(bot, DEEP_TOML, "aliases.toml")
    assert reply == f"Refused aliases.toml: {DEPTH_REASON} (line 3)"
    assert (bot.seeds / "aliases.toml").read_bytes() == before
    assert ANSWER in await ask(bot, 5001, QUESTION)
    assert ANSWER in await ask(bot, 5001, "How many customers does Aliyun serve?")  # kept
    assert f"upload by user {ADMIN} refused: Refused aliases.toml: {DEPTH_REASON}" in bot.output
    assert_no_generic_apology(bot)


async def test_an_alias_of_5000_characters_is_refused_with_the_reason(bot: InProcessBot) -> None:
    reply = await send(bot, LONG_ALIAS, "aliases.toml")
    assert reply == (
        f"Refused aliases.toml: '{'a' * 40}'… has 5,000 characters: at most 100 per term or "
        "alias (GLOSSARY_MAX_ALIAS_CHARS) (line 3)"
    )
    assert ANSWER in await ask(bot, 5002, QUESTION)
    assert_no_generic_apology(bot)


async def test_articles_past_the_limits_are_refused_with_the_reason(bot: InProcessBot) -> None:
    huge = one_line_megabyte().encode()
    reply = await send(bot, huge, "huge.txt")
    assert reply == (
        "Refused huge.txt: too many passages: more than 200 (ARTICLE_MAX_PASSAGES; the core "
        "viewpoint counts as one) (line 1)"
    )
    long = await send(bot, markdown(1, "w" * 3000).encode(), "long.md")
    assert long == (
        "Refused long.md: a passage of 3,003 characters in 'Points': at most 2,000 "
        "(ARTICLE_MAX_PASSAGE_CHARS) (line 6)"
    )
    not_utf8 = await send(bot, b"Core Viewpoint - ok.\n\xff\n", "bad.txt")
    assert not_utf8 == "Refused bad.txt: not UTF-8 (byte 0xff); save it as UTF-8 (line 2)"
    assert not (bot.seeds / "huge.txt").exists() and not (bot.seeds / "long.md").exists()
    assert ANSWER in await ask(bot, 5003, QUESTION)
    assert_no_generic_apology(bot)


@pytest.mark.bot(files={"aliases.toml": DEEP_TOML})
async def test_a_deep_toml_in_seeds_dir_is_skipped_and_the_bot_starts(bot: InProcessBot) -> None:
    glossary = bot.seeds / "aliases.toml"
    assert ANSWER in await ask(bot, 5004, QUESTION)
    assert f"rejected {glossary}:3: {DEPTH_REASON}" in bot.output
    assert "loaded 1 articles, 9 passages" in bot.output
    report = text_of(await bot.private(ADMIN, "/reload"))
    assert f"Rejected (1)\n• {glossary}:3: {DEPTH_REASON}" in report
    await bot.stop()  # and it stops cleanly
    assert "Traceback" not in bot.output
