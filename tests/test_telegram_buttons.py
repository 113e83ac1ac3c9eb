"""Every button press is answered exactly once, whatever its data or message (in process).

Junk and forged data (a modified client can send any; the fake sends it with
`forged=True`), presses on messages sent via inline mode (no message, no chat_data), votes
for a query id the message does not carry, and presses over the reader's flood limit (the
default 5 per 10 s). `InProcessBot.press` fails a test on a press answered twice or not at
all.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.callbacks import pick_data
from bot.library import Library
from handlers.buttons import EXPIRED, SENT_PRIVATELY, SLOW_DOWN, START_PRIVATE
from tests.inprocess import InProcessBot
from tests.telegram_harness import BOT, text_of
from tests.telegram_html import parse_telegram_html

GROUP = -100800
THANKS_UP = "Thanks, glad it helped!"


def buttons(markup: dict | None) -> list[dict]:
    return [button for row in (markup or {}).get("inline_keyboard", []) for button in row]


async def ask_inline_and_send(bot: InProcessBot, reader: int, question: str) -> tuple[dict, str]:
    """The reader types `@bot question` and sends the first result: (result, inline id)."""
    result = (await bot.inline(reader, question)).params["results"][0]
    chosen = bot.telegram.chosen_inline_result(reader, result["id"], question)
    await bot.deliver()
    return result, chosen["inline_message_id"]


def feedback(database: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return db.execute("SELECT query_id, helpful FROM feedback ORDER BY query_id").fetchall()


JUNK = [
    "",  # Telegram refuses empty data on a keyboard, a modified client may still send it
    "hello",
    "p:",
    "p:abc",
    "x:1:2",
    "f:abc:2",  # a vote that is neither 👍 nor 👎
    "s:0000000000:000000",  # an article that does not exist
    "p:1:2:3",
    "🙂" * 16,  # 64 bytes
]


async def test_junk_data_of_any_shape_is_answered_expired_once(bot: InProcessBot) -> None:
    asker = 4001
    answer = await bot.group(GROUP, asker, "/ask Huawei")
    mark = bot.telegram.mark()
    for number, data in enumerate(JUNK):
        # Another reader for each press: they count against the presser's flood limit.
        answered = await bot.press(4100 + number, answer.result, data, forged=True)
        assert answered.params["text"] == EXPIRED, data
        assert answered.params["show_alert"] is True, data
    sent = [c.method for c in bot.telegram.calls[mark:] if c.params.get("chat_id") == GROUP]
    assert sent == []  # nothing posted or edited for junk


async def test_a_forged_vote_on_a_message_that_does_not_carry_it_is_expired(
    bot: InProcessBot,
) -> None:
    reader, other = 4201, 4202
    mine = buttons((await bot.private(reader, "Alibaba Cloud")).params["reply_markup"])
    theirs = buttons((await bot.private(other, "Huawei strategy")).params["reply_markup"])
    message = bot.telegram.bot_messages(reader)[-1]
    # The other reader's vote data, a made-up id: valid shapes, not on this message.
    for data in (theirs[1]["callback_data"], "f:0123456789ab:1"):
        answered = await bot.press(reader, message, data, forged=True)
        assert answered.params["text"] == EXPIRED
    answered = await bot.press(reader, message, mine[1]["callback_data"])
    assert answered.params["text"] == THANKS_UP


async def test_full_summary_on_an_inline_message_goes_to_the_private_chat(
    bot: InProcessBot,
) -> None:
    reader = 4301
    await bot.private(reader, "/start")  # the reader has a private chat with the bot
    result, inline_message_id = await ask_inline_and_send(
        bot, reader, "Tencent capital expenditure"
    )
    labels = [b["text"] for b in buttons(result["reply_markup"])]
    assert labels == ["📄 Full summary", "👍", "👎", "↗️ Share"]
    summary_data = buttons(result["reply_markup"])[0]["callback_data"]
    mark = bot.telegram.mark()
    answered = await bot.press(reader, None, summary_data, inline_message_id=inline_message_id)
    assert answered.params["text"] == SENT_PRIVATELY
    [sent] = [c for c in bot.telegram.calls[mark:] if c.method == "sendMessage"]
    assert sent.ok and sent.params["chat_id"] == reader
    assert "Core Viewpoint" in text_of(sent) and "4. Market Dynamics" in text_of(sent)


async def test_full_summary_on_an_inline_message_says_to_start_the_bot_first(
    bot: InProcessBot,
) -> None:
    sender, stranger = 4302, 4303  # the stranger saw the message in a group, never started me
    result, inline_message_id = await ask_inline_and_send(
        bot, sender, "Tencent capital expenditure"
    )
    summary_data = buttons(result["reply_markup"])[0]["callback_data"]
    mark = bot.telegram.mark()
    answered = await bot.press(stranger, None, summary_data, inline_message_id=inline_message_id)
    assert answered.params["text"] == START_PRIVATE.format(bot=BOT)
    assert answered.params["show_alert"] is True
    tried = [c for c in bot.telegram.calls[mark:] if c.params.get("chat_id") == stranger]
    assert [(c.method, c.status) for c in tried] == [("sendMessage", 403)]  # Telegram refused


async def test_a_pick_on_an_inline_message_edits_it_and_its_new_vote_counts(
    bot: InProcessBot, library: Library
) -> None:
    reader = 4401
    _, inline_message_id = await ask_inline_and_send(bot, reader, "Huawei strategy")
    match = library.ask("Alibaba Cloud").best
    assert match is not None
    # An older version's suggestion on the message (the inline results carry none now).
    data = pick_data(match.passage, match.article)
    mark = bot.telegram.mark()
    answered = await bot.press(reader, None, data, inline_message_id=inline_message_id, forged=True)
    assert "text" not in answered.params
    [edited] = [c for c in bot.telegram.calls[mark:] if c.method == "editMessageText"]
    assert edited.params["inline_message_id"] == inline_message_id
    assert edited.ok and "Alibaba Cloud" in parse_telegram_html(edited.params["text"])
    vote = buttons(edited.params["reply_markup"])[1]["callback_data"]
    answered = await bot.press(reader, None, vote, inline_message_id=inline_message_id)
    assert answered.params["text"] == THANKS_UP


async def test_presses_over_the_flood_limit_are_told_to_slow_down(bot: InProcessBot) -> None:
    reader = 4501
    answer = await bot.private(reader, "Alibaba Cloud")  # 1 of 5
    up, down = buttons(answer.params["reply_markup"])[1:3]
    for _ in range(4):  # 2..5 of 5
        answered = await bot.press(reader, answer.result, up["callback_data"])
        assert answered.params["text"] == THANKS_UP
    mark = bot.telegram.mark()
    for _ in range(2):  # the note, then what would be silence for a question
        answered = await bot.press(reader, answer.result, down["callback_data"])
        assert answered.params["text"] == SLOW_DOWN and "show_alert" not in answered.params
    assert [c.method for c in bot.telegram.calls[mark:] if c.params.get("chat_id") == reader] == []


async def test_only_votes_the_message_carries_are_stored(bot: InProcessBot) -> None:
    """Forged votes next to real ones; the query log read after the bot stopped."""
    reader, other = 4601, 4602
    mine = buttons((await bot.private(reader, "Alibaba Cloud")).params["reply_markup"])
    message = bot.telegram.bot_messages(reader)[-1]
    theirs = buttons((await bot.private(other, "Huawei strategy")).params["reply_markup"])
    sent, inline_id = await ask_inline_and_send(bot, other, "Tencent capital expenditure")
    real_inline = buttons(sent["reply_markup"])[2]
    forged: list[tuple[int, dict | None, str, str | None]] = [
        (reader, message, theirs[2]["callback_data"], None),  # another answer's id
        (reader, message, "f:0123456789ab:1", None),  # an id never issued
        (other, None, "f:0123456789ab:0", inline_id),
        (other, None, mine[1]["callback_data"], inline_id),  # not an inline result's
    ]
    for user, on, data, inline in forged:
        answered = await bot.press(user, on, data, inline_message_id=inline, forged=True)
        assert answered.params["text"] == EXPIRED, data
    real: list[tuple[int, dict | None, str, str | None]] = [
        (reader, message, mine[1]["callback_data"], None),
        (other, None, real_inline["callback_data"], inline_id),
    ]
    for user, on, data, inline in real:
        answered = await bot.press(user, on, data, inline_message_id=inline)
        assert answered.params["text"] != EXPIRED, data
    await bot.stop()  # drains the query log
    assert feedback(bot.database) == sorted(
        [
            (mine[1]["callback_data"].split(":")[1], 1),
            (real_inline["callback_data"].split(":")[1], 0),
        ]
    )
