"""Group lifecycle: a greeting when the bot is added, and state kept when a group migrates."""

from __future__ import annotations

import html
import logging

from telegram import ChatMember, ChatMemberUpdated
from telegram.ext import ChatMemberHandler, MessageHandler, filters

from handlers.common import (
    Context,
    Handlers,
    Incoming,
    chat_state,
    is_group,
    on_member_change,
    on_message,
)

logger = logging.getLogger(__name__)

PRESENT = {ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER}


@on_member_change
async def on_added(change: ChatMemberUpdated, context: Context) -> None:
    """Greet a group once, when the bot joins it."""
    if not is_group(change.chat):
        return
    joined = (
        change.old_chat_member.status not in PRESENT and change.new_chat_member.status in PRESENT
    )
    state = chat_state(context)
    if not joined or state.greeted:
        return
    state.greeted = True
    name = html.escape(context.bot.username or "bot")
    count = len(context.bot_data.library.articles)
    await context.bot.send_message(
        change.chat.id,
        f"Hello! I answer questions about {count} news article digest(s), citing the "
        f"passage and its source.\n"
        f"• /summary@{name} — the latest article's core viewpoint and sections\n"
        f"• /ask@{name} your question — or reply to one of my messages\n"
        f"• /articles@{name} — what I know\n"
        f"/help@{name} for more.",
    )


@on_message
async def on_migrated(incoming: Incoming, context: Context) -> None:
    """A group became a supergroup (a new chat id): carry its state and cooldown over."""
    # context.chat_data is not read: it would make an entry for the old id again.
    message = incoming.message
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    if old in context.application.chat_data:
        context.application.migrate_chat_data(old_chat_id=old, new_chat_id=new)
    cooldown = context.bot_data.summary_cooldown
    if cooldown is not None:
        cooldown.move(old, new)
    logger.info("group %s migrated to supergroup %s", old, new)


def handlers() -> Handlers:
    return [
        ChatMemberHandler(on_added, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.StatusUpdate.MIGRATE, on_migrated),
    ]
