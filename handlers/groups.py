"""Group lifecycle: a greeting when the bot is added, and state kept when a group migrates."""

from __future__ import annotations

import html
import logging

from telegram import ChatMember, Update
from telegram.ext import BaseHandler, ChatMemberHandler, ContextTypes, MessageHandler, filters

from bot.limits import Cooldown
from handlers.common import SUMMARY_COOLDOWN, is_group, library_of

logger = logging.getLogger(__name__)

GREETED = "greeted"  # chat_data flag: the greeting is sent once per group
PRESENT = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER}


async def on_added(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet a group once, when the bot joins it."""
    change = update.my_chat_member
    if change is None or not is_group(change.chat):
        return
    joined = (
        change.old_chat_member.status not in PRESENT and change.new_chat_member.status in PRESENT
    )
    if not joined or context.chat_data.get(GREETED):
        return
    context.chat_data[GREETED] = True
    name = html.escape(context.bot.username or "bot")
    count = len(library_of(context).articles)
    await context.bot.send_message(
        change.chat.id,
        f"Hello! I answer questions about {count} news article digest(s), citing the "
        f"passage and its source.\n"
        f"• /summary@{name} — the latest article's core viewpoint and sections\n"
        f"• /ask@{name} your question — or reply to one of my messages\n"
        f"• /articles@{name} — what I know\n"
        f"/help@{name} for more.",
    )


async def on_migrated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group became a supergroup (a new chat id): carry its state and cooldown over."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    if old in context.application.chat_data:
        context.application.migrate_chat_data(old_chat_id=old, new_chat_id=new)
    cooldown: Cooldown | None = context.bot_data.get(SUMMARY_COOLDOWN)
    if cooldown is not None:
        cooldown.move(old, new)
    logger.info("group %s migrated to supergroup %s", old, new)


def handlers() -> list[BaseHandler]:
    return [
        ChatMemberHandler(on_added, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.StatusUpdate.MIGRATE, on_migrated),
    ]
