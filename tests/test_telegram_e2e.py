"""End to end: `python -m bot run` as a subprocess, talking HTTP to the fake Bot API.

The real python-telegram-bot stack runs (run_polling owns its event loop, so it cannot run
inside the test's loop); the fake is as strict as Telegram, so a reply with HTML Telegram
cannot parse, an empty or too-long text, or a bad callback_data fails the scenario.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SEED_ID, SEEDS
from tests.fake_telegram import FakeTelegram
from tests.telegram_harness import (
    ADMIN,
    BOT,
    GROUP,
    OTHER_READER,
    READER,
    RunningBot,
    free_port,
    text_of,
)
from tests.telegram_html import parse_telegram_html


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    # Privacy mode off: every group message is delivered, so the bot itself must ignore
    # what is not for it (with privacy on Telegram would filter some of it out).
    with FakeTelegram(username=BOT, can_read_all_group_messages=True) as server:
        yield server


@pytest.fixture(scope="module")
def bot(fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    # Flood limits off here (tests/test_telegram_interactions.py tests them): these
    # scenarios ask many questions from one reader in a few seconds.
    running = RunningBot(
        fake,
        tmp_path_factory.mktemp("bot"),
        LOG_LEVEL="INFO",
        QUESTIONS_PER_WINDOW="1000",
        SUMMARY_COOLDOWN_SECONDS="0",
    )
    yield running
    running.stop()


def test_private_question_gets_a_cited_answer(bot: RunningBot) -> None:
    call = bot.reply_to(
        lambda: bot.fake.private_message(READER, "How many customers does Alibaba Cloud serve?"),
        READER,
    )
    text = text_of(call)
    assert "Historical Context and Cloud Computing" in text
    assert "serving 4 million customers" in text
    assert "全球“All in AI” 中国科技巨头生态“攻守”" in text
    assert "21st Century Business Herald · 2025-05-29 14:12 · paragraph 7" in text
    assert call.params.get("parse_mode") == "HTML"


def test_off_topic_question_is_refused_kindly(bot: RunningBot) -> None:
    call = bot.reply_to(
        lambda: bot.fake.private_message(READER, "How do I bake sourdough bread?"), READER
    )
    text = text_of(call)
    assert "couldn't find" in text and "/summary" in text and "/articles" in text


def test_summary_with_bot_name_in_a_group_replies_to_the_asker(bot: RunningBot) -> None:
    asked: dict = {}

    def inject() -> None:
        asked.update(bot.fake.group_message(GROUP, READER, f"/summary@{BOT}"))

    call = bot.reply_to(inject, GROUP)
    text = text_of(call)
    assert text.startswith("全球“All in AI”")
    assert "Core Viewpoint" in text and "4. Market Dynamics and Challenges" in text
    assert call.params["reply_parameters"]["message_id"] == asked["message_id"]


def test_summary_by_number_and_topic(bot: RunningBot) -> None:
    by_number = bot.reply_to(lambda: bot.fake.group_message(GROUP, READER, "/summary 1"), GROUP)
    assert "Core Viewpoint" in text_of(by_number)
    missing = bot.reply_to(lambda: bot.fake.group_message(GROUP, READER, "/summary 9"), GROUP)
    assert "No article matches" in text_of(missing)


def test_group_chatter_without_mention_is_ignored(bot: RunningBot) -> None:
    bot.silent_after(
        lambda: bot.fake.group_message(GROUP, READER, "Alibaba Cloud has many customers"), GROUP
    )


def test_command_for_another_bot_is_ignored(bot: RunningBot) -> None:
    bot.silent_after(lambda: bot.fake.group_message(GROUP, READER, "/summary@otherbot"), GROUP)


def test_ask_with_bot_name_in_a_group(bot: RunningBot) -> None:
    call = bot.reply_to(
        lambda: bot.fake.group_message(GROUP, READER, f"/ask@{BOT} Huawei strategy"), GROUP
    )
    assert "Competitive Strategies of Major Players" in text_of(call)
    assert "reply_parameters" in call.params


def test_mention_in_a_group_is_answered(bot: RunningBot) -> None:
    call = bot.reply_to(
        lambda: bot.fake.group_message(GROUP, READER, f"@{BOT} Tencent capital expenditure"),
        GROUP,
    )
    assert "Tencent's recent capital expenditures" in text_of(call)


def test_reply_to_the_bot_is_a_question(bot: RunningBot) -> None:
    first = bot.reply_to(lambda: bot.fake.group_message(GROUP, READER, "/articles"), GROUP)
    bot_message_id = first.result["message_id"]
    call = bot.reply_to(
        lambda: bot.fake.group_message(
            GROUP, READER, "open source models monetization", reply_to_message=bot_message_id
        ),
        GROUP,
    )
    assert "Market Dynamics and Challenges" in text_of(call)


def test_articles_help_and_privacy(bot: RunningBot) -> None:
    articles = text_of(bot.reply_to(lambda: bot.fake.private_message(READER, "/articles"), READER))
    assert "1. 全球“All in AI”" in articles and "/summary N" in articles
    help_text = text_of(bot.reply_to(lambda: bot.fake.private_message(READER, "/help"), READER))
    assert help_text.count("What about ") == 3
    assert "/summary" in help_text and "privacy mode" in help_text
    privacy = text_of(bot.reply_to(lambda: bot.fake.private_message(READER, "/privacy"), READER))
    assert "90 days" in privacy and "/forget" in privacy


def test_unknown_command_and_non_text_in_private_get_a_hint(bot: RunningBot) -> None:
    unknown = bot.reply_to(lambda: bot.fake.private_message(READER, "/frobnicate <x>"), READER)
    assert "I don't know /frobnicate" in text_of(unknown) and "/help" in text_of(unknown)
    # A sticker message: the fake builds text messages, so take one and swap its content.
    base: dict = {}
    bot.reply_to(lambda: base.update(bot.fake.private_message(READER, "placeholder")), READER)
    sticker = {k: v for k, v in base.items() if k not in ("text", "entities")}
    sticker["message_id"] = base["message_id"] + 1000
    sticker["sticker"] = {
        "file_id": "s1",
        "file_unique_id": "u1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    hint = bot.reply_to(lambda: bot.fake.inject("message", sticker), READER)
    assert "questions sent as text" in text_of(hint)


def test_user_text_is_escaped(bot: RunningBot) -> None:
    nasty = "<b>bold</b> & <script>alert(1)</script> Alibaba Cloud </i>"
    call = bot.reply_to(lambda: bot.fake.private_message(READER, f"/ask {nasty}"), READER)
    assert "<script>" not in call.params["text"]
    text_of(call)  # valid Telegram HTML


def test_long_message_and_emoji_only(bot: RunningBot) -> None:
    long_question = ("Alibaba Cloud customers " * 200)[:4000]
    call = bot.reply_to(lambda: bot.fake.private_message(READER, long_question), READER)
    assert "Alibaba Cloud" in text_of(call)
    emoji = bot.reply_to(lambda: bot.fake.private_message(READER, "😀🎉🔥"), READER)
    assert "couldn't find" in text_of(emoji)


def test_edited_question_edits_its_answer_and_other_edits_are_ignored(bot: RunningBot) -> None:
    asked: dict = {}
    first = bot.reply_to(
        lambda: asked.update(bot.fake.private_message(READER, "Huawei strategy")), READER
    )
    assert "Competitive Strategies" in text_of(first)
    mark = bot.fake.mark()
    bot.fake.edited_message(asked, "Tencent capital expenditure")
    edited = bot.fake.wait_for_call("editMessageText", 15, after=mark, chat_id=READER)
    assert edited.params["message_id"] == first.result["message_id"]
    assert "Tencent's recent capital expenditures" in parse_telegram_html(edited.params["text"])
    assert not [c for c in bot.fake.calls[mark:] if c.method == "sendMessage"]
    # An edit of a message the bot did not answer as a question gets nothing.
    command: dict = {}
    bot.reply_to(lambda: command.update(bot.fake.private_message(READER, "/articles")), READER)
    mark = bot.fake.mark()
    bot.fake.edited_message(command, "/help")
    bot.fake.wait_until_confirmed(timeout=15)
    bot.reply_to(lambda: bot.fake.private_message(OTHER_READER, "/help"), OTHER_READER)
    assert not [c for c in bot.fake.calls[mark:] if c.params.get("chat_id") == READER]


def test_a_429_on_the_next_send_is_waited_out(bot: RunningBot) -> None:
    bot.fake.fail_next("sendMessage", 429, retry_after=1)
    mark = bot.fake.mark()
    bot.fake.private_message(READER, "Huawei strategy")
    delivered = bot.fake.wait_for_call("sendMessage", 20, after=mark, chat_id=READER)
    refused = [c for c in bot.fake.calls[mark:] if c.method == "sendMessage" and not c.ok]
    assert len(refused) == 1 and "retry after" in (refused[0].description or "").lower()
    assert "Competitive Strategies of Major Players" in text_of(delivered)


def test_a_failing_handler_is_logged_and_the_private_reader_told(bot: RunningBot) -> None:
    reader = 2025
    bot.fake.fail_next("sendMessage", 400, "Bad Request: something unexpected")
    mark = bot.fake.mark()
    bot.fake.private_message(reader, "Huawei strategy")
    sorry = bot.fake.wait_for_call("sendMessage", 15, after=mark, chat_id=reader)
    assert "something went wrong" in text_of(sorry)
    assert f"chat {reader}" in bot.wait_for_output("Something unexpected")
    # And the bot keeps running.
    again = bot.reply_to(lambda: bot.fake.private_message(reader, "Huawei strategy"), reader)
    assert "Competitive Strategies" in text_of(again)


def test_a_reader_who_blocked_the_bot_is_not_retried(bot: RunningBot) -> None:
    reader = 2026
    bot.fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    mark = bot.fake.mark()
    bot.fake.private_message(reader, "Huawei strategy")
    bot.fake.wait_until_confirmed(timeout=15)
    bot.reply_to(lambda: bot.fake.private_message(OTHER_READER, "/help"), OTHER_READER)
    attempts = [c for c in bot.fake.calls[mark:] if c.params.get("chat_id") == reader]
    assert len(attempts) == 1 and attempts[0].status == 403
    assert "forbidden" in bot.output.lower()


def test_admin_reload_and_a_broken_file(bot: RunningBot) -> None:
    ok = text_of(bot.reply_to(lambda: bot.fake.private_message(ADMIN, "/reload"), ADMIN))
    assert "Reloaded: 1 article(s), 9 passages" in ok
    (bot.seeds / "broken.txt").write_text("just some notes\n", encoding="utf-8")
    (bot.seeds / f"{SEED_ID}.txt").write_text("now broken too\n", encoding="utf-8")
    try:
        report = text_of(bot.reply_to(lambda: bot.fake.private_message(ADMIN, "/reload"), ADMIN))
        assert "broken.txt:1: no recognisable structure" in report
        assert "Reloaded: 1 article(s)" in report  # the seed keeps its last good version
        answer = bot.reply_to(lambda: bot.fake.private_message(READER, "Huawei strategy"), READER)
        assert "Competitive Strategies" in text_of(answer)
    finally:
        (bot.seeds / "broken.txt").unlink()
        shutil.copy(SEEDS / f"{SEED_ID}.txt", bot.seeds / f"{SEED_ID}.txt")


def test_non_admin_is_refused(bot: RunningBot) -> None:
    for command in ("/reload", "/stats"):
        refusal = bot.reply_to(lambda c=command: bot.fake.private_message(READER, c), READER)
        assert "only the bot's admins" in text_of(refusal)


def test_admin_stats_text_and_chart(bot: RunningBot) -> None:
    mark = bot.fake.mark()
    bot.fake.private_message(ADMIN, "/stats 7")
    text = bot.fake.wait_for_call("sendMessage", 20, after=mark, chat_id=ADMIN)
    assert "Last 7 days" in text_of(text) and "questions" in text_of(text)
    photo = bot.fake.wait_for_call("sendPhoto", 30, after=mark, chat_id=ADMIN)
    assert photo.ok


def test_command_menus_are_set(bot: RunningBot) -> None:
    scopes = [c.params.get("scope", {}).get("type") for c in bot.fake.calls_to("setMyCommands")]
    assert "all_private_chats" in scopes and "all_group_chats" in scopes
    # The admin's menu waited for the admin's first message ("chat not found" before).
    admin_menus = [
        c for c in bot.fake.calls_to("setMyCommands")
        if c.params.get("scope", {}).get("chat_id") == ADMIN and c.ok
    ]  # fmt: skip
    assert admin_menus
    commands = {c["command"] for c in admin_menus[-1].params["commands"]}
    assert {"reload", "stats", "summary"} <= commands


def test_forget_deletes_the_readers_rows_after_confirmation(bot: RunningBot) -> None:
    reader = 2024
    question: dict = {}
    bot.reply_to(
        lambda: question.update(bot.fake.private_message(reader, "Huawei strategy")), reader
    )
    prompt = bot.reply_to(lambda: bot.fake.private_message(reader, "/forget"), reader)
    buttons = prompt.params["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["Delete my data", "Cancel"]
    mark = bot.fake.mark()
    bot.fake.callback_query(reader, prompt.result, buttons[0]["callback_data"])
    edited = bot.fake.wait_for_call("editMessageText", 15, after=mark, chat_id=reader)
    answered = bot.fake.wait_for_call("answerCallbackQuery", 15, after=mark)
    assert answered.ok
    assert "Deleted: 1 question(s)" in parse_telegram_html(edited.params["text"])
    # The chat's state went too: an edit of the forgotten question is not answered.
    bot.silent_after(lambda: bot.fake.edited_message(question, "Alibaba Cloud"), reader)
    in_group = bot.reply_to(lambda: bot.fake.group_message(GROUP, reader, "/forget"), GROUP)
    assert "private chat" in text_of(in_group)


def test_debug_logs_never_show_the_token_and_sigterm_drains_the_log(tmp_path: Path) -> None:
    with FakeTelegram(username=BOT) as fake:
        running = RunningBot(fake, tmp_path, LOG_LEVEL="DEBUG")
        asked = ("Huawei strategy", "How do I bake bread?", "Alibaba Cloud", "/summary 1")
        for question in asked:
            running.reply_to(lambda q=question: fake.private_message(READER, q), READER)
        started = time.monotonic()
        assert running.stop(signal.SIGTERM) == 0
        assert time.monotonic() - started < 30
    output = running.output
    assert "DEBUG" in output  # the level took effect...
    assert fake.token not in output  # ...and the token never reached the log
    assert fake.token.split(":")[1] not in output
    with sqlite3.connect(running.database) as db:
        rows = db.execute(
            "SELECT via, question, outcome, article_id FROM queries ORDER BY ts"
        ).fetchall()
    assert [r[1] for r in rows] == list(asked)
    assert [r[2] for r in rows] == ["answered", "unanswered", "answered", "answered"]
    assert {r[0] for r in rows} == {"private"}
    assert rows[-1][3] == SEED_ID  # the summary row names its article


def test_webhook_mode_serves_updates_with_the_secret(tmp_path: Path) -> None:
    import json
    import urllib.error
    import urllib.request

    fake = FakeTelegram(username=BOT).start()
    port = free_port()
    secret = "hook_secret-123"
    running = RunningBot(
        fake,
        tmp_path,
        polling=False,
        WEBHOOK_URL="https://bot.example.org/telegram/hook",
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
        WEBHOOK_SECRET=secret,
    )
    try:
        registered = fake.wait_for_call("setWebhook", 60)
        assert registered.params["url"] == "https://bot.example.org/telegram/hook"
        assert registered.params["secret_token"] == secret
        # Built by the fake (which also opens the private chat); posted like Telegram would.
        update = {"update_id": 1, "message": fake.private_message(READER, "Huawei strategy")}

        def post(token: str) -> int:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/telegram/hook",
                data=json.dumps(update).encode(),
                headers={
                    "Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": token,
                },
            )
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        return response.status
                except urllib.error.HTTPError as error:
                    return error.code
                except OSError:  # the webhook server is not listening yet
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)

        assert post("wrong-secret") == 403
        assert post(secret) == 200
        answer = fake.wait_for_call("sendMessage", 20, chat_id=READER)
        assert "Competitive Strategies of Major Players" in text_of(answer)
        # Telegram re-delivers an update it thinks was lost: it is answered once.
        assert post(secret) == 200
        update = {"update_id": 2, "message": fake.private_message(READER, "/help")}
        assert post(secret) == 200
        fake.wait_for_call("sendMessage", 20, after=answer.index + 1, chat_id=READER)
        bot_wait = running.wait_for_output("update 1 delivered again")
        assert "update 2 delivered again" not in bot_wait
        sent = [c for c in fake.calls if c.method == "sendMessage" and c.ok]
        assert len(sent) == 2
        assert running.stop(signal.SIGTERM) == 0
    finally:
        if running.process.poll() is None:
            running.process.kill()
        fake.stop()
