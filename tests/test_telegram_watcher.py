"""Content dropped into SEEDS_DIR without a restart (bot/watcher.py, handlers/watcher.py):
the glue in process (the folder change handled directly, no timer), and the whole path —
watchfiles, the debounce, the reload, the push and the admins' report — once in a real
`python -m bot run` process."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from handlers.watcher import on_folder_change
from tests.conftest import BROKEN, ROVER
from tests.fake_telegram import Call, FakeTelegram
from tests.inprocess import InProcessBot, query_log_rows
from tests.telegram_harness import ADMIN, READER, RunningBot, text_of

# The bot's own watcher is off here: each test hands the change to the glue itself.
pytestmark = pytest.mark.bot(env={"SEEDS_WATCH": "off", "QUESTIONS_PER_WINDOW": "1000"})


NOTHING_CHANGED = "changed on disk, not in content; nothing to reload"


def sent_to(calls: list[Call], chat_id: int) -> list[Call]:
    return [
        c for c in calls if c.method == "sendMessage" and c.ok and c.params["chat_id"] == chat_id
    ]


async def test_a_dropped_file_is_served_pushed_once_and_reported_to_the_admin(
    bot: InProcessBot,
) -> None:
    fake = bot.telegram
    fake.add_user(ADMIN, language_code="en")
    fake.add_user(READER, language_code="en")
    await bot.private(READER, "/subscribe")
    mark = fake.mark()
    (bot.seeds / "rover.md").write_bytes(ROVER)
    (bot.seeds / "broken.md").write_bytes(BROKEN)
    (bot.seeds / ".rover.md.swp").write_bytes(b"an editor's swap file")
    await on_folder_change(bot.app)
    [report] = sent_to(fake.calls[mark:], ADMIN)
    text = text_of(report)
    assert text.startswith("The content folder changed: broken.md, rover.md")
    assert "broken.md:7: section 'Outlook' has no bullets" in text
    assert "Reloaded: 2 articles" in text
    push = await fake.wait_for_async(
        lambda c: c.method == "sendMessage" and c.params["chat_id"] == READER, after=mark
    )
    assert "Lunar rover program update" in text_of(push)
    answer = await bot.private(READER, "What does the rover carry to map water ice?")
    assert "ground-penetrating radar" in text_of(answer)
    # Logged as a reload nobody asked for (no admin id).
    rows = await query_log_rows(bot.database, "SELECT admin_id, articles FROM reloads")
    assert rows == [(None, 2)]
    # Touched, or written again with the same bytes: nothing to reload, nobody told.
    again = fake.mark()
    os.utime(bot.seeds / "rover.md")
    (bot.seeds / "broken.md").write_bytes(BROKEN)
    await on_folder_change(bot.app)
    await bot.fast_forward(2)
    assert sent_to(fake.calls[again:], ADMIN) == []
    assert sent_to(fake.calls[again:], READER) == []
    # A file that breaks keeps its last good version, and the admin hears why.
    (bot.seeds / "rover.md").write_bytes(ROVER.replace(b"[4].", b"[4].\n\n## Empty\n"))
    await on_folder_change(bot.app)
    [kept] = sent_to(fake.calls[again:], ADMIN)
    assert "rover.md:13: section 'Empty' has no bullets" in text_of(kept)
    assert "kept its last good version" in text_of(kept)
    # A removed file is no longer served.
    gone = fake.mark()
    (bot.seeds / "rover.md").unlink()
    await on_folder_change(bot.app)
    [removed] = sent_to(fake.calls[gone:], ADMIN)
    assert text_of(removed).startswith("The content folder changed: rover.md")
    assert "Reloaded: 1 article," in text_of(removed)
    assert bot.app.bot_data.library.article("rover") is None


async def test_an_upload_is_reported_once(bot: InProcessBot) -> None:
    fake = bot.telegram
    fake.add_user(ADMIN, language_code="en")
    mark = fake.mark()
    file_id = fake.add_file(ROVER, "rover.md")
    fake.document_message(ADMIN, file_id)
    await bot.deliver()
    # The watcher then sees the file the upload wrote: already loaded, nothing more said.
    await on_folder_change(bot.app)
    [report] = sent_to(fake.calls[mark:], ADMIN)
    assert "Added rover.md" in text_of(report)


async def test_the_report_is_in_the_admins_language(bot: InProcessBot) -> None:
    fake = bot.telegram
    await bot.private(ADMIN, "/help", language_code="zh-hans")
    mark = fake.mark()
    (bot.seeds / "broken.md").write_bytes(BROKEN)
    await on_folder_change(bot.app)
    [report] = sent_to(fake.calls[mark:], ADMIN)
    assert text_of(report).startswith("内容文件夹有变动：broken.md")


@pytest.mark.slow
def test_a_file_dropped_into_the_running_bots_folder(fake: FakeTelegram, tmp_path: Path) -> None:
    """One process: a new article reaches a subscriber once (a touch or the same bytes again
    send nothing), a broken file gets the admin its file, line and reason, the rest keeps
    serving, and SIGTERM stops the watcher cleanly."""
    fake.add_user(ADMIN, language_code="en")
    bot = RunningBot(
        fake,
        tmp_path,
        SEEDS_DEBOUNCE_SECONDS="0.8",  # the two pieces below are 0.1 s apart, on a busy machine too
        QUESTIONS_PER_WINDOW="1000",
        LOG_LEVEL="DEBUG",  # to see the touch handled (and found no change)
    )
    subscribed = bot.reply_to(lambda: fake.private_message(READER, "/subscribe"), READER)
    assert text_of(subscribed).startswith("Subscribed")
    mark = fake.mark()
    # Written in pieces, as a slow copy would: one reload once it is whole.
    target = bot.seeds / "rover.md"
    with target.open("wb") as file:
        file.write(ROVER[:60])
        file.flush()
        time.sleep(0.1)
        file.write(ROVER[60:])
    push = fake.wait_for_call("sendMessage", 15, after=mark, chat_id=READER)
    assert "Lunar rover program update" in text_of(push)
    first = fake.wait_for_call("sendMessage", 15, after=mark, chat_id=ADMIN)
    assert text_of(first).startswith("The content folder changed: rover.md")
    # The same bytes again and a touch: nothing to reload, nothing sent.
    skipped = bot.output.count(NOTHING_CHANGED)  # the check at start logs it too
    target.write_bytes(ROVER)
    os.utime(target)
    deadline = time.monotonic() + 15
    while bot.output.count(NOTHING_CHANGED) == skipped:
        assert time.monotonic() < deadline, bot.output
        time.sleep(0.05)
    broken = bot.seeds / "broken.md"
    broken.write_bytes(BROKEN)
    report = fake.wait_for_call("sendMessage", 15, after=first.index + 1, chat_id=ADMIN)
    assert "broken.md:7: section 'Outlook' has no bullets" in text_of(report)
    answer = bot.reply_to(
        lambda: fake.private_message(READER, "What does the rover carry to map water ice?"),
        READER,
    )
    assert "ground-penetrating radar" in text_of(answer)
    assert len(sent_to(fake.calls[mark:], READER)) == 2  # the push once, and the answer
    assert len(sent_to(fake.calls[mark:], ADMIN)) == 2  # the new article, the broken file
    assert bot.stop(signal.SIGTERM) == 0
    assert "Traceback" not in bot.output
    assert "Task was destroyed" not in bot.output
