"""handlers/common.py's narrowing decorators and handlers/access.py's admin_only, in process."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, Mock

from telegram import Chat, Update, User

from bot.config import Settings
from bot.state import BotState, ChatState
from handlers.access import REFUSAL, admin_only
from handlers.common import Context, Incoming, Pressed, on_message, on_press, on_user

ADMIN, READER = 42, 7


def message_update(text: str = "hi", user_id: int | None = READER) -> Update:
    message: dict[str, Any] = {
        "message_id": 1,
        "date": 0,
        "chat": {"id": user_id or -100, "type": "private"},
        "text": text,
    }
    if user_id is not None:
        message["from"] = {"id": user_id, "is_bot": False, "first_name": "R"}
    return Update.de_json({"update_id": 1, "message": message}, None)


def inline_update() -> Update:
    query = {
        "id": "1",
        "from": {"id": READER, "is_bot": False, "first_name": "R"},
        "query": "q",
        "offset": "",
    }
    return Update.de_json({"update_id": 2, "inline_query": query}, None)


def context(**state: Any) -> Any:
    return SimpleNamespace(bot_data=BotState(**state), chat_data=ChatState())


async def test_each_decorator_hands_over_its_part_or_skips_the_update() -> None:
    seen: list[object] = []

    @on_message
    async def message_handler(incoming: Incoming, context: Context) -> None:
        """Record."""
        seen.append(incoming)

    @on_press
    async def press_handler(pressed: Pressed, context: Context) -> None:
        seen.append(pressed)

    @on_user
    async def user_handler(user: User, context: Context) -> None:
        seen.append(user)

    update = message_update("Huawei strategy")
    await message_handler(update, context())
    (incoming,) = seen
    assert isinstance(incoming, Incoming) and incoming.update is update
    assert incoming.message.text == "Huawei strategy"
    assert incoming.chat.id == READER and incoming.user_id == READER
    assert message_handler.__doc__ == "Record."  # the handler keeps its name and docstring
    seen.clear()
    await message_handler(inline_update(), context())  # no message: skipped
    await press_handler(update, context())  # no callback query: skipped
    assert seen == []
    await user_handler(inline_update(), context())
    assert [u.id for u in seen if isinstance(u, User)] == [READER]


async def test_a_message_without_a_sender_has_no_user() -> None:
    seen: list[Incoming] = []

    @on_message
    async def handler(incoming: Incoming, context: Context) -> None:
        seen.append(incoming)

    await handler(message_update(user_id=None), context())
    assert seen[0].user is None and seen[0].user_id is None


def stub_incoming(user_id: int | None) -> tuple[Incoming, AsyncMock]:
    reply_text = AsyncMock()
    message = SimpleNamespace(chat=Chat(user_id or 1, Chat.PRIVATE), reply_text=reply_text)
    user = User(user_id, "R", is_bot=False) if user_id is not None else None
    update = Update(1)
    return Incoming(update, message, message.chat, user), reply_text


async def test_admin_only_runs_for_an_admin_and_refuses_anyone_else() -> None:
    ran: list[int | None] = []

    @admin_only("reload")
    async def reload(incoming: Incoming, context: Context) -> None:
        ran.append(incoming.user_id)

    log = SimpleNamespace(record_admin_action=Mock())
    ctx = context(settings=Settings(admin_user_ids=frozenset({ADMIN})), query_log=log)
    for user_id in (ADMIN, READER, None):
        incoming, reply_text = stub_incoming(user_id)
        await reload(incoming, ctx)
        if user_id == ADMIN:
            reply_text.assert_not_awaited()
        else:
            assert reply_text.await_args.args == (REFUSAL,)
    assert ran == [ADMIN]
    assert [c.kwargs for c in log.record_admin_action.call_args_list] == [
        {"user_id": ADMIN, "action": "reload", "allowed": True},
        {"user_id": READER, "action": "reload", "allowed": False},
        {"user_id": None, "action": "reload", "allowed": False},
    ]
