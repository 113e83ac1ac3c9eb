"""Buttons, feedback, expired buttons, flood limits, cooldowns, group lifecycle (in process).

The bot has the default limits (5 questions per 10 s per reader, /summary once per 30 s
per group).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import SEED_ID
from tests.fake_telegram import Call
from tests.inprocess import InProcessBot
from tests.telegram_harness import ADMIN, BOT, text_of
from tests.telegram_harness import buttons as every_button
from tests.telegram_html import parse_telegram_html


def buttons(call: Call) -> list[dict]:
    """The reply's buttons but "🔔 Tell me when answered" (tests/test_telegram_follows.py)."""
    return [b for b in every_button(call) if not b.get("callback_data", "").startswith("watch:")]


def votes(database: Path, query_id: str) -> list[tuple[int]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return db.execute("SELECT helpful FROM feedback WHERE query_id = ?", (query_id,)).fetchall()


async def test_answer_carries_summary_and_feedback_buttons_within_64_bytes(
    bot: InProcessBot,
) -> None:
    call = await bot.private(3001, "Huawei strategy")
    labels = [b["text"] for b in buttons(call)]
    assert labels == ["📄 Full summary", "👍", "👎", "↗️ Share"]
    *pressed, share = buttons(call)
    assert all(len(b["callback_data"].encode()) <= 64 for b in pressed)
    assert share["url"].startswith("https://t.me/share/url?url=") and "callback_data" not in share


async def test_suggestion_press_shows_the_full_answer(
    bot: InProcessBot, suggested_question: str
) -> None:
    reader = 3002
    call = await bot.private(reader, suggested_question)
    choices = buttons(call)
    assert 2 <= len(choices) <= 3
    assert all("Scaling Law" in c["text"] for c in choices)  # section titles, not ids
    assert "#" not in "".join(c["text"] for c in choices)
    mark = bot.telegram.mark()
    await bot.press(reader, call.result, choices[1]["callback_data"])
    [edited] = [c for c in bot.telegram.calls[mark:] if c.method == "editMessageText"]
    assert edited.ok and edited.params["chat_id"] == reader
    text = parse_telegram_html(edited.params["text"])
    assert "AI Development and Scaling Law" in text and "paragraphs 3, 12" in text
    assert [b["text"] for b in buttons(edited)] == ["📄 Full summary", "👍", "👎", "↗️ Share"]


async def test_feedback_is_recorded_once_per_reader_and_a_second_press_changes_it(
    bot: InProcessBot,
) -> None:
    reader = 3003
    call = await bot.private(reader, "Alibaba Cloud")
    up, down = buttons(call)[1:3]
    answered = await bot.press(reader, call.result, up["callback_data"])
    assert "glad" in answered.params["text"]
    answered = await bot.press(reader, call.result, down["callback_data"])
    assert "noted" in answered.params["text"]
    await bot.stop()  # drains the query log
    assert votes(bot.database, up["callback_data"].split(":")[1]) == [(0,)]


async def test_full_summary_button(bot: InProcessBot) -> None:
    reader = 3004
    call = await bot.private(reader, "Tencent capex")
    mark = bot.telegram.mark()
    await bot.press(reader, call.result, buttons(call)[0]["callback_data"])
    [summary] = [c for c in bot.telegram.calls[mark:] if c.method == "sendMessage"]
    assert summary.ok and summary.params["chat_id"] == reader
    assert "Core Viewpoint" in text_of(summary) and "4. Market Dynamics" in text_of(summary)


async def test_button_expires_when_the_content_changed(
    bot: InProcessBot, suggested_question: str
) -> None:
    reader = 3005
    call = await bot.private(reader, suggested_question)
    pick = buttons(call)[0]["callback_data"]
    seed = bot.seeds / f"{SEED_ID}.txt"
    # Both Scaling Law bullets (the suggestions) change.
    original = seed.read_text(encoding="utf-8")
    seed.write_text(original.replace("Scaling Law", "scaling law"), encoding="utf-8")
    await bot.private(ADMIN, "/reload")
    mark = bot.telegram.mark()
    answered = await bot.press(reader, call.result, pick)
    assert answered.params.get("show_alert") is True
    assert "expired" in answered.params["text"]
    assert not [c for c in bot.telegram.calls[mark:] if c.method == "editMessageText"]


async def test_per_reader_limit_notes_once_then_stays_quiet(bot: InProcessBot) -> None:
    reader = 3006
    for _ in range(5):
        answer = await bot.private(reader, "Huawei")
        assert "Competitive Strategies" in text_of(answer)
    note = await bot.private(reader, "Huawei")
    assert "wait a few seconds" in text_of(note)
    bot.telegram.private_message(reader, "Huawei")
    await bot.silent_in(reader)
    # Another reader is not affected.
    other = await bot.private(3007, "Huawei")
    assert "Competitive Strategies" in text_of(other)


async def test_second_summary_in_a_group_within_the_cooldown_points_back(
    bot: InProcessBot,
) -> None:
    group = -100700
    first = await bot.group(group, 3008, f"/summary@{BOT}")
    assert "Core Viewpoint" in text_of(first)
    second = await bot.group(group, 3009, "/summary")
    assert "just above" in text_of(second)
    assert second.params["reply_parameters"]["message_id"] == first.result["message_id"]


async def test_added_to_a_group_greets_once(bot: InProcessBot) -> None:
    group = -4010
    bot.telegram.my_chat_member(group, 3010)
    greeting = await bot.reply_to(group)
    assert "/summary@" in text_of(greeting) and "/ask@" in text_of(greeting)
    bot.telegram.my_chat_member(group, 3010, new_status="left", old_status="member")
    bot.telegram.my_chat_member(group, 3010)
    await bot.silent_in(group)


async def test_migration_to_a_supergroup_keeps_the_cooldown(bot: InProcessBot) -> None:
    group = -4020
    bot.telegram.my_chat_member(group, 3011)
    await bot.reply_to(group)  # the greeting
    first = await bot.group(group, 3011, "/summary")
    assert "Core Viewpoint" in text_of(first)
    _, moved = bot.telegram.migrate(group)
    supergroup = moved["chat"]["id"]
    await bot.deliver()
    again = await bot.group(supergroup, 3011, "/summary")
    assert "just above" in text_of(again)
