"""Drops an update delivered twice: Telegram re-sends a webhook update it thinks was lost."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, ContextTypes, TypeHandler

from bot.limits import RecentKeys

logger = logging.getLogger(__name__)


def handlers() -> list[BaseHandler]:
    """One handler that sees every update first and stops the ones already seen."""
    recent = RecentKeys()

    async def drop_duplicate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stop an update whose update_id was handled before; let the others through."""
        if recent.seen_before(update.update_id):
            logger.info("update %s delivered again: ignored", update.update_id)
            raise ApplicationHandlerStop

    return [TypeHandler(Update, drop_duplicate)]
