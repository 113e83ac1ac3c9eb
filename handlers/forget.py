"""/forget: a reader deletes everything logged about them, after confirming with a button."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.i18n import Translator
from handlers.common import (
    Context,
    Handlers,
    Incoming,
    Pressed,
    on_message,
    on_press,
    reply,
    translator_for,
)

logger = logging.getLogger(__name__)

CONFIRM = "forget:yes"
CANCEL = "forget:no"


@on_message
async def forget(incoming: Incoming, context: Context) -> None:
    """Ask for confirmation before deleting the reader's rows (private chats only)."""
    message = incoming.message
    t = translator_for(incoming.update, context)
    if incoming.chat.type != ChatType.PRIVATE:
        await reply(message, t.gettext("Send /forget to me in a private chat."))
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t.gettext("Delete my data"), callback_data=CONFIRM),
                InlineKeyboardButton(t.gettext("Cancel"), callback_data=CANCEL),
            ]
        ]
    )
    await message.reply_text(
        t.gettext("This deletes every question, vote and admin action logged for you. Delete?"),
        reply_markup=keyboard,
    )


@on_press
async def forget_button(pressed: Pressed, context: Context) -> None:
    """Delete on confirmation and say what was deleted; every press is answered."""
    query = pressed.query
    t = translator_for(pressed.update, context)
    if query.data != CONFIRM:
        await query.answer(t.gettext("Nothing was deleted."))
        await query.edit_message_text(t.gettext("Cancelled: nothing was deleted."))
        return
    log = context.bot_data.query_log
    try:
        if log is None:
            raise RuntimeError("the query log is not open")
        kept = await forget_follows(context, query.from_user.id)
        result = await log.forget(query.from_user.id)
    except Exception:
        logger.exception("forget failed")
        await query.answer(
            t.gettext("Nothing was deleted; please try again later."), show_alert=True
        )
        return
    if context.chat_data is not None:
        # The private chat's state (its current article, recent questions) goes too; the
        # persistence writes the emptied state with the next save.
        context.chat_data.clear()
    records = result.admin_actions + result.reloads
    questions = t.ngettext("{count} question", "{count} questions", result.queries)
    votes = t.ngettext("{count} vote", "{count} votes", result.feedback)
    admin = t.ngettext("{count} admin record", "{count} admin records", records)
    await query.answer(t.gettext("Deleted."))
    await query.edit_message_text(
        t.gettext(
            "Deleted: {questions}, {votes}, {records}, and what I remembered of this chat. "
            "Nothing about you is left in the query log."
        ).format(
            questions=questions.format(count=result.queries),
            votes=votes.format(count=result.feedback),
            records=admin.format(count=records),
        )
        + ("\n" + forgotten_follows(kept, t) if any(kept) else "")
    )


async def forget_follows(context: Context, user_id: int) -> tuple[int, int]:
    """Delete the reader's topic follows in private and their "tell me when answered"
    requests; how many of each."""
    state = context.bot_data
    follows = await state.follows.forget_chat(user_id) if state.follows is not None else 0
    requests = await state.watches.forget_chat(user_id) if state.watches is not None else 0
    return follows, requests


def forgotten_follows(counts: tuple[int, int], t: Translator) -> str:
    """The line saying how many follows and answer requests went too."""
    follows, requests = counts
    topics = t.ngettext("{count} followed topic", "{count} followed topics", follows)
    waiting = t.ngettext("{count} answer request", "{count} answer requests", requests)
    return t.gettext("Also deleted: {topics} and {requests}.").format(
        topics=topics.format(count=follows), requests=waiting.format(count=requests)
    )


def handlers() -> Handlers:
    return [
        CommandHandler("forget", forget, filters=filters.UpdateType.MESSAGE),
        CallbackQueryHandler(forget_button, pattern=r"^forget:"),
    ]
