"""What every handler shares: the typed context, narrowing an update, replying, logging.

A handler never starts with `if update.effective_message is None: return`: it is
decorated with one of the `on_*` decorators below, which narrow the update once (to a
message in a chat, a button press, an inline query…) and skip the updates without one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import (
    CallbackQuery,
    Chat,
    ChatMemberUpdated,
    ChosenInlineResult,
    InlineKeyboardMarkup,
    InlineQuery,
    Message,
    Update,
    User,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError, TimedOut
from telegram.ext import Application, BaseHandler, CallbackContext, ExtBot, JobQueue

from bot.conversation import Conversation
from bot.i18n import Translator
from bot.querylog import new_query_id
from bot.rendering import TELEGRAM_MESSAGE_LIMIT, split_message
from bot.state import BotState, ChatState

logger = logging.getLogger(__name__)

# The handlers' context: `context.bot_data` is the BotState, `context.chat_data` the chat's
# ChatState (None for an update without a chat); user_data is not used. The bot is an
# ExtBot with or without the rate limiter (its type argument differs).
Context = CallbackContext[ExtBot[Any], dict[Any, Any], ChatState, BotState]
# (The job queue's context type stays PTB's default: ApplicationBuilder does not follow
# context_types there. The jobs get a Context all the same.)
App = Application[ExtBot[Any], Context, dict[Any, Any], ChatState, BotState, JobQueue[Any]]
Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]
Handlers = list[BaseHandler[Update, Context, None]]

T = TypeVar("T")


# -- narrowing an update, once -----------------------------------------------------------


def chat_state(context: Context) -> ChatState:
    """The chat's state; a throwaway one for an update without a chat (nothing to keep).

    Read only where it is used: python-telegram-bot makes a chat's entry on first access,
    and a group that migrates must not get one back for its old id (see handlers.groups).
    """
    return context.chat_data if context.chat_data is not None else ChatState()


def conversation_of(context: Context) -> Conversation:
    """The conversation rules (bot/conversation.py) over this chat's state and the library as
    it is now (the conversation keeps it, should /reload swap it meanwhile)."""
    return Conversation(context.bot_data.library, chat_state(context))


def translator_for(update: Update, context: Context) -> Translator:
    """The language to answer this update in (bot/i18n.py): the chat's choice (/language),
    else the Telegram language of the reader who sent it, else English."""
    chat_data = context.chat_data  # None for an update without a chat (inline mode)
    chosen = chat_data.language if chat_data is not None else None
    user = update.effective_user
    code = user.language_code if user is not None else None
    return context.bot_data.translators.for_reader(chosen, code)


@dataclass(frozen=True)
class Incoming:
    """A message (new or edited) in a chat: what message handlers get instead of the update."""

    update: Update
    message: Message
    chat: Chat
    user: User | None  # None for a message sent on behalf of a chat

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None

    @classmethod
    def of(cls, update: Update, context: Context) -> Incoming | None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return None
        return cls(update, message, chat, update.effective_user)


@dataclass(frozen=True)
class Pressed:
    """A button press: the callback query, and its update (whose chat may be None: a
    message sent via inline mode has none)."""

    update: Update
    query: CallbackQuery

    @classmethod
    def of(cls, update: Update, context: Context) -> Pressed | None:
        query = update.callback_query
        return cls(update, query) if query is not None else None


def _inline_query(update: Update, context: Context) -> InlineQuery | None:
    return update.inline_query


def _chosen_result(update: Update, context: Context) -> ChosenInlineResult | None:
    return update.chosen_inline_result


def _member_change(update: Update, context: Context) -> ChatMemberUpdated | None:
    return update.my_chat_member


def _user(update: Update, context: Context) -> User | None:
    return update.effective_user


def narrowed(
    pick: Callable[[Update, Context], T | None],
) -> Callable[[Callable[[T, Context], Awaitable[None]]], Callback]:
    """A decorator: the handler gets `pick(update, context)` instead of the update, and an
    update for which that is None is skipped (its handler's filters should exclude it)."""

    def decorate(handler: Callable[[T, Context], Awaitable[None]]) -> Callback:
        @functools.wraps(handler)
        async def callback(update: Update, context: Context) -> None:
            value = pick(update, context)
            if value is None:
                logger.debug("update %s skipped by %s", update.update_id, handler.__name__)
                return
            await handler(value, context)

        return callback

    return decorate


on_message = narrowed(Incoming.of)
on_press = narrowed(Pressed.of)
on_inline_query = narrowed(_inline_query)
on_chosen_result = narrowed(_chosen_result)
on_member_change = narrowed(_member_change)
on_user = narrowed(_user)


# -- chats and replies -------------------------------------------------------------------


def is_group(chat: Chat | None) -> bool:
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def via_of(chat: Chat | None) -> str:
    """The query log's `via` for a message in this chat."""
    return "group" if is_group(chat) else "private"


async def reply(
    message: Message, html_text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> list[Message]:
    """Reply with HTML, split at Telegram's limit; in groups as a reply to the message.

    The keyboard goes on the last part.
    """
    quote = is_group(message.chat)
    parts = await split_message_off_loop(html_text)
    sent = []
    for number, part in enumerate(parts):
        markup = reply_markup if number == len(parts) - 1 else None
        sent.append(
            await message.reply_text(part, do_quote=quote and number == 0, reply_markup=markup)
        )
    return sent


async def split_message_off_loop(html_text: str) -> list[str]:
    """split_message, in a thread when the text needs splitting at all.

    It walks the text character by character: about 1.5 s for the summary of an article at
    the content limits (200 passages of 2,000 characters), 0.25 s for /articles of 1,000
    articles. A text that fits in one message takes its fast path, on the loop.
    """
    if len(html_text) <= TELEGRAM_MESSAGE_LIMIT:
        return split_message(html_text)
    return await asyncio.to_thread(split_message, html_text)


@contextlib.asynccontextmanager
async def typing_indicator(update: Update, context: Context) -> AsyncIterator[None]:
    """Show "typing…" if the work inside takes longer than TYPING_DELAY_SECONDS."""
    chat = update.effective_chat
    delay = context.bot_data.settings.typing_delay_seconds

    async def show_later(chat_id: int) -> None:
        await asyncio.sleep(delay)
        try:
            await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as error:
            logger.debug("typing indicator not shown: %s", error)

    task = asyncio.create_task(show_later(chat.id)) if chat is not None else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


# -- the query log -----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def logged_delivery(
    update: Update,
    context: Context,
    via: str,
    latency_ms: float | None,
    **fields: Any,
) -> AsyncIterator[None]:
    """Log the question once the reply inside has been sent, with whether it got through:
    delivered, not (Telegram refused, a flood outlasted the give-up, a shutdown cut it off)
    or unknown (the send timed out and may have arrived)."""
    delivered: bool | None = False
    try:
        yield
        delivered = True
    except TimedOut:
        delivered = None
        raise
    finally:
        log_question(update, context, via, latency_ms, delivered=delivered, **fields)


def log_question(
    update: Update,
    context: Context,
    via: str,
    latency_ms: float | None,
    **fields: Any,
) -> str:
    """Queue a row in the query log for this update's chat and reader (never blocks, never
    raises); returns its id. `fields` are record_query's question/outcome/article/passage/
    score (`answer_fields(answer)` for an Answer)."""
    log = context.bot_data.query_log
    if log is None:
        return new_query_id()
    chat, user = update.effective_chat, update.effective_user
    return log.record_query(
        via=via,
        chat_ref=chat.id if chat else None,
        chat_type=chat.type if chat else None,
        user_id=user.id if user else None,
        latency_ms=round(latency_ms, 3) if latency_ms is not None else None,
        **fields,
    )
