"""Who may do what: `admin_only`, the one check in front of every admin handler."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from bot.i18n import N_
from handlers.common import Context, Incoming, reply, translator_for

logger = logging.getLogger(__name__)

REFUSAL = N_("Sorry, only the bot's admins can do that.")

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
