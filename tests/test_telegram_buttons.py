"""End to end: every button press is answered exactly once, whatever its data or message.

Junk and forged data (a modified client can send any; the fake sends it with
`forged=True`), presses on messages sent via inline mode (no message, no chat_data), votes
for a query id the message does not carry, and presses over the reader's flood limit (the
default 5 per 10 s). Each test uses its own readers so they do not share a window.
"""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.callbacks import pick_data
from bot.library import Library
from bot.parsing import load_folder
from handlers.buttons import EXPIRED, SENT_PRIVATELY, SLOW_DOWN, START_PRIVATE
from tests.conftest import SEEDS
from tests.fake_telegram import Call, FakeTelegram
from tests.telegram_harness import BOT, OTHER_READER, RunningBot, text_of
from tests.telegram_html import parse_telegram_html

WAIT = 15.0  # seconds: an upper bound for a reply, never a measured duration
GROUP = -100800
THANKS_UP = "Thanks, glad it helped!"


@pytest.fixture(scope="module")
def bot(fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    running = RunningBot(fake, tmp_path_factory.mktemp("buttons"))
    yield running
    running.stop()


def buttons(markup: dict | None) -> list[dict]:
    return [button for row in (markup or {}).get("inline_keyboard", []) for button in row]


def press(
    bot: RunningBot,
    user: int,
    message: dict | None,
    data: str,
    *,
    inline_message_id: str | None = None,
    forged: bool = False,
) -> tuple[Call, int]:
    """Press a button; the bot's answer to that query, and the mark taken before the press."""
    mark = bot.fake.mark()
    query = bot.fake.callback_query(
        user, message, data, inline_message_id=inline_message_id, forged=forged
    )
    answer = bot.fake.wait_for_call(
        "answerCallbackQuery", WAIT, after=mark, callback_query_id=query["id"]
    )
    return answer, mark


def settle(bot: RunningBot) -> None:
    """One more round trip: every update before it has been handled (and answered) by then."""
    bot.reply_to(lambda: bot.fake.private_message(OTHER_READER, "/help"), OTHER_READER)


def answers_to(bot: RunningBot, answer: Call) -> list[Call]:
    """Every answerCallbackQuery for the query `answer` answered, failed ones included."""
    query_id = answer.params["callback_query_id"]
    return [
        c
        for c in bot.fake.calls_to("answerCallbackQuery")
        if c.params["callback_query_id"] == query_id
    ]


def ask(bot: RunningBot, reader: int, question: str) -> Call:
    return bot.reply_to(lambda: bot.fake.private_message(reader, question), reader)


def ask_inline_and_send(bot: RunningBot, reader: int, question: str) -> tuple[dict, str]:
    """The reader types `@bot question` and sends the first result: (result, inline id)."""
    mark = bot.fake.mark()
    inline = bot.fake.inline_query(reader, question)
    call = bot.fake.wait_for_call(
        "answerInlineQuery", WAIT, after=mark, inline_query_id=inline["id"]
    )
    result = call.params["results"][0]
    chosen = bot.fake.chosen_inline_result(reader, result["id"], question)
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


def test_junk_data_of_any_shape_is_answered_expired_once(bot: RunningBot) -> None:
    asker = 4001
    answer = bot.reply_to(lambda: bot.fake.group_message(GROUP, asker, "/ask Huawei"), GROUP)
    results = []
    for number, data in enumerate(JUNK):
        # Another reader for each press: they count against the presser's flood limit.
        presser = 4100 + number
        results.append(press(bot, presser, answer.result, data, forged=True))
    settle(bot)
    for (answered, _), data in zip(results, JUNK, strict=True):
        assert answered.ok, data
        assert answered.params["text"] == EXPIRED and answered.params["show_alert"] is True
        assert answers_to(bot, answered) == [answered], data  # exactly one answer
    first_mark = results[0][1]
    sent = [c.method for c in bot.fake.calls[first_mark:] if c.params.get("chat_id") == GROUP]
    assert sent == []  # nothing posted or edited for junk


def test_a_forged_vote_on_a_message_that_does_not_carry_it_is_expired(bot: RunningBot) -> None:
    reader, other = 4201, 4202
    mine = buttons(ask(bot, reader, "Alibaba Cloud").params["reply_markup"])
    theirs = buttons(ask(bot, other, "Huawei strategy").params["reply_markup"])
    message = bot.fake.bot_messages(reader)[-1]
    # The other reader's vote data, a made-up id: valid shapes, not on this message.
    for data in (theirs[1]["callback_data"], "f:0123456789ab:1"):
        answered, _ = press(bot, reader, message, data, forged=True)
        assert answered.params["text"] == EXPIRED
        assert answers_to(bot, answered) == [answered]
    answered, _ = press(bot, reader, message, mine[1]["callback_data"])
    assert answered.params["text"] == THANKS_UP


def test_full_summary_on_an_inline_message_goes_to_the_private_chat(bot: RunningBot) -> None:
    reader = 4301
    ask(bot, reader, "/start")  # the reader has a private chat with the bot
    result, inline_message_id = ask_inline_and_send(bot, reader, "Tencent capital expenditure")
    labels = [b["text"] for b in buttons(result["reply_markup"])]
    assert labels == ["📄 Full summary", "👍", "👎"]
    summary_data = buttons(result["reply_markup"])[0]["callback_data"]
    answered, mark = press(bot, reader, None, summary_data, inline_message_id=inline_message_id)
    assert answered.params["text"] == SENT_PRIVATELY
    sent = bot.fake.wait_for_call("sendMessage", WAIT, after=mark, chat_id=reader)
    assert "Core Viewpoint" in text_of(sent) and "4. Market Dynamics" in text_of(sent)
    settle(bot)
    assert answers_to(bot, answered) == [answered]


def test_full_summary_on_an_inline_message_says_to_start_the_bot_first(bot: RunningBot) -> None:
    sender, stranger = 4302, 4303  # the stranger saw the message in a group, never started me
    result, inline_message_id = ask_inline_and_send(bot, sender, "Tencent capital expenditure")
    summary_data = buttons(result["reply_markup"])[0]["callback_data"]
    answered, mark = press(bot, stranger, None, summary_data, inline_message_id=inline_message_id)
    assert answered.params["text"] == START_PRIVATE.format(bot=BOT)
    assert answered.params["show_alert"] is True
    settle(bot)
    assert answers_to(bot, answered) == [answered]
    tried = [c for c in bot.fake.calls[mark:] if c.params.get("chat_id") == stranger]
    assert [(c.method, c.status) for c in tried] == [("sendMessage", 403)]  # Telegram refused


def test_a_pick_on_an_inline_message_edits_it_and_its_new_vote_counts(bot: RunningBot) -> None:
    reader = 4401
    _, inline_message_id = ask_inline_and_send(bot, reader, "Huawei strategy")
    match = Library(load_folder(SEEDS).articles).ask("Alibaba Cloud").best
    assert match is not None
    # An older version's suggestion on the message (the inline results carry none now).
    data = pick_data(match.passage, match.article)
    answered, mark = press(
        bot, reader, None, data, inline_message_id=inline_message_id, forged=True
    )
    assert answered.ok and "text" not in answered.params
    edited = bot.fake.wait_for_call(
        "editMessageText", WAIT, after=mark, inline_message_id=inline_message_id
    )
    assert edited.ok and "Alibaba Cloud" in parse_telegram_html(edited.params["text"])
    vote = buttons(edited.params["reply_markup"])[1]["callback_data"]
    answered, _ = press(bot, reader, None, vote, inline_message_id=inline_message_id)
    assert answered.params["text"] == THANKS_UP


def test_presses_over_the_flood_limit_are_told_to_slow_down(bot: RunningBot) -> None:
    reader = 4501
    answer = ask(bot, reader, "Alibaba Cloud")  # 1 of 5
    up, down = buttons(answer.params["reply_markup"])[1:]
    for _ in range(4):  # 2..5 of 5
        answered, _ = press(bot, reader, answer.result, up["callback_data"])
        assert answered.params["text"] == THANKS_UP
    mark = bot.fake.mark()
    for _ in range(2):  # the note, then what would be silence for a question
        answered, _ = press(bot, reader, answer.result, down["callback_data"])
        assert answered.params["text"] == SLOW_DOWN and "show_alert" not in answered.params
    settle(bot)
    assert answers_to(bot, answered) == [answered]
    assert [c.method for c in bot.fake.calls[mark:] if c.params.get("chat_id") == reader] == []


def test_only_votes_the_message_carries_are_stored(tmp_path: Path) -> None:
    """Forged votes next to real ones; the query log read after the bot stopped."""
    with FakeTelegram(username=BOT) as fake:  # its own: one poller per fake
        running = RunningBot(fake, tmp_path)
        try:
            reader, other = 4601, 4602
            mine = buttons(ask(running, reader, "Alibaba Cloud").params["reply_markup"])
            message = fake.bot_messages(reader)[-1]
            theirs = buttons(ask(running, other, "Huawei strategy").params["reply_markup"])
            sent, inline_id = ask_inline_and_send(running, other, "Tencent capital expenditure")
            real_inline = buttons(sent["reply_markup"])[2]
            forged = [
                (reader, message, theirs[2]["callback_data"], None),  # another answer's id
                (reader, message, "f:0123456789ab:1", None),  # an id never issued
                (other, None, "f:0123456789ab:0", inline_id),
                (other, None, mine[1]["callback_data"], inline_id),  # not an inline result's
            ]
            for user, on, data, inline in forged:
                answered, _ = press(running, user, on, data, inline_message_id=inline, forged=True)
                assert answered.params["text"] == EXPIRED, data
            real = [
                (reader, message, mine[1]["callback_data"], None),
                (other, None, real_inline["callback_data"], inline_id),
            ]
            for user, on, data, inline in real:
                answered, _ = press(running, user, on, data, inline_message_id=inline)
                assert answered.params["text"] != EXPIRED, data
        finally:
            assert running.stop(signal.SIGTERM) == 0  # drains the query log
    assert feedback(running.database) == sorted(
        [
            (mine[1]["callback_data"].split(":")[1], 1),
            (real_inline["callback_data"].split(":")[1], 0),
        ]
    )
