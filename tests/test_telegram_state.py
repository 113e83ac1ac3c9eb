"""End to end: chat state across restarts and faults (issue 11), over HTTP to the fake Bot API.

Each scenario runs `python -m bot run` as a subprocess (see tests/telegram_harness.py),
stops it with SIGTERM and starts it again on the same folder, so the database and the old
state file are exactly what a real restart finds.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

from tests.fake_telegram import FakeTelegram
from tests.telegram_harness import BOT, OTHER_READER, READER, RunningBot, text_of
from tests.telegram_html import parse_telegram_html
from tests.test_chat_state import write_legacy_pickle

# Flood limits off: each scenario asks a few questions from one reader in a few seconds.
ENV = {"LOG_LEVEL": "INFO", "QUESTIONS_PER_WINDOW": "1000"}
QUESTION = "Huawei strategy"
EDITED = "Tencent capital expenditure"


def ask(bot: RunningBot, reader: int, question: str) -> tuple[dict, int]:
    """The reader's message and the message id of the bot's answer to it."""
    asked: dict = {}
    answer = bot.reply_to(lambda: asked.update(bot.fake.private_message(reader, question)), reader)
    assert "Competitive Strategies" in text_of(answer)
    return asked, answer.result["message_id"]


def edit_is_answered(bot: RunningBot, reader: int, asked: dict, answer_id: int) -> None:
    """Editing the question edits the earlier answer (the chat state remembered the pair)."""
    mark = bot.fake.mark()
    bot.fake.edited_message(asked, EDITED)
    edited = bot.fake.wait_for_call("editMessageText", 15, after=mark, chat_id=reader)
    assert edited.params["message_id"] == answer_id
    assert "Tencent's recent capital expenditures" in parse_telegram_html(edited.params["text"])
    assert not [c for c in bot.fake.calls[mark:] if c.method == "sendMessage"]


def restart(bot: RunningBot, fake: FakeTelegram) -> RunningBot:
    """SIGTERM (a clean exit), then a new process on the same folder."""
    assert bot.stop(signal.SIGTERM) == 0
    return RunningBot(fake, bot.folder, **ENV)


def test_a_truncated_state_file_is_set_aside_and_the_bot_answers(tmp_path: Path) -> None:
    legacy = tmp_path / "data" / "bot-state.pickle"  # PERSISTENCE_PATH's default, from cwd
    legacy.parent.mkdir(parents=True)
    asyncio.run(write_legacy_pickle(legacy, {READER: {"answers": {1: 2}, "article_id": "x"}}))
    legacy.write_bytes(legacy.read_bytes()[:30])  # killed in the middle of a save
    with FakeTelegram(username=BOT) as fake:
        bot = RunningBot(fake, tmp_path, **ENV)  # returns once it polls: it started
        ask(bot, READER, QUESTION)
        assert bot.stop(signal.SIGTERM) == 0
    output = bot.output
    # PERSISTENCE_PATH as configured (relative to the bot's folder), and why.
    assert "old state file data/bot-state.pickle is not a readable state file (" in output
    assert "renamed to bot-state.pickle.unreadable; starting without it" in output
    assert "does not contain valid pickle data" not in output
    assert not legacy.exists()
    assert legacy.with_name("bot-state.pickle.unreadable").exists()


def test_an_old_state_file_is_migrated_once_and_its_answers_still_edit(tmp_path: Path) -> None:
    legacy = tmp_path / "data" / "bot-state.pickle"
    with FakeTelegram(username=BOT) as fake:
        bot = RunningBot(fake, tmp_path, **ENV)
        asked, answer_id = ask(bot, READER, QUESTION)
        assert bot.stop(signal.SIGTERM) == 0
        # As if that answer had been given by the bot before this change: its state in the
        # pickle PicklePersistence wrote, none in the database.
        with sqlite3.connect(bot.database) as db:
            db.execute("DELETE FROM chat_state")
        state = {
            "article_id": "000_4859508c0bdee28a",
            "answers": {asked["message_id"]: answer_id},
            "questions": {answer_id: (QUESTION, "0123456789ab")},
        }
        asyncio.run(write_legacy_pickle(legacy, {READER: state}))
        bot = RunningBot(fake, tmp_path, **ENV)
        edit_is_answered(bot, READER, asked, answer_id)
        assert bot.stop(signal.SIGTERM) == 0
        output = bot.output  # each start rewrites bot.log
        assert legacy.with_name("bot-state.pickle.migrated").exists() and not legacy.exists()
        bot = RunningBot(fake, tmp_path, **ENV)  # the next start reads the database only
        edit_is_answered(bot, READER, asked, answer_id)
        assert bot.stop(signal.SIGTERM) == 0
    assert "1 chats migrated from the old state file data/bot-state.pickle" in output
    assert "renamed to bot-state.pickle.migrated" in output
    assert "old state file" not in bot.output
    assert "chat state: 1 chats loaded" in bot.output


def test_state_survives_a_restart_so_an_edit_updates_the_earlier_answer(tmp_path: Path) -> None:
    with FakeTelegram(username=BOT) as fake:
        bot = RunningBot(fake, tmp_path, **ENV)
        asked, answer_id = ask(bot, READER, QUESTION)
        bot = restart(bot, fake)
        edit_is_answered(bot, READER, asked, answer_id)
        assert bot.stop(signal.SIGTERM) == 0
    with sqlite3.connect(bot.database) as db:
        chats = [row[0] for row in db.execute("SELECT chat_id FROM chat_state")]
    assert chats == [READER]
    assert "Traceback" not in bot.output


def test_a_bot_killed_at_any_moment_starts_again(tmp_path: Path) -> None:
    # The old failure: SIGKILL (docker stop after its grace period) during a save left a
    # truncated state file, and the next start exited 1. SQLite's transactions leave the
    # rows as they were before the save, or after it.
    with FakeTelegram(username=BOT) as fake:
        bot = RunningBot(fake, tmp_path, **ENV)
        asked, answer_id = ask(bot, READER, QUESTION)
        assert bot.stop(signal.SIGTERM) == 0  # saved
        bot = RunningBot(fake, tmp_path, **ENV)
        ask(bot, OTHER_READER, QUESTION)
        assert bot.stop(signal.SIGKILL) == -signal.SIGKILL  # the change since is lost...
        bot = RunningBot(fake, tmp_path, **ENV)
        edit_is_answered(bot, READER, asked, answer_id)  # ...what was saved is not
        ask(bot, OTHER_READER, QUESTION)
        assert bot.stop(signal.SIGTERM) == 0
    assert "chat state: 1 chats loaded" in bot.output
    assert "WARNING bot.chat_state" not in bot.output


def test_a_corrupt_row_is_set_aside_and_other_chats_keep_their_state(tmp_path: Path) -> None:
    damaged, kept = READER, OTHER_READER
    with FakeTelegram(username=BOT) as fake:
        bot = RunningBot(fake, tmp_path, **ENV)
        damaged_asked, _ = ask(bot, damaged, QUESTION)
        kept_asked, kept_answer_id = ask(bot, kept, QUESTION)
        assert bot.stop(signal.SIGTERM) == 0
        with sqlite3.connect(bot.database) as db:
            db.execute(
                "UPDATE chat_state SET data = substr(data, 1, 25) WHERE chat_id = ?", (damaged,)
            )
        bot = RunningBot(fake, tmp_path, **ENV)
        edit_is_answered(bot, kept, kept_asked, kept_answer_id)  # this chat's state was kept
        # The damaged chat's state was set aside: an edit finds no answer to update...
        bot.silent_after(lambda: fake.edited_message(damaged_asked, EDITED), damaged)
        # ...and a new question from that reader is answered as usual.
        ask(bot, damaged, QUESTION)
        assert bot.stop(signal.SIGTERM) == 0
    output = bot.output
    assert f"the row of chat {damaged} cannot be read (not JSON: " in output
    assert "moved to chat_state_rejected; that chat starts afresh" in output
    assert f"the row of chat {kept} cannot be read" not in output
    with sqlite3.connect(bot.database) as db:
        rejected = db.execute("SELECT chat_id, reason FROM chat_state_rejected").fetchall()
        chats = sorted(row[0] for row in db.execute("SELECT chat_id FROM chat_state"))
    assert [r[0] for r in rejected] == [damaged]
    assert rejected[0][1].startswith("not JSON")
    assert chats == sorted([damaged, kept])  # the damaged chat's new state, saved at shutdown


def test_a_database_that_is_not_one_gives_empty_state_and_the_bot_still_answers(
    tmp_path: Path,
) -> None:
    database = tmp_path / "data" / "log.sqlite3"  # RunningBot's DATABASE_PATH
    database.parent.mkdir(parents=True)
    database.write_bytes(b"not a database, e.g. a backup gone wrong\n" * 100)
    with FakeTelegram(username=BOT) as fake:
        bot = RunningBot(fake, tmp_path, **ENV)
        asked, answer_id = ask(bot, READER, QUESTION)
        edit_is_answered(bot, READER, asked, answer_id)  # the state lives on in memory
        assert bot.stop(signal.SIGTERM) == 0  # the failed save at shutdown is no crash
    output = bot.output
    assert f"chat state: cannot read {database} (DatabaseError: file is not a database)" in output
    assert "starting with 0 chats' state, saves will keep trying" in output
    assert "chat state: cannot save 1 chats" in output
    assert "Traceback" not in output
