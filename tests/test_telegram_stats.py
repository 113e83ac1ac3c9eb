"""End to end: what the bot logs as each kind of row, and /stats as an admin's phone shows it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answers import Outcome
from bot.library import Library
from bot.parsing import load_folder
from tests.conftest import SEEDS
from tests.fake_telegram import Call, FakeTelegram
from tests.telegram_harness import ADMIN, RunningBot, text_of

WAIT = 15.0  # seconds: an upper bound for a reply, never a measured duration


@pytest.fixture(scope="module")
def bot(fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    running = RunningBot(fake, tmp_path_factory.mktemp("stats"))
    yield running
    running.stop()


def suggested_question() -> str:
    """A question the matcher answers with suggestions (checked, not assumed)."""
    library = Library(load_folder(SEEDS).articles)
    for question in ("Did DeepSeek prove the Scaling Law wrong?", "scaling law deepseek"):
        if library.ask(question).outcome is Outcome.SUGGESTED:
            return question
    pytest.fail("no suggested question: update this test's candidates")


def buttons(call: Call) -> list[dict]:
    markup = call.params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def kinds(database: Path, expect: int) -> list[tuple[str, str, str]]:
    """(via, question, kind) of every row, once the writer has written `expect` of them."""
    deadline = time.monotonic() + WAIT
    while True:
        found = []
        if database.exists():
            with sqlite3.connect(database) as db:
                found = db.execute("SELECT via, question, kind FROM queries ORDER BY ts").fetchall()
        if len(found) >= expect or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_questions_summaries_and_picks_are_logged_apart(bot: RunningBot) -> None:
    fake = bot.fake
    suggested = suggested_question()
    call = bot.reply_to(lambda: fake.private_message(ADMIN, suggested), ADMIN)
    mark = fake.mark()
    fake.callback_query(ADMIN, call.result, buttons(call)[0]["callback_data"])
    fake.wait_for_call("editMessageText", WAIT, after=mark, chat_id=ADMIN)
    bot.reply_to(lambda: fake.private_message(ADMIN, "/summary 1"), ADMIN)
    bot.reply_to(lambda: fake.private_message(ADMIN, "Huawei strategy"), ADMIN)
    assert sorted(kinds(bot.database, expect=4)) == sorted(
        [
            ("private", suggested, "question"),
            ("callback", suggested, "pick"),
            ("private", "/summary 1", "summary"),
            ("private", "Huawei strategy", "question"),
        ]
    )

    mark = fake.mark()
    fake.private_message(ADMIN, "/stats 7")
    text = text_of(fake.wait_for_call("sendMessage", WAIT, after=mark, chat_id=ADMIN))
    assert "2 questions" in text and "1 summary" in text and "1 pick" in text
    # Passages by the article's headline and their section, not by id.
    assert "Competitive Strategies" in text and "#" not in text
