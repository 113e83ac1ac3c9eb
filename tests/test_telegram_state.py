"""Chat state across restarts and faults (issue 11).

A restart in process stops the Application as SIGTERM would and builds a new one on the
same folder (the database and the old state file are what a new process finds); the last
scenario runs `python -m bot run` as a subprocess (tests/telegram_harness.py) for what only
real processes show: SIGTERM saves the state, SIGKILL loses only what was not saved yet,
and the next process starts and finds what was saved.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.fake_telegram import FakeTelegram
from tests.inprocess import InProcessBot, StartBot
from tests.telegram_harness import OTHER_READER, READER, RunningBot, text_of
from tests.telegram_html import parse_telegram_html
from tests.test_chat_state import write_legacy_pickle

# Flood limits off: each scenario asks a few questions from one reader in a few seconds.
ENV = {"LOG_LEVEL": "INFO", "QUESTIONS_PER_WINDOW": "1000"}
QUESTION = "Huawei strategy"
EDITED = "Tencent capital expenditure"


async def ask(bot: InProcessBot, reader: int, question: str) -> tuple[dict, int]:
    """The reader's message and the message id of the bot's answer to it."""
    asked = bot.telegram.private_message(reader, question)
    answer = await bot.reply_to(reader)
    assert "Competitive Strategies" in text_of(answer)
    return asked, answer.result["message_id"]


async def edit_is_answered(bot: InProcessBot, reader: int, asked: dict, answer_id: int) -> None:
    """Editing the question edits the earlier answer (the chat state remembered the pair)."""
    bot.telegram.edited_message(asked, EDITED)
    [edited] = [c for c in await bot.deliver() if c.params.get("chat_id") == reader]
    assert edited.method == "editMessageText" and edited.ok  # an edit, no new message
    assert edited.params["message_id"] == answer_id
    assert "Tencent's recent capital expenditures" in parse_telegram_html(edited.params["text"])


async def test_state_survives_a_restart_so_an_edit_updates_the_earlier_answer(
    start_bot: StartBot,
) -> None:
    bot = await start_bot(**ENV)
    asked, answer_id = await ask(bot, READER, QUESTION)
    await bot.restart()
    await edit_is_answered(bot, READER, asked, answer_id)
    await bot.stop()
    with sqlite3.connect(bot.database) as db:
        chats = [row[0] for row in db.execute("SELECT chat_id FROM chat_state")]
    assert chats == [READER]
    assert "Traceback" not in bot.output


async def test_a_truncated_state_file_is_set_aside_and_the_bot_answers(
    start_bot: StartBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "bot"
    legacy = folder / "data" / "bot-state.pickle"
    legacy.parent.mkdir(parents=True)
    await write_legacy_pickle(legacy, {READER: {"answers": {1: 2}, "article_id": "x"}})
    legacy.write_bytes(legacy.read_bytes()[:30])  # killed in the middle of a save
    monkeypatch.chdir(folder)  # PERSISTENCE_PATH as the default is: relative to the bot's folder
    bot = await start_bot(folder, PERSISTENCE_PATH="data/bot-state.pickle", **ENV)
    await ask(bot, READER, QUESTION)
    await bot.stop()
    output = bot.output
    # PERSISTENCE_PATH as configured, and why.
    assert "old state file data/bot-state.pickle is not a readable state file (" in output
    assert "renamed to bot-state.pickle.unreadable; starting without it" in output
    assert "does not contain valid pickle data" not in output
    assert not legacy.exists()
    assert legacy.with_name("bot-state.pickle.unreadable").exists()


async def test_an_old_state_file_is_migrated_once_and_its_answers_still_edit(
    start_bot: StartBot,
) -> None:
    bot = await start_bot(**ENV)
    legacy = bot.folder / "data" / "bot-state.pickle"
    asked, answer_id = await ask(bot, READER, QUESTION)
    await bot.stop()
    # As if that answer had been given by the bot before this change: its state in the
    # pickle PicklePersistence wrote, none in the database.
    with sqlite3.connect(bot.database) as db:
        db.execute("DELETE FROM chat_state")
    state = {
        "article_id": "000_4859508c0bdee28a",
        "answers": {asked["message_id"]: answer_id},
        "questions": {answer_id: (QUESTION, "0123456789ab")},
    }
    await write_legacy_pickle(legacy, {READER: state})
    await bot.launch()
    await edit_is_answered(bot, READER, asked, answer_id)
    await bot.stop()
    output = bot.output  # each start logs afresh, as a new process would
    assert legacy.with_name("bot-state.pickle.migrated").exists() and not legacy.exists()
    await bot.launch()  # the next start reads the database only
    await edit_is_answered(bot, READER, asked, answer_id)
    await bot.stop()
    assert f"1 chats migrated from the old state file {legacy}" in output
    assert "renamed to bot-state.pickle.migrated" in output
    assert "old state file" not in bot.output
    assert "chat state: 1 chats loaded" in bot.output


async def test_a_corrupt_row_is_set_aside_and_other_chats_keep_their_state(
    start_bot: StartBot,
) -> None:
    damaged, kept = READER, OTHER_READER
    bot = await start_bot(**ENV)
    damaged_asked, _ = await ask(bot, damaged, QUESTION)
    kept_asked, kept_answer_id = await ask(bot, kept, QUESTION)
    await bot.stop()
    with sqlite3.connect(bot.database) as db:
        db.execute("UPDATE chat_state SET data = substr(data, 1, 25) WHERE chat_id = ?", (damaged,))
    await bot.launch()
    await edit_is_answered(bot, kept, kept_asked, kept_answer_id)  # this chat's state was kept
    # The damaged chat's state was set aside: an edit finds no answer to update...
    bot.telegram.edited_message(damaged_asked, EDITED)
    await bot.silent_in(damaged)
    # ...and a new question from that reader is answered as usual.
    await ask(bot, damaged, QUESTION)
    await bot.stop()
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


async def test_a_database_that_is_not_one_gives_empty_state_and_the_bot_still_answers(
    start_bot: StartBot, tmp_path: Path
) -> None:
    database = tmp_path / "bot" / "data" / "log.sqlite3"  # InProcessBot's DATABASE_PATH
    database.parent.mkdir(parents=True)
    database.write_bytes(b"not a database, e.g. a backup gone wrong\n" * 100)
    # The query log cannot write there either: at shutdown it retries its rows for
    # SHUTDOWN_DRAIN_SECONDS (5 by default), then drops them.
    bot = await start_bot(**ENV, SHUTDOWN_DRAIN_SECONDS="0.5")
    assert bot.database == database
    asked, answer_id = await ask(bot, READER, QUESTION)
    await edit_is_answered(bot, READER, asked, answer_id)  # the state lives on in memory
    started = time.monotonic()
    await bot.stop()  # the failed save at shutdown is no crash
    assert time.monotonic() - started < 4  # the drain's retries ended after 0.5 s, not 5
    output = bot.output
    assert f"chat state: cannot read {database} (DatabaseError: file is not a database)" in output
    assert "starting with 0 chats' state, saves will keep trying" in output
    assert "chat state: cannot save 1 chats" in output
    assert "rows that could not be written" in output  # the query log's, dropped
    assert "Traceback" not in output


# -- as a subprocess: real signals, real restarts -----------------------------------------


def ask_process(bot: RunningBot, reader: int, question: str) -> tuple[dict, int]:
    """The reader's message and the message id of the bot's answer to it."""
    asked: dict = {}
    answer = bot.reply_to(lambda: asked.update(bot.fake.private_message(reader, question)), reader)
    assert "Competitive Strategies" in text_of(answer)
    return asked, answer.result["message_id"]


def edit_is_answered_by_process(bot: RunningBot, reader: int, asked: dict, answer_id: int) -> None:
    """Editing the question edits the earlier answer (the chat state remembered the pair)."""
    mark = bot.fake.mark()
    bot.fake.edited_message(asked, EDITED)
    edited = bot.fake.wait_for_call("editMessageText", 15, after=mark, chat_id=reader)
    assert edited.params["message_id"] == answer_id
    assert "Tencent's recent capital expenditures" in parse_telegram_html(edited.params["text"])
    # No new message to the reader. (Another chat's may come: a bot killed before it
    # confirmed its last update to Telegram gets that update again, and answers it again.)
    sent = [c for c in bot.fake.calls[mark:] if c.method == "sendMessage"]
    assert not [c for c in sent if c.params.get("chat_id") == reader]


@pytest.mark.slow
def test_a_bot_killed_at_any_moment_starts_again(fake: FakeTelegram, tmp_path: Path) -> None:
    # The old failure: SIGKILL (docker stop after its grace period) during a save left a
    # truncated state file, and the next start exited 1. SQLite's transactions leave the
    # rows as they were before the save, or after it.
    bot = RunningBot(fake, tmp_path, **ENV)
    asked, answer_id = ask_process(bot, READER, QUESTION)
    assert bot.stop(signal.SIGTERM) == 0  # saved
    bot = RunningBot(fake, tmp_path, **ENV)
    ask_process(bot, OTHER_READER, QUESTION)
    assert bot.stop(signal.SIGKILL) == -signal.SIGKILL  # the change since is lost...
    bot = RunningBot(fake, tmp_path, **ENV)
    edit_is_answered_by_process(bot, READER, asked, answer_id)  # ...what was saved is not
    ask_process(bot, OTHER_READER, QUESTION)
    assert bot.stop(signal.SIGTERM) == 0
    assert "chat state: 1 chats loaded" in bot.output
    assert "WARNING bot.chat_state" not in bot.output
