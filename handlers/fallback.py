"""Last in line: in a private chat, an unknown command or a non-text message gets a hint;
a button press no feature took (an older version's button, forged data) is answered."""

from __future__ import annotations

import html

from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from handlers.buttons import on_button
from handlers.common import Context, Handlers, Incoming, on_message, reply, translator_for


@on_message
async def unknown_command(incoming: Incoming, context: Context) -> None:
    """A command the bot does not have."""
    command = (incoming.message.text or "").split()[0]
    t = translator_for(incoming.update, context)
    text = t.gettext("I don't know {command}. /help lists what I can do.")
    await reply(incoming.message, text.format(command=html.escape(command)))


@on_message
async def not_text(incoming: Incoming, context: Context) -> None:
    """A sticker, photo, voice note…: questions come as text."""
    t = translator_for(incoming.update, context)
    await reply(
        incoming.message, t.gettext("I answer questions sent as text. Try /start for examples.")
    )


def handlers() -> Handlers:
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
