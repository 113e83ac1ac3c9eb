"""The typed application state (bot/state.py): ChatState across the persistence boundary,
rows stored before it existed, and BotState as the Application builds it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application
from bot.chat_state import ChatStateStore
from bot.config import Settings
from bot.limits import Cooldown, QuestionLimiter, Verdict
from bot.persistence import ChatStatePersistence
from bot.state import REMEMBERED, BotState, ChatState
from tests.test_chat_state import shape

# A chat's row as the bot wrote it before ChatState: a dict under these string keys.
OLD_ROW: dict[str, Any] = {
    "article_id": "000_4859508c0bdee28a",
    "answers": {101: 102, 103: 104},
    "questions": {102: ("Huawei strategy", "a1b2c3d4e5f6"), 104: ("云计算", "0123456789ab")},
    "message_articles": {102: "000_4859508c0bdee28a", 110: "001_other"},
    "greeted": True,
}


def test_an_old_row_loads_into_every_field_and_is_stored_back_the_same() -> None:
    state = ChatState.from_dict(OLD_ROW)
    assert state.current_article == "000_4859508c0bdee28a"
    assert state.answers == {101: 102, 103: 104}
    assert state.questions[104] == ("云计算", "0123456789ab")
    assert state.message_articles[110] == "001_other"
    assert state.greeted
    assert shape(state.to_dict()) == shape(OLD_ROW)  # types and order too


@pytest.mark.parametrize(
    "row",
    [
        {},
        {"greeted": True},
        {"article_id": "x"},
        {"answers": {1: 2}, "questions": {2: ("q", "id")}},
        {"suggestions": ("Huawei strategy", ("a#1", "a#5"))},
    ],
)
def test_a_partial_row_round_trips(row: dict[str, Any]) -> None:
    assert ChatState.from_dict(row).to_dict() == row


def test_a_fresh_or_forgotten_chat_stores_an_empty_dict() -> None:
    assert ChatState().to_dict() == {}
    state = ChatState.from_dict(OLD_ROW)
    state.clear()
    assert state == ChatState() and state.to_dict() == {}


def test_unknown_keys_and_wrong_types_are_left_out_not_fatal() -> None:
    row = {
        "article_id": 5,  # not an id
        "answers": [1, 2],  # not a map
        "questions": {1: "no query id", 2: ("q", "id"), "3": ("a", "b"), 4: ["q", "id"]},
        "message_articles": {1: None, 2: "a", 3.0: "float key"},
        "greeted": "yes",  # only True counts
        "suggestions": ("q", ("a#1", 5)),  # a passage id that is not a string
        "from_a_newer_bot": {"anything": (1, 2)},
        7: "a non-string key",
    }
    state = ChatState.from_dict(row)
    assert state == ChatState(questions={2: ("q", "id"), 4: ("q", "id")}, message_articles={2: "a"})


def test_remembered_maps_keep_the_last_entries_even_from_an_old_row() -> None:
    state = ChatState.from_dict({"answers": {n: n for n in range(REMEMBERED + 50)}})
    assert len(state.answers) == REMEMBERED and next(iter(state.answers)) == 50
    state.remember_question(1, "q", "id")
    state.remember_article(1, "a")
    for number in range(REMEMBERED):
        state.remember_article(number + 2, "b")
    assert 1 not in state.message_articles and state.questions == {1: ("q", "id")}


async def test_the_persistence_hands_out_chat_states_and_stores_plain_dicts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = ChatStateStore(tmp_path / "bot.sqlite3")
    await store.load()
    store.stage(1, OLD_ROW)  # rows already in users' databases
    store.stage(2, {"greeted": True, "retired_key": [1, 2, 3]})
    await store.save()
    persistence = ChatStatePersistence(ChatStateStore(store.path))
    with caplog.at_level(logging.WARNING):
        chats = await persistence.get_chat_data()
    assert caplog.text == ""
    assert chats == {1: ChatState.from_dict(OLD_ROW), 2: ChatState(greeted=True)}
    chats[1].remember_answer(105, 106)
    chats[1].current_article = "001_other"
    await persistence.update_chat_data(1, chats[1])
    await persistence.flush()
    stored = await ChatStateStore(store.path).load()
    assert stored[1] == {
        **OLD_ROW,
        "article_id": "001_other",
        "answers": {101: 102, 103: 104, 105: 106},
    }
    assert stored[2] == {"greeted": True, "retired_key": [1, 2, 3]}  # untouched: not staged


def test_the_application_is_built_with_the_typed_state() -> None:
    settings = Settings(telegram_bot_token="123:abc", telegram_base_url="http://127.0.0.1:9/bot")
    application = build_application(settings)
    assert application.context_types.bot_data is BotState
    assert application.context_types.chat_data is ChatState
    state = application.bot_data
    assert isinstance(state, BotState) and state.settings is settings
    assert isinstance(state.question_limiter, QuestionLimiter)
    assert isinstance(state.summary_cooldown, Cooldown)
    assert state.query_log is None  # opened by post_init
    assert isinstance(application.chat_data[1], ChatState)


def test_bot_state_before_post_init() -> None:
    state = BotState()
    with pytest.raises(RuntimeError, match="before post_init"):
        _ = state.library
    assert state.allowed_to_ask(7) is Verdict.ALLOW  # no limiter: no limit
    state.question_limiter = QuestionLimiter(1, 60)
    assert state.allowed_to_ask(7) is Verdict.ALLOW
    assert state.allowed_to_ask(7) is not Verdict.ALLOW
    assert state.allowed_to_ask(None) is Verdict.ALLOW  # no reader to count
