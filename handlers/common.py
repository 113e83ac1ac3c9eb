"""What every handler shares: the objects in bot_data, replying, and answering questions."""

from __future__ import annotations

import logging
import time

from telegram import Chat, Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.answers import Answer
from bot.config import Settings
from bot.library import Library
from bot.rendering import HTML, render_answer, split_message
from bot.storage import QueryLog, answer_fields

logger = logging.getLogger(__name__)

# Keys of application.bot_data.
SETTINGS = "settings"
LIBRARY = "library"
QUERY_LOG = "query_log"
ADMIN_MENU_PENDING = "admin_menu_pending"
# Key of context.chat_data: the chat's current article (last summarised, answered or chosen).
CURRENT_ARTICLE = "article_id"


def settings_of(context: ContextTypes.DEFAULT_TYPE) -> Settings:
    return context.bot_data[SETTINGS]


def library_of(context: ContextTypes.DEFAULT_TYPE) -> Library:
    return context.bot_data[LIBRARY]


def query_log_of(context: ContextTypes.DEFAULT_TYPE) -> QueryLog | None:
    return context.bot_data.get(QUERY_LOG)


def is_group(chat: Chat | None) -> bool:
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


async def reply(update: Update, html_text: str) -> list[Message]:
    """Reply with HTML, split at Telegram's limit; in groups as a reply to the asking message."""
    message = update.effective_message
    if message is None:
        return []
    quote = is_group(message.chat)
    sent = []
    for number, part in enumerate(split_message(html_text)):
        sent.append(await message.reply_text(part, do_quote=quote and number == 0))
    return sent


async def answer_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: str, via: str
) -> Answer:
    """Answer from the library (the chat's current article wins ties), reply, and log it."""
    library = library_of(context)
    current = context.chat_data.get(CURRENT_ARTICLE) if context.chat_data is not None else None
    started = time.perf_counter()
    answer = library.ask(question, prefer_article=current)
    latency_ms = (time.perf_counter() - started) * 1000
    if answer.best is not None and answer.outcome.value == "answered":
        context.chat_data[CURRENT_ARTICLE] = answer.best.article.id
    await reply(update, render_answer(answer, HTML))
    logger.debug(
        "update %s: %s via %s in %.1f ms", update.update_id, answer.outcome.value, via, latency_ms
    )
    log_question(update, context, answer, via, latency_ms)
    return answer


def log_question(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    answer: Answer,
    via: str,
    latency_ms: float | None,
) -> str | None:
    """Queue the question's row in the query log (never blocks, never raises)."""
    log = query_log_of(context)
    if log is None:
        return None
    chat, user = update.effective_chat, update.effective_user
    return log.record_query(
        via=via,
        chat_ref=chat.id if chat else None,
        chat_type=chat.type if chat else None,
        user_id=user.id if user else None,
        latency_ms=round(latency_ms, 3) if latency_ms is not None else None,
        **answer_fields(answer),
    )


def record_admin_action(
    context: ContextTypes.DEFAULT_TYPE, user_id: int | None, action: str, allowed: bool
) -> None:
    """Log an admin command attempt, allowed or refused."""
    log = query_log_of(context)
    if log is not None:
        log.record_admin_action(user_id=user_id, action=action, allowed=allowed)
