"""Group lifecycle: a greeting when the bot is added, and state kept when a group migrates."""

from __future__ import annotations

import logging

from telegram import ChatMember, ChatMemberUpdated
from telegram.ext import ChatMemberHandler, MessageHandler, filters

from bot.rendering import HTML
from handlers.common import (
    Context,
    Handlers,
    Incoming,
    chat_state,
    is_group,
    on_member_change,
    on_message,
)
from handlers.start import digests, in_groups

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
    # The group's language if chosen before (a bot added again), else the adder's.
    t = context.bot_data.translators.for_reader(state.language, change.from_user.language_code)
    name = context.bot.username or "bot"
    count = len(context.bot_data.library.articles)
    lines = [
        t.gettext(
            "Hello! I answer questions about {digests}, citing the passage and its source."
        ).format(digests=digests(count, t)),
        t.gettext("• /summary@{name} — the latest article's core viewpoint and sections"),
        t.gettext("• /ask@{name} your question — or reply to one of my messages"),
        t.gettext("• /articles@{name} — what I know"),
    ]
    text = "\n".join(HTML.esc(line.format(name=name)) for line in lines)
    more = t.gettext("/help@{name} for more; /language@{name} changes my language (admins).")
    text += "\n" + in_groups(name, t) + "\n" + HTML.esc(more.format(name=name))
    await context.bot.send_message(change.chat.id, text)


@on_message
async def on_migrated(incoming: Incoming, context: Context) -> None:
    """A group became a supergroup (a new chat id): carry its state, cooldown and
    subscription over."""
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
    # Its subscription, pending pushes, digest and time zone follow it now, not only when
    # a push to the old id fails (a digest queued for the new id needs its subscription).
    outbox, digests = context.bot_data.outbox, context.bot_data.digests
    try:
        if outbox is not None:
            await outbox.migrate_chat(old, new)
        if digests is not None:
            await digests.migrate_chat(old, new)
    except Exception:  # the rest of the migration stands
        logger.exception("group %s: its subscription could not follow it to %s", old, new)
    follows = context.bot_data.follows
    if follows is not None:  # its topics too (both service messages come: moved once)
        try:
            await follows.migrate_chat(old, new)
        except Exception:  # a database failure must not stop the rest of the move
            logger.exception("group %s: its follows could not move to %s", old, new)
    logger.info("group %s migrated to supergroup %s", old, new)


def handlers() -> Handlers:
    return [
        ChatMemberHandler(on_added, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.StatusUpdate.MIGRATE, on_migrated),
    ]
