"""End to end: the whole bot (the real Application and handlers) against the strict fake.

Most scenarios run in process (tests/inprocess.py: the fake answers the Bot API without
HTTP), so they say what the reader sees without waiting for a subprocess; the fake is as
strict as Telegram, so a reply with HTML Telegram cannot parse, an empty or too-long text,
or a bad callback_data fails the scenario. The last two run `python -m bot run` as a
subprocess over HTTP, for what only a real process shows: its log and exit at SIGTERM, and
webhook mode.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from bot.app import ALLOWED_UPDATES
from tests.conftest import SEED_ID
from tests.fake_telegram import FakeTelegram
from tests.inprocess import InProcessBot
from tests.telegram_harness import (
    ADMIN,
    BOT,
    GROUP,
    READER,
    RunningBot,
    free_port,
    text_of,
)
from tests.telegram_html import parse_telegram_html

# Privacy mode off: every group message is delivered, so the bot itself must ignore what is
# not for it (with privacy on Telegram would filter some of it out). Flood limits off
# (tests/test_telegram_interactions.py tests them): these scenarios ask many questions from
# one reader at once.
pytestmark = pytest.mark.bot(
    env={"LOG_LEVEL": "INFO", "QUESTIONS_PER_WINDOW": "1000", "SUMMARY_COOLDOWN_SECONDS": "0"},
    privacy_mode=False,
)


async def test_private_question_gets_a_cited_answer(bot: InProcessBot) -> None:
    call = await bot.private(READER, "How many customers does Alibaba Cloud serve?")
    text = text_of(call)
    assert "Historical Context and Cloud Computing" in text
    assert "serving 4 million customers" in text
    assert "全球“All in AI” 中国科技巨头生态“攻守”" in text
    assert "21st Century Business Herald · 2025-05-29 14:12 · paragraph 7" in text
    assert call.params.get("parse_mode") == "HTML"


async def test_off_topic_question_is_refused_kindly(bot: InProcessBot) -> None:
    text = text_of(await bot.private(READER, "How do I bake sourdough bread?"))
    assert "couldn't find" in text and "/summary" in text and "/articles" in text


async def test_summary_with_bot_name_in_a_group_replies_to_the_asker(bot: InProcessBot) -> None:
    asked = bot.telegram.group_message(GROUP, READER, f"/summary@{BOT}")
    call = await bot.reply_to(GROUP)
    text = text_of(call)
    assert text.startswith("全球“All in AI”")
    assert "Core Viewpoint" in text and len(text) < 1000  # the sections are its buttons
    labels = [b["text"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels[3:] == ["4. Market Dynamics and Challenges", "📄 Show all"]
    assert call.params["reply_parameters"]["message_id"] == asked["message_id"]


async def test_summary_by_number_and_topic(bot: InProcessBot) -> None:
    assert "Core Viewpoint" in text_of(await bot.group(GROUP, READER, "/summary 1"))
    assert "No article matches" in text_of(await bot.group(GROUP, READER, "/summary 9"))


async def test_group_chatter_without_mention_is_ignored(bot: InProcessBot) -> None:
    bot.telegram.group_message(GROUP, READER, "Alibaba Cloud has many customers")
    await bot.silent_in(GROUP)


async def test_command_for_another_bot_is_ignored(bot: InProcessBot) -> None:
    bot.telegram.group_message(GROUP, READER, "/summary@otherbot")
    await bot.silent_in(GROUP)


async def test_ask_with_bot_name_in_a_group(bot: InProcessBot) -> None:
    call = await bot.group(GROUP, READER, f"/ask@{BOT} Huawei strategy")
    assert "Competitive Strategies of Major Players" in text_of(call)
    assert "reply_parameters" in call.params


async def test_mention_in_a_group_is_answered(bot: InProcessBot) -> None:
    call = await bot.group(GROUP, READER, f"@{BOT} Tencent capital expenditure")
    assert "Tencent's recent capital expenditures" in text_of(call)


async def test_reply_to_the_bot_is_a_question(bot: InProcessBot) -> None:
    first = await bot.group(GROUP, READER, "/articles")
    bot_message_id = first.result["message_id"]
    call = await bot.group(
        GROUP, READER, "open source models monetization", reply_to_message=bot_message_id
    )
    assert "Market Dynamics and Challenges" in text_of(call)


async def test_articles_help_and_privacy(bot: InProcessBot) -> None:
    articles = text_of(await bot.private(READER, "/articles"))
    assert "1. 全球“All in AI”" in articles and "/summary N" in articles
    help_text = text_of(await bot.private(READER, "/help"))
    assert "/summary" in help_text and "/language" in help_text and "privacy mode" in help_text
    # The articles by their display source, not the digest's transliteration.
    assert "(21st Century Business Herald · 2025-05-29)" in help_text
    assert "Shi Ji" not in help_text
    privacy = text_of(await bot.private(READER, "/privacy"))
    assert "90 days" in privacy and "/forget" in privacy


async def test_unknown_command_and_non_text_in_private_get_a_hint(bot: InProcessBot) -> None:
    unknown = text_of(await bot.private(READER, "/frobnicate <x>"))
    assert "I don't know /frobnicate" in unknown and "/help" in unknown
    # A sticker message: the fake builds text messages, so take one and swap its content.
    base = bot.telegram.private_message(READER, "placeholder")
    await bot.deliver()
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
    bot.telegram.inject("message", sticker)
    assert "questions sent as text" in text_of(await bot.reply_to(READER))


async def test_user_text_is_escaped(bot: InProcessBot) -> None:
    nasty = "<b>bold</b> & <script>alert(1)</script> Alibaba Cloud </i>"
    call = await bot.private(READER, f"/ask {nasty}")
    assert "<script>" not in call.params["text"]
    text_of(call)  # valid Telegram HTML


async def test_long_message_and_emoji_only(bot: InProcessBot) -> None:
    long_question = ("Alibaba Cloud customers " * 200)[:4000]
    assert "Alibaba Cloud" in text_of(await bot.private(READER, long_question))
    assert "couldn't find" in text_of(await bot.private(READER, "😀🎉🔥"))


async def test_edited_question_edits_its_answer_and_other_edits_are_ignored(
    bot: InProcessBot,
) -> None:
    asked = bot.telegram.private_message(READER, "Huawei strategy")
    first = await bot.reply_to(READER)
    assert "Competitive Strategies" in text_of(first)
    bot.telegram.edited_message(asked, "Tencent capital expenditure")
    calls = await bot.deliver()
    [edited] = [c for c in calls if c.params.get("chat_id") == READER]  # one edit, no message
    assert (edited.method, edited.ok) == ("editMessageText", True)
    assert edited.params["message_id"] == first.result["message_id"]
    assert "Tencent's recent capital expenditures" in parse_telegram_html(edited.params["text"])
    # An edit of a message the bot did not answer as a question gets nothing.
    command = bot.telegram.private_message(READER, "/articles")
    await bot.reply_to(READER)
    bot.telegram.edited_message(command, "/help")
    await bot.silent_in(READER)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's RetryAfter
async def test_a_429_on_the_next_send_is_waited_out(bot: InProcessBot) -> None:
    bot.telegram.fail_next("sendMessage", 429, retry_after=1)
    bot.telegram.private_message(READER, "Huawei strategy")
    sent = [c for c in await bot.deliver() if c.method == "sendMessage"]
    refused, delivered = sent  # the flood wait, then the same answer once more
    assert refused.status == 429 and "retry after" in (refused.description or "").lower()
    assert delivered.ok and delivered.params["chat_id"] == READER
    assert delivered.started - refused.time >= 1  # Telegram's "retry after 1" was honoured
    assert "Competitive Strategies of Major Players" in text_of(delivered)


async def test_a_failing_handler_is_logged_and_the_private_reader_told(
    bot: InProcessBot,
) -> None:
    reader = 2025
    bot.telegram.fail_next("sendMessage", 400, "Bad Request: something unexpected")
    sorry = await bot.private(reader, "Huawei strategy")
    assert "something went wrong" in text_of(sorry)
    assert f"chat {reader}" in bot.output and "Something unexpected" in bot.output
    # And the bot keeps running.
    again = await bot.private(reader, "Huawei strategy")
    assert "Competitive Strategies" in text_of(again)


async def test_a_reader_who_blocked_the_bot_is_not_retried(bot: InProcessBot) -> None:
    reader = 2026
    bot.telegram.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    bot.telegram.private_message(reader, "Huawei strategy")
    attempts = [c for c in await bot.deliver() if c.params.get("chat_id") == reader]
    assert len(attempts) == 1 and attempts[0].status == 403
    assert "forbidden" in bot.output.lower()


async def test_admin_reload_and_a_broken_file(bot: InProcessBot) -> None:
    ok = text_of(await bot.private(ADMIN, "/reload"))
    assert "Reloaded: 1 article, 9 passages" in ok
    (bot.seeds / "broken.txt").write_text("just some notes\n", encoding="utf-8")
    (bot.seeds / f"{SEED_ID}.txt").write_text("now broken too\n", encoding="utf-8")
    report = text_of(await bot.private(ADMIN, "/reload"))
    assert "broken.txt:1: no recognisable structure" in report
    assert "Reloaded: 1 article," in report  # the seed keeps its last good version
    answer = await bot.private(READER, "Huawei strategy")
    assert "Competitive Strategies" in text_of(answer)


async def test_non_admin_is_refused(bot: InProcessBot) -> None:
    for command in ("/reload", "/stats"):
        refusal = await bot.private(READER, command)
        assert "only the bot's admins" in text_of(refusal)


async def test_admin_stats_text_and_chart(bot: InProcessBot) -> None:
    bot.telegram.private_message(ADMIN, "/stats 7")
    calls = [c for c in await bot.deliver() if c.params.get("chat_id") == ADMIN]
    [text] = [c for c in calls if c.method == "sendMessage"]
    assert "Last 7 days" in text_of(text) and "questions" in text_of(text)
    [photo] = [c for c in calls if c.method == "sendPhoto"]
    assert photo.ok and photo.files["photo"].data.startswith(b"\x89PNG")


async def test_command_menus_are_set(bot: InProcessBot) -> None:
    menus = bot.telegram.calls_to("setMyCommands")
    scopes = [c.params.get("scope", {}).get("type") for c in menus]
    assert "all_private_chats" in scopes and "all_group_chats" in scopes
    # The admin's menu waits for the admin's first message ("chat not found" before).
    [early] = [c for c in menus if c.params.get("scope", {}).get("chat_id") == ADMIN]
    assert early.description == "Bad Request: chat not found"
    await bot.private(ADMIN, "/help")
    admin_menus = [
        c for c in bot.telegram.calls_to("setMyCommands")
        if c.params.get("scope", {}).get("chat_id") == ADMIN and c.ok
    ]  # fmt: skip
    assert admin_menus
    commands = {c["command"] for c in admin_menus[-1].params["commands"]}
    assert {"reload", "stats", "summary"} <= commands


async def test_forget_deletes_the_readers_rows_after_confirmation(bot: InProcessBot) -> None:
    reader = 2024
    question = bot.telegram.private_message(reader, "Huawei strategy")
    await bot.reply_to(reader)
    prompt = await bot.private(reader, "/forget")
    buttons = prompt.params["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["Delete my data", "Cancel"]
    bot.telegram.callback_query(reader, prompt.result, buttons[0]["callback_data"])
    calls = await bot.deliver()
    [edited] = [c for c in calls if c.method == "editMessageText"]
    [answered] = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answered.ok and edited.params["chat_id"] == reader
    assert "Deleted: 1 question," in parse_telegram_html(edited.params["text"])
    # The chat's state went too: an edit of the forgotten question is not answered.
    bot.telegram.edited_message(question, "Alibaba Cloud")
    await bot.silent_in(reader)
    in_group = await bot.group(GROUP, reader, "/forget")
    assert "private chat" in text_of(in_group)


# -- as a subprocess ----------------------------------------------------------------------


@pytest.mark.slow
def test_debug_logs_never_show_the_token_and_sigterm_drains_the_log(tmp_path: Path) -> None:
    with FakeTelegram(username=BOT) as fake:
        # A new interpreter: every line the process logs from its first one on.
        running = RunningBot(fake, tmp_path, fresh_interpreter=True, LOG_LEVEL="DEBUG")
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


@pytest.mark.slow
def test_webhook_mode_serves_updates_with_the_secret(tmp_path: Path) -> None:
    import json
    import urllib.error
    import urllib.request

    fake = FakeTelegram(username=BOT).start()
    port, health_port = free_port(), free_port()
    secret = "hook_secret-123"
    running = RunningBot(
        fake,
        tmp_path,
        polling=False,
        WEBHOOK_URL="https://bot.example.org/telegram/hook",
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
        WEBHOOK_SECRET=secret,
        HEALTH_PORT=str(health_port),
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
        assert set(registered.params["allowed_updates"]) == set(ALLOWED_UPDATES)
        # /healthz knows the mode and asks Telegram whether it delivers.
        report = healthy_report(health_port)
        assert report["mode"] == "webhook"
        assert isinstance(report["waiting_at_telegram"], int)  # from getWebhookInfo
        assert fake.calls_to("getWebhookInfo")
        assert running.stop(signal.SIGTERM) == 0
    finally:
        if running.process.poll() is None:
            running.process.kill()
        fake.stop()


def healthy_report(port: int, timeout: float = 30.0) -> dict:
    """/healthz's report once it is 200 (the first getWebhookInfo may still be on its way)."""
    import json
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as page:
                return json.loads(page.read())
        except urllib.error.HTTPError as error:
            last = error.read().decode()
        except OSError as error:
            last = str(error)
        assert time.monotonic() < deadline, f"/healthz not 200 after {timeout} s: {last}"
        time.sleep(0.1)
