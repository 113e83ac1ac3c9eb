"""Content limits end to end: hostile uploads and a hostile SEEDS_DIR against `python -m bot run`.

An admin who sends a TOML nested 5,000 deep, an alias of 5,000 characters or an article
past the limits gets a refusal with the reason, never the generic apology, and the bot
keeps answering; a deep TOML in SEEDS_DIR at start-up is logged as rejected and skipped,
and the bot starts, answers, and exits 0.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers.errors import SORRY
from tests.conftest import SEEDS
from tests.fake_telegram import FakeTelegram
from tests.telegram_harness import ADMIN, BOT, RunningBot, text_of
from tests.test_content_limits import markdown, one_line_megabyte

DEEP_TOML = b'# deep\n[aliases]\n"Alibaba Cloud" = ' + b"[" * 5000 + b"]" * 5000 + b"\n"
LONG_ALIAS = b'[aliases]\n"Alibaba Cloud" = ["Aliyun",\n  "' + b"a" * 5000 + b'"]\n'
QUESTION = "How many customers does Alibaba Cloud serve?"
ANSWER = "serving 4 million customers"
DEPTH_REASON = "nested more than 8 deep (the glossary needs 2)"


@pytest.fixture(scope="module")
def bot(fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    running = RunningBot(fake, tmp_path_factory.mktemp("limits"), LOG_LEVEL="INFO")
    yield running
    assert running.stop() == 0


def send(bot: RunningBot, data: bytes, name: str) -> str:
    """The admin sends `data` as a document; the bot's reply text."""
    file_id = bot.fake.add_file(data, name)
    return text_of(bot.reply_to(lambda: bot.fake.document_message(ADMIN, file_id), ADMIN))


def ask(bot: RunningBot, user_id: int, question: str) -> str:
    return text_of(bot.reply_to(lambda: bot.fake.private_message(user_id, question), user_id))


def test_a_toml_nested_5000_deep_is_refused_with_the_reason(bot: RunningBot) -> None:
    before = (bot.seeds / "aliases.toml").read_bytes()
    reply = send(bot, DEEP_TOML, "aliases.toml")
    assert reply == f"Refused aliases.toml: {DEPTH_REASON} (line 3)"
    assert (bot.seeds / "aliases.toml").read_bytes() == before
    assert ANSWER in ask(bot, 5001, QUESTION)
    assert ANSWER in ask(bot, 5001, "How many customers does Aliyun serve?")  # the glossary kept
    assert f"upload by user {ADMIN} refused: Refused aliases.toml: {DEPTH_REASON}" in bot.output


def test_an_alias_of_5000_characters_is_refused_with_the_reason(bot: RunningBot) -> None:
    reply = send(bot, LONG_ALIAS, "aliases.toml")
    assert reply == (
        f"Refused aliases.toml: '{'a' * 40}'… has 5,000 characters: at most 100 per term or "
        "alias (GLOSSARY_MAX_ALIAS_CHARS) (line 3)"
    )
    assert ANSWER in ask(bot, 5002, QUESTION)


def test_articles_past_the_limits_are_refused_with_the_reason(bot: RunningBot) -> None:
    huge = one_line_megabyte().encode()
    reply = send(bot, huge, "huge.txt")
    assert reply == (
        "Refused huge.txt: too many passages: more than 200 (ARTICLE_MAX_PASSAGES; the core "
        "viewpoint counts as one) (line 1)"
    )
    long = send(bot, markdown(1, "w" * 3000).encode(), "long.md")
    assert long == (
        "Refused long.md: a passage of 3,003 characters in 'Points': at most 2,000 "
        "(ARTICLE_MAX_PASSAGE_CHARS) (line 6)"
    )
    not_utf8 = send(bot, b"Core Viewpoint - ok.\n\xff\n", "bad.txt")
    assert not_utf8 == "Refused bad.txt: not UTF-8 (byte 0xff); save it as UTF-8 (line 2)"
    assert not (bot.seeds / "huge.txt").exists() and not (bot.seeds / "long.md").exists()
    assert ANSWER in ask(bot, 5003, QUESTION)


def test_no_refusal_was_the_generic_apology(bot: RunningBot) -> None:
    sent = [c.params.get("text", "") for c in bot.fake.calls if c.method == "sendMessage"]
    assert sent and not any(SORRY in text for text in sent)
    assert "Traceback" not in bot.output
    assert "RecursionError" not in bot.output


def test_a_deep_toml_in_seeds_dir_is_skipped_and_the_bot_starts(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "seeds")
    glossary = tmp_path / "seeds" / "aliases.toml"
    glossary.write_bytes(DEEP_TOML)
    # A fake of its own: the module's bot polls the shared one.
    with FakeTelegram(username=BOT) as fake:
        running = RunningBot(fake, tmp_path, LOG_LEVEL="INFO")
        try:
            assert ANSWER in ask(running, 5004, QUESTION)
            assert f"rejected {glossary}:3: {DEPTH_REASON}" in running.output
            assert "loaded 1 articles, 9 passages" in running.output
            report = text_of(
                running.reply_to(lambda: fake.private_message(ADMIN, "/reload"), ADMIN)
            )
            assert f"Rejected (1)\n• {glossary}:3: {DEPTH_REASON}" in report
        finally:
            code = running.stop()
    assert code == 0
    assert "Traceback" not in running.output
