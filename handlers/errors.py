"""The global error handler: log with the update's ids, tell a private user, keep running."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.i18n import N_
from handlers.common import Context, translator_for

logger = logging.getLogger(__name__)

SORRY = N_("Sorry, something went wrong on my side. Please try again in a moment.")


async def on_error(update: object, context: Context) -> None:
    """Log the exception and tell a private reader; blocked, flood and network errors are
    only logged (no apology for an answer that may have arrived, or into a flood)."""
    error = context.error
    ids = _update_ids(update)
    if isinstance(error, Forbidden):
        logger.info("forbidden (the reader blocked the bot?) %s: %s", ids, error)
        return
    # (BadRequest is a NetworkError too: only the plain connection failure counts here.)
    if isinstance(error, RetryAfter | TimedOut) or type(error) is NetworkError:
        # A flood that outlasted FLOOD_GIVE_UP_SECONDS, or a send that timed out (TimedOut is
        # a NetworkError) and may well have arrived: an apology would be wrong or flood more.
        logger.warning("not delivered %s: %s", ids, error)
        return
    logger.error("error while handling %s", ids, exc_info=error)
    if (
        isinstance(update, Update)
        and update.effective_chat is not None
        and update.effective_chat.type == ChatType.PRIVATE
    ):
        try:
            sorry = translator_for(update, context).gettext(SORRY)
            await context.bot.send_message(update.effective_chat.id, sorry)
        except TelegramError as send_error:
            logger.warning("could not tell the reader about the error: %s", send_error)


def _update_ids(update: object) -> str:
    if not isinstance(update, Update):
        return "a non-update event"
    chat = update.effective_chat
    user = update.effective_user
    message = update.effective_message
    return (
        f"update {update.update_id} (chat {chat.id if chat else '-'}, "
        f"user {user.id if user else '-'}, message {message.message_id if message else '-'})"
    )
