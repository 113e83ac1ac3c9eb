"""Command menus: public ones for private chats and groups, admin ones per admin chat."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    Update,
    User,
)
from telegram.error import BadRequest, TelegramError
from telegram.ext import TypeHandler

from bot.i18n import EN, N_, ZH_HANS, Translator, Translators
from handlers.common import App, Context, Handlers, on_user

logger = logging.getLogger(__name__)

# The menus' commands and their descriptions (translated per menu language below).
PRIVATE_COMMANDS = [
    ("summary", N_("An article's core viewpoint and sections")),
    ("articles", N_("The articles I know, newest first")),
    ("language", N_("English, 简体中文 or 繁體中文")),
    ("digest", N_("New articles daily or weekly: /digest daily 08:00")),
    ("timezone", N_("The digest's time zone: /timezone Asia/Shanghai")),
    ("follow", N_("Get new passages about a topic")),
    ("following", N_("The topics this chat follows")),
    ("help", N_("What I can do")),
    ("privacy", N_("What is logged and how to delete it")),
    ("forget", N_("Delete everything logged about you")),
]
GROUP_COMMANDS = [
    ("ask", N_("Ask a question about the articles")),
    ("summary", N_("An article's core viewpoint and sections")),
    ("articles", N_("The articles I know, newest first")),
    ("language", N_("The group's language (admins)")),
    ("digest", N_("The group's digest of new articles (admins)")),
    ("timezone", N_("The group's time zone for digests (admins)")),
    ("follow", N_("Get new passages about a topic (admins)")),
    ("following", N_("The topics this chat follows")),
    ("help", N_("What I can do")),
]
ADMIN_COMMANDS = [
    ("reload", N_("Re-read the articles and the glossary")),
    ("stats", N_("What readers asked: /stats [days]")),
]
# Telegram picks a menu by the reader's language_code, and takes two-letter ISO 639-1
# codes only: "zh" covers every Chinese reader, so its menu is in Simplified Chinese (there
# is no code for Traditional). "" is the default menu, for everyone else: English.
MENU_LANGUAGES = {"": EN, "zh": ZH_HANS}


def commands(menu: list[tuple[str, str]], t: Translator) -> list[BotCommand]:
    return [BotCommand(name, t.gettext(description)) for name, description in menu]


async def set_command_menus(application: App) -> None:
    """Set the public menus, then each admin's; an admin Telegram doesn't know yet waits."""
    bot = application.bot
    translators = application.bot_data.translators
    for code, language in MENU_LANGUAGES.items():
        t = translators[language]
        await bot.set_my_commands(
            commands(PRIVATE_COMMANDS, t),
            scope=BotCommandScopeAllPrivateChats(),
            language_code=code or None,
        )
        await bot.set_my_commands(
            commands(GROUP_COMMANDS, t),
            scope=BotCommandScopeAllGroupChats(),
            language_code=code or None,
        )
    pending = application.bot_data.admin_menu_pending
    for admin_id in sorted(application.bot_data.settings.admin_user_ids):
        if not await set_admin_menu(bot, admin_id, translators):
            pending.add(admin_id)


async def set_admin_menu(bot: Bot, admin_id: int, translators: Translators) -> bool:
    """Set one admin's private menu, in each menu language; False when Telegram does not
    know that chat yet."""
    try:
        for code, language in MENU_LANGUAGES.items():
            await bot.set_my_commands(
                commands(PRIVATE_COMMANDS + ADMIN_COMMANDS, translators[language]),
                scope=BotCommandScopeChat(chat_id=admin_id),
                language_code=code or None,
            )
    except BadRequest as error:
        # "Chat not found" until the admin has written to the bot; retried when they do.
        logger.info("admin menu for %s not set yet: %s", admin_id, error.message)
        return False
    except TelegramError as error:
        logger.warning("admin menu for %s not set: %s", admin_id, error)
        return False
    logger.info("admin menu set for %s", admin_id)
    return True


@on_user
async def retry_admin_menu(user: User, context: Context) -> None:
    """When an admin whose menu is still pending writes to the bot, set it now; remember
    an admin's language for the content folder's reports (handlers/watcher.py)."""
    if user.language_code and context.bot_data.settings.is_admin(user.id):
        context.bot_data.admin_languages[user.id] = user.language_code
    pending = context.bot_data.admin_menu_pending
    if user.id not in pending or not context.bot_data.settings.is_admin(user.id):
        return
    if await set_admin_menu(context.bot, user.id, context.bot_data.translators):
        pending.discard(user.id)


def handlers() -> Handlers:
    # Registered in its own group so it never keeps the update from the other handlers.
    return [TypeHandler(Update, retry_admin_menu)]
