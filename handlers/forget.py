"""/forget: a reader deletes everything logged about them, after confirming with a button."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

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
    )


def handlers() -> Handlers:
    return [
        CommandHandler("forget", forget, filters=filters.UpdateType.MESSAGE),
        CallbackQueryHandler(forget_button, pattern=r"^forget:"),
    ]
