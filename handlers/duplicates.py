"""Drops an update delivered twice: Telegram re-sends a webhook update it thinks was lost."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.limits import RecentKeys
from handlers.common import Context, Handlers

logger = logging.getLogger(__name__)


def handlers() -> Handlers:
    """One handler that sees every update first and stops the ones already seen."""
    recent = RecentKeys()

    async def drop_duplicate(update: Update, context: Context) -> None:
        """Stop an update whose update_id was handled before; let the others through."""
        if recent.seen_before(update.update_id):
            logger.info("update %s delivered again: ignored", update.update_id)
            raise ApplicationHandlerStop

    return [TypeHandler(Update, drop_duplicate)]
