"""Who may do what: `admin_only`, the one check in front of every bot-admin handler (by
numeric user id), and `may_change_chat` (a command) or `may_press_in_chat` (a button), the
one check in front of what changes a group for everyone in it (its language,
subscription, digest, follows: the group's own admins, by getChatMember)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from telegram import Chat, Message, User
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.i18n import N_
from bot.rendering import HTML
from handlers.common import Context, Incoming, Pressed, is_group, reply, translator_for

logger = logging.getLogger(__name__)

REFUSAL = N_("Sorry, only the bot's admins can do that.")
ADMINS = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}

MessageHandlerFunction = Callable[[Incoming, Context], Awaitable[None]]


def admin_only(action: str) -> Callable[[MessageHandlerFunction], MessageHandlerFunction]:
    """A decorator (under `on_message`): the handler runs for a configured admin, checked by
    numeric user id; anyone else gets a short refusal. Either way the attempt is logged as
    admin action `action`."""

    def decorate(handler: MessageHandlerFunction) -> MessageHandlerFunction:
        @functools.wraps(handler)
        async def checked(incoming: Incoming, context: Context) -> None:
            user_id = incoming.user_id
            allowed = context.bot_data.settings.is_admin(user_id)
            record_admin_action(context, user_id, action, allowed)
            if not allowed:
                logger.info("refused %s for user %s", action, user_id)
                refusal = translator_for(incoming.update, context).gettext(REFUSAL)
                await reply(incoming.message, refusal)
                return
            await handler(incoming, context)

        return checked

    return decorate


def record_admin_action(context: Context, user_id: int | None, action: str, allowed: bool) -> None:
    """Log an admin command attempt, allowed or refused."""
    log = context.bot_data.query_log
    if log is not None:
        log.record_admin_action(user_id=user_id, action=action, allowed=allowed)


async def may_change_chat(incoming: Incoming, context: Context, refusal: str) -> bool:
    """Whether the sender may change what the chat gets: in a group, only its admins (asked
    of Telegram now); anyone else is told `refusal` (a message id, translated here).
    Private chats and channels (whose posts only admins can write): yes."""
    if is_group(incoming.chat) and not await sent_by_admin(incoming.message, context):
        t = translator_for(incoming.update, context)
        await reply(incoming.message, HTML.esc(t.gettext(refusal)))
        return False
    return True


async def may_press_in_chat(pressed: Pressed, chat: Chat, context: Context, refusal: str) -> bool:
    """`may_change_chat` for a button pressed under a message in `chat`: in a group, only
    its admins' presses count; anyone else is told `refusal` (translated here) in an alert."""
    if is_group(chat) and not await is_admin(chat, pressed.query.from_user, context):
        t = translator_for(pressed.update, context)
        await pressed.query.answer(t.gettext(refusal), show_alert=True)
        return False
    return True


async def sent_by_admin(message: Message, context: Context) -> bool:
    """Whether a group message comes from one of its admins (an anonymous admin writes as
    the group itself)."""
    if message.sender_chat is not None:
        return message.sender_chat.id == message.chat.id
    return message.from_user is not None and await is_admin(
        message.chat, message.from_user, context
    )


async def is_admin(chat: Chat, user: User, context: Context) -> bool:
    """Whether `user` administers `chat`, as getChatMember says now (False if unknown)."""
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError as error:
        logger.info("chat %s: cannot check whether %s is an admin: %s", chat.id, user.id, error)
        return False
    return member.status in ADMINS
