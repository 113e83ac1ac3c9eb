"""What every handler shares: the objects in bot_data, replying, and answering questions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, MutableMapping

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest, TelegramError, TimedOut
from telegram.ext import ContextTypes

from bot.answers import Answer, Match
from bot.callbacks import feedback_data, pick_data, summary_data
from bot.config import Settings
from bot.library import Library
from bot.limits import QuestionLimiter, Verdict
from bot.matching import Outcome
from bot.rendering import HTML, TELEGRAM_MESSAGE_LIMIT, render_answer, split_message
from bot.storage import QueryLog, answer_fields, new_query_id

logger = logging.getLogger(__name__)

# Keys of application.bot_data.
SETTINGS = "settings"
LIBRARY = "library"
QUERY_LOG = "query_log"
ADMIN_MENU_PENDING = "admin_menu_pending"
QUESTION_LIMITER = "question_limiter"
SUMMARY_COOLDOWN = "summary_cooldown"
# Keys of context.chat_data (persisted across restarts).
CURRENT_ARTICLE = "article_id"  # the chat's current article: last summarised, answered, chosen
ANSWERS = "answers"  # question message id -> the answer's message id, for edited questions
QUESTIONS = "questions"  # answer message id -> (question, query id), for button presses
# Bot message id -> the article it answered or summarised: a reply to it asks about that.
MESSAGE_ARTICLES = "message_articles"
REMEMBERED = 200  # per chat, for each of the three maps above

TYPING_DELAY = 0.5  # seconds before "typing…" shows, for answers that take a while
LABEL_LENGTH = 48
SLOW_DOWN = "You're asking faster than I can answer well. Please wait a few seconds."


def settings_of(context: ContextTypes.DEFAULT_TYPE) -> Settings:
    return context.bot_data[SETTINGS]


def library_of(context: ContextTypes.DEFAULT_TYPE) -> Library:
    return context.bot_data[LIBRARY]


def query_log_of(context: ContextTypes.DEFAULT_TYPE) -> QueryLog | None:
    return context.bot_data.get(QUERY_LOG)


def is_group(chat: Chat | None) -> bool:
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def via_of(chat: Chat | None) -> str:
    """The query log's `via` for a message in this chat."""
    return "group" if is_group(chat) else "private"


def replied_article(update: Update, chat_data: MutableMapping) -> str | None:
    """The article of the bot's message this update replies to, if it remembers one."""
    message = update.effective_message
    replied = message.reply_to_message if message is not None else None
    if replied is None:
        return None
    article_id = chat_data.get(MESSAGE_ARTICLES, {}).get(replied.message_id)
    return article_id if isinstance(article_id, str) else None


def remember(chat_data: MutableMapping, name: str, key: int, value: object) -> None:
    """Store key -> value in a per-chat map that keeps only the last REMEMBERED entries."""
    mapping = chat_data.setdefault(name, {})
    mapping.pop(key, None)
    mapping[key] = value
    while len(mapping) > REMEMBERED:
        del mapping[next(iter(mapping))]


async def reply(
    update: Update, html_text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> list[Message]:
    """Reply with HTML, split at Telegram's limit; in groups as a reply to the asking message.

    The keyboard goes on the last part.
    """
    message = update.effective_message
    if message is None:
        return []
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
async def typing_indicator(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> AsyncIterator[None]:
    """Show "typing…" if the work inside takes longer than TYPING_DELAY."""
    chat = update.effective_chat

    async def show_later() -> None:
        await asyncio.sleep(TYPING_DELAY)
        try:
            await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
        except TelegramError as error:
            logger.debug("typing indicator not shown: %s", error)

    task = asyncio.create_task(show_later()) if chat is not None else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def allowed_to_ask(context: ContextTypes.DEFAULT_TYPE, user_id: int | None) -> Verdict:
    """The reader's flood verdict for one more question."""
    limiter: QuestionLimiter | None = context.bot_data.get(QUESTION_LIMITER)
    if limiter is None or user_id is None:
        return Verdict.ALLOW
    return limiter.check(user_id)


def match_label(match: Match, with_headline: bool) -> str:
    """A button label: the section title, and the headline when articles differ."""
    label = match.passage.section
    if with_headline:
        label = f"{label} — {match.article.title}"
    return label if len(label) <= LABEL_LENGTH else label[: LABEL_LENGTH - 1] + "…"


def answer_keyboard(answer: Answer, query_id: str) -> InlineKeyboardMarkup | None:
    """Suggestions as buttons; an answer gets "Full summary" and 👍 / 👎."""
    if answer.outcome is Outcome.SUGGESTED:
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        match_label(m, answer.spans_articles),
                        callback_data=pick_data(m.passage, m.article),
                    )
                ]
                for m in answer.matches
            ]
        )
    if answer.outcome is Outcome.ANSWERED and answer.best is not None:
        return answered_keyboard(answer.best, query_id)
    return None


