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

from handlers.common import App, Context, Handlers, on_user

logger = logging.getLogger(__name__)

PRIVATE_COMMANDS = [
    BotCommand("summary", "An article's core viewpoint and sections"),
    BotCommand("articles", "The articles I know, newest first"),
    BotCommand("help", "What I can do"),
    BotCommand("privacy", "What is logged and how to delete it"),
    BotCommand("forget", "Delete everything logged about you"),
]
GROUP_COMMANDS = [
    BotCommand("ask", "Ask a question about the articles"),
    BotCommand("summary", "An article's core viewpoint and sections"),
    BotCommand("articles", "The articles I know, newest first"),
    BotCommand("help", "What I can do"),
]
ADMIN_COMMANDS = [
    BotCommand("reload", "Re-read the articles and the glossary"),
    BotCommand("stats", "What readers asked: /stats [days]"),
]


async def set_command_menus(application: App) -> None:
    """Set the public menus, then each admin's; an admin Telegram doesn't know yet waits."""
    bot = application.bot
    await bot.set_my_commands(PRIVATE_COMMANDS, scope=BotCommandScopeAllPrivateChats())
    await bot.set_my_commands(GROUP_COMMANDS, scope=BotCommandScopeAllGroupChats())
    pending = application.bot_data.admin_menu_pending
    for admin_id in sorted(application.bot_data.settings.admin_user_ids):
        if not await set_admin_menu(bot, admin_id):
            pending.add(admin_id)


async def set_admin_menu(bot: Bot, admin_id: int) -> bool:
    """Set one admin's private menu; False when Telegram does not know that chat yet."""
    try:
        await bot.set_my_commands(
            PRIVATE_COMMANDS + ADMIN_COMMANDS, scope=BotCommandScopeChat(chat_id=admin_id)
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
    """When an admin whose menu is still pending writes to the bot, set it now."""
    pending = context.bot_data.admin_menu_pending
    if user.id not in pending or not context.bot_data.settings.is_admin(user.id):
        return
    if await set_admin_menu(context.bot, user.id):
        pending.discard(user.id)


def handlers() -> Handlers:
    # Registered in its own group so it never keeps the update from the other handlers.
    return [TypeHandler(Update, retry_admin_menu)]
