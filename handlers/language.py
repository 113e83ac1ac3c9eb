"""/language: the chat's language, chosen with a button (English, 简体中文, 繁體中文).

The choice is kept in the chat's state (`ChatState.language`) and wins over each reader's
Telegram language. In a group only its administrators may change it, checked with
getChatMember when the button is pressed (anyone can press a button they see).
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.i18n import LANGUAGE_NAMES, LANGUAGES, N_
from handlers.access import may_change_chat, may_press_in_chat
from handlers.buttons import EXPIRED
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

PREFIX = "lang:"  # callback_data "lang:zh_Hant": 12 bytes at most
ADMINS_ONLY = N_("Only the group's admins can change my language here.")


def language_keyboard() -> InlineKeyboardMarkup:
    """One button per language, each named in its own language."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(LANGUAGE_NAMES[code], callback_data=PREFIX + code)
                for code in LANGUAGES
            ]
        ]
    )


@on_message
async def language(incoming: Incoming, context: Context) -> None:
    """Offer the languages; in a group, only to its admins."""
    t = translator_for(incoming.update, context)
    if not await may_change_chat(incoming, context, ADMINS_ONLY):
        return
    await reply(
        incoming.message,
        t.gettext("Which language should I use in this chat?"),
        language_keyboard(),
    )


@on_press
async def choose_language(pressed: Pressed, context: Context) -> None:
    """Keep the chosen language for the chat (a group's admins only) and say so in it."""
    query = pressed.query
    t = translator_for(pressed.update, context)
    code = (query.data or "").removeprefix(PREFIX)
    message = query.message
    if code not in LANGUAGES or not isinstance(message, Message) or context.chat_data is None:
        await query.answer(t.gettext(EXPIRED), show_alert=True)
        return
    if not await may_press_in_chat(pressed, message.chat, context, ADMINS_ONLY):
        return
    context.chat_data.language = code
    chosen = context.bot_data.translators[code]
    done = chosen.gettext("From now on I speak {language} in this chat.")
    await query.answer(done.format(language=LANGUAGE_NAMES[code]))
    await query.edit_message_text(done.format(language=LANGUAGE_NAMES[code]))


def handlers() -> Handlers:
    return [
        CommandHandler("language", language, filters=filters.UpdateType.MESSAGE),
        CallbackQueryHandler(choose_language, pattern=rf"^{PREFIX}"),
    ]