def answered_keyboard(match: Match, query_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("📄 Full summary", callback_data=summary_data(match.article)),
                InlineKeyboardButton("👍", callback_data=feedback_data(query_id, True)),
                InlineKeyboardButton("👎", callback_data=feedback_data(query_id, False)),
            ]
        ]
    )


async def answer_question(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    question: str,
    *,
    edit_message_id: int | None = None,
) -> Answer | None:
    """Answer from the library (the chat's current article wins ties), reply, and log it.

    With `edit_message_id` (the reader edited their question) the earlier answer is edited
    instead. Past the reader's flood limit: one polite note, then nothing.
    """
    user = update.effective_user
    verdict = allowed_to_ask(context, user.id if user else None)
    if verdict is not Verdict.ALLOW:
        if verdict is Verdict.NOTIFY:
            await reply(update, SLOW_DOWN)
        return None
    library = library_of(context)
    chat_data = context.chat_data if context.chat_data is not None else {}
    started = time.perf_counter()
    answer = library.ask(
        question,
        prefer_article=chat_data.get(CURRENT_ARTICLE),
        about_article=replied_article(update, chat_data),
    )
    latency_ms = (time.perf_counter() - started) * 1000
    if answer.outcome is Outcome.ANSWERED and answer.best is not None:
        chat_data[CURRENT_ARTICLE] = answer.best.article.id
    # The id exists before the row is written, so the buttons can carry it; the row is
    # written once the send is over, with whether the reply got through.
    query_id = new_query_id()
    text = render_answer(answer, HTML)
    keyboard = answer_keyboard(answer, query_id)
    via = via_of(update.effective_chat)
    fields = answer_fields(answer)
    async with logged_delivery(update, context, via, latency_ms, query_id=query_id, **fields):
        answer_id = await _send_or_edit(update, context, text, keyboard, edit_message_id)
    message = update.effective_message
    if answer_id is not None and message is not None:
        remember(chat_data, ANSWERS, message.message_id, answer_id)
        remember(chat_data, QUESTIONS, answer_id, (question, query_id))
        if answer.outcome is Outcome.ANSWERED and answer.best is not None:
            remember(chat_data, MESSAGE_ARTICLES, answer_id, answer.best.article.id)
    logger.debug("update %s: %s in %.1f ms", update.update_id, answer.outcome.value, latency_ms)
    return answer


async def _send_or_edit(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    text: str,
    keyboard: InlineKeyboardMarkup | None,
    edit_message_id: int | None,
) -> int | None:
    """Send the answer (or edit the earlier one); the id of the message holding it."""
    if edit_message_id is None:
        sent = await reply(update, text, keyboard)
        return sent[-1].message_id if sent else None
    chat = update.effective_chat
    try:
        await context.bot.edit_message_text(
            split_message(text)[0],
            chat_id=chat.id,
            message_id=edit_message_id,
            reply_markup=keyboard,
        )
    except BadRequest as error:
        if "not modified" not in error.message.lower():
            raise
    return edit_message_id


@contextlib.asynccontextmanager
async def logged_delivery(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    via: str,
    latency_ms: float | None,
    **fields: object,
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
    context: ContextTypes.DEFAULT_TYPE,
    via: str,
    latency_ms: float | None,
    **fields: object,
) -> str:
    """Queue a row in the query log for this update's chat and reader (never blocks, never
    raises); returns its id. `fields` are record_query's question/outcome/article/passage/
    score (`answer_fields(answer)` for an Answer)."""
    log = query_log_of(context)
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


def record_admin_action(
    context: ContextTypes.DEFAULT_TYPE, user_id: int | None, action: str, allowed: bool
) -> None:
    """Log an admin command attempt, allowed or refused."""
    log = query_log_of(context)
    if log is not None:
        log.record_admin_action(user_id=user_id, action=action, allowed=allowed)
