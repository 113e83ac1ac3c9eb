"""python-telegram-bot's persistence over `bot.chat_state`: chat_data only, in SQLite.

A thin adapter: `ChatStateStore` does the work (and knows nothing of Telegram). Each chat's
`ChatState` (bot/state.py) is stored as the plain dict of `ChatState.to_dict` and read back
through `ChatState.from_dict`, so rows written before ChatState existed load as they are.
The Application calls `update_chat_data` for each chat a handler touched (every
`update_interval` seconds and at shutdown); that only stages the chat in memory. `flush`
(the bot's periodic save job and the shutdown) writes every staged chat in one transaction.
bot_data (the library, the query log: rebuilt at each start), user_data, callback data and
conversations are not stored: the getters return empty, the updates do nothing.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from bot.chat_state import ChatStateStore
from bot.state import ChatState

Unstored = dict[Any, Any]  # user_data and bot_data: never stored


class ChatStatePersistence(BasePersistence[Unstored, ChatState, Unstored]):
    """Stores each chat's `chat_data` as one row of the bot's SQLite database."""

    def __init__(self, store: ChatStateStore, update_interval: float = 60) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=True, user_data=False, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.store = store

    # -- chat_data: the one thing stored ---------------------------------------------------

    async def get_chat_data(self) -> dict[int, ChatState]:
        """Every stored chat's state; empty (with a warning) when the database is unreadable."""
        chats = await self.store.load()
        return {chat_id: ChatState.from_dict(data) for chat_id, data in chats.items()}

    async def update_chat_data(self, chat_id: int, data: ChatState) -> None:
        """Stage the chat's state for the next flush, as the dict that is stored."""
        self.store.stage(chat_id, data.to_dict())

    async def drop_chat_data(self, chat_id: int) -> None:
        """Stage the deletion of the chat's row (a group migrated to a supergroup)."""
        self.store.stage_drop(chat_id)

    async def refresh_chat_data(self, chat_id: int, chat_data: ChatState) -> None:
        """Nothing: this process is the only writer, its memory is always the newest."""

    async def flush(self) -> None:
        """Write the staged chats in one transaction; on failure they wait for the next one."""
        await self.store.save()

    # -- not stored ----------------------------------------------------------------------

    async def get_user_data(self) -> dict[int, Unstored]:
        return {}

    async def get_bot_data(self) -> Unstored:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> dict[Any, Any]:
        return {}

    async def update_conversation(self, name: str, key: Any, new_state: object | None) -> None:
        """Not stored (the bot has no ConversationHandler)."""

    async def update_user_data(self, user_id: int, data: Unstored) -> None:
        """Not stored."""

    async def update_bot_data(self, data: Unstored) -> None:
        """Not stored: bot_data is rebuilt at every start."""

    async def update_callback_data(self, data: Any) -> None:
        """Not stored."""

    async def drop_user_data(self, user_id: int) -> None:
        """Not stored."""

    async def refresh_user_data(self, user_id: int, user_data: Unstored) -> None:
        """Not stored."""

    async def refresh_bot_data(self, bot_data: Unstored) -> None:
        """Not stored."""
