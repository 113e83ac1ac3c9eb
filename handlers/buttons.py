"""Button presses: a suggested passage, the full summary, and 👍 / 👎 feedback.

Every callback query is answered, also when the button expired or something failed, so
the reader's client never spins.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, ContextTypes

from bot.answers import Answer
from bot.callbacks import FEEDBACK, PICK, SUMMARY, Action, article_version, decode, passage_version
from bot.matching import Outcome
from bot.rendering import HTML, render_match, render_summary, split_message
from bot.storage import answer_fields
from handlers.common import (
    CURRENT_ARTICLE,
    QUESTIONS,
    answered_keyboard,
    library_of,
    log_question,
    query_log_of,
    remember,
    reply,
    typing_indicator,
)

logger = logging.getLogger(__name__)

EXPIRED = "This button has expired: the articles changed since. Please ask again."
FAILED = "Sorry, that did not work. Please try again."


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Dispatch a press to its action; always answer the callback query."""
    query = update.callback_query
    if query is None:
        return
    action = decode(query.data)
    try:
        if action is None:
            await query.answer(EXPIRED, show_alert=True)
        elif action.kind == PICK:
            await show_passage(update, context, action)
        elif action.kind == SUMMARY:
            await show_summary(update, context, action)
        elif action.kind == FEEDBACK:
            await record_feedback(update, context, action)
    except Exception:
        # Answer the press (unless that already happened), then let the error handler log it.
        with contextlib.suppress(TelegramError):
            await query.answer(FAILED)
        raise


async def show_passage(update: Update, context: ContextTypes.DEFAULT_TYPE, action: Action) -> None:
    """A suggestion was chosen: turn the message into that passage's full answer."""
    query = update.callback_query
    match = library_of(context).passage_by_key(action.key)
    if match is None or passage_version(match.passage, match.article) != action.version:
        await query.answer(EXPIRED, show_alert=True)
        return
    await query.answer()
    message = query.message
    asked = context.chat_data.get(QUESTIONS, {}).get(message.message_id) if message else None
    question = asked[0] if asked else match.passage.section
    chosen = Answer(question, Outcome.ANSWERED, (match,))
    query_id = log_question(update, context, "callback", None, **answer_fields(chosen))
    context.chat_data[CURRENT_ARTICLE] = match.article.id
    text = split_message(render_match(match, HTML))[0]
    await query.edit_message_text(text, reply_markup=answered_keyboard(match, query_id))
    if message is not None:
        remember(context.chat_data, QUESTIONS, message.message_id, (question, query_id))


async def show_summary(update: Update, context: ContextTypes.DEFAULT_TYPE, action: Action) -> None:
    """ "Full summary": send the article's summary below the answer."""
    query = update.callback_query
    article = library_of(context).article_by_key(action.key)
    if article is None or article_version(article) != action.version:
        await query.answer(EXPIRED, show_alert=True)
        return
    await query.answer()
    context.chat_data[CURRENT_ARTICLE] = article.id
    async with typing_indicator(update, context):
        await reply(update, render_summary(article, HTML))


async def record_feedback(
    update: Update, context: ContextTypes.DEFAULT_TYPE, action: Action
) -> None:
    """👍 / 👎: one vote per reader and answer; pressing again changes it."""
    query = update.callback_query
    log = query_log_of(context)
    if log is not None:
        log.record_feedback(
            query_id=action.key, user_id=query.from_user.id, helpful=bool(action.helpful)
        )
    await query.answer(
        "Thanks, glad it helped!" if action.helpful else "Thanks, noted. Sorry it didn't help."
    )


def handlers() -> list[BaseHandler]:
    return [CallbackQueryHandler(on_button, pattern=r"^[psf]:")]
