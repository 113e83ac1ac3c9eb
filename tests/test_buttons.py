"""handlers/buttons.py in process: one answer per press, whatever fails, and the data checks."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from unittest.mock import AsyncMock

import pytest
from telegram import CallbackQuery, Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, User
from telegram.error import TimedOut

import handlers.buttons as buttons
from bot.callbacks import decode
from bot.state import MAX_ISSUED, BotState
from handlers.buttons import FAILED, Press, carried, on_button

READER = User(7, "Reader", is_bot=False)
VOTE = "f:0123456789ab:1"


def bare_context() -> SimpleNamespace:
    """What on_button reads before dispatch: no chat's state, the default languages."""
    return SimpleNamespace(chat_data=None, bot_data=BotState())


def stub_update() -> tuple[SimpleNamespace, AsyncMock]:
    """An update whose callback query records its answers."""
    answer = AsyncMock(return_value=True)
    query = SimpleNamespace(id="q1", answer=answer)
    return SimpleNamespace(callback_query=query, effective_user=None), answer


def query_on(message: Message | None, data: str) -> CallbackQuery:
    return CallbackQuery("q1", READER, "ci", message=message, data=data)


def message_with(*data: str) -> Message:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data=d) for d in data]])
    chat = Chat(7, Chat.PRIVATE)
    return Message(1, datetime.now(UTC), chat, reply_markup=keyboard)


async def test_a_second_answer_is_dropped() -> None:
    update, answer = stub_update()
    press = Press(update.callback_query)
    await press.answer("first")
    await press.answer("second")
    answer.assert_awaited_once_with("first", show_alert=None)


async def test_a_failure_after_the_answer_is_not_answered_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def answer_then_fail(update: object, context: object, press: Press) -> None:
        await press.answer("done")
        raise RuntimeError("the edit failed")

    monkeypatch.setattr(buttons, "dispatch", answer_then_fail)
    update, answer = stub_update()
    with pytest.raises(RuntimeError):  # for the error handler to log
        await on_button(update, bare_context())
    answer.assert_awaited_once_with("done", show_alert=None)


async def test_a_failure_before_the_answer_is_answered_failed_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fail(update: object, context: object, press: Press) -> None:
        raise RuntimeError("the library is gone")

    monkeypatch.setattr(buttons, "dispatch", fail)
    update, answer = stub_update()
    with pytest.raises(RuntimeError):
        await on_button(update, bare_context())
    answer.assert_awaited_once_with(FAILED, show_alert=None)


async def test_an_answer_that_timed_out_is_not_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def answer(update: object, context: object, press: Press) -> None:
        await press.answer("done")

    monkeypatch.setattr(buttons, "dispatch", answer)
    update, answered = stub_update()
    answered.side_effect = TimedOut()  # it may have arrived: a second answer would fail
    with pytest.raises(TimedOut):
        await on_button(update, bare_context())
    assert answered.await_count == 1


async def test_a_path_that_forgot_to_answer_still_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    async def nothing(update: object, context: object, press: Press) -> None:
        return None

    monkeypatch.setattr(buttons, "dispatch", nothing)
    update, answer = stub_update()
    await on_button(update, bare_context())
    answer.assert_awaited_once_with(None, show_alert=None)


def test_only_data_on_the_pressed_message_is_carried() -> None:
    context = SimpleNamespace(bot_data=BotState())
    message = message_with("s:0123456789:abcdef", VOTE, "f:0123456789ab:0")
    assert carried(query_on(message, VOTE), decode(VOTE), context)
    forged = "f:ba9876543210:1"
    assert not carried(query_on(message, forged), decode(forged), context)
    bare = Message(2, datetime.now(UTC), Chat(7, Chat.PRIVATE))  # no keyboard at all
    assert not carried(query_on(bare, VOTE), decode(VOTE), context)


def test_votes_on_inline_messages_need_an_issued_query_id() -> None:
    context = SimpleNamespace(bot_data=BotState())
    assert not carried(query_on(None, VOTE), decode(VOTE), context)
    context.bot_data.issue_inline_query_id("0123456789ab")
    assert carried(query_on(None, VOTE), decode(VOTE), context)
    pick = "p:0123456789:abcdef"  # checked by its content version instead
    assert carried(query_on(None, pick), decode(pick), SimpleNamespace(bot_data=BotState()))


def test_issued_inline_query_ids_are_bounded() -> None:
    state = BotState()
    for number in range(MAX_ISSUED + 5):
        state.issue_inline_query_id(f"{number:012x}")
    assert not state.issued_inline_query_id(f"{0:012x}")
    assert state.issued_inline_query_id(f"{MAX_ISSUED + 4:012x}")
    assert len(state.inline_query_ids) == MAX_ISSUED
