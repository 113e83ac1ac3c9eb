"""Last in line: in a private chat, an unknown command or a non-text message gets a hint;
a button press no feature took (an older version's button, forged data) is answered."""

from __future__ import annotations

import html

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from handlers.buttons import on_button
from handlers.common import reply


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command the bot does not have."""
    message = update.effective_message
    command = (message.text or "").split()[0] if message else ""
    await reply(update, f"I don't know {html.escape(command)}. /help lists what I can do.")


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sticker, photo, voice note…: questions come as text."""
    await reply(update, "I answer questions sent as text. Try /help for examples.")


def handlers() -> list[BaseHandler]:
    private_new = filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE
    return [
        MessageHandler(private_new & filters.COMMAND, unknown_command),
        # Documents are the upload handler's (admins) or refused there; service messages
        # (pinned, joined…) need no answer.
        MessageHandler(
            private_new & ~filters.TEXT & ~filters.Document.ALL & ~filters.StatusUpdate.ALL,
            not_text,
        ),
        # Data of any shape: on_button answers what it does not know "expired", so no
        # reader's button keeps spinning.
        CallbackQueryHandler(on_button),
    ]
