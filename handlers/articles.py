"""/articles: the articles, numbered newest first (the numbers /summary takes)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from bot.rendering import HTML, render_article_list
from handlers.common import library_of, reply


async def articles(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the loaded articles: headline, source and date."""
    await reply(update, render_article_list(library_of(context).articles, HTML))


def handlers() -> list[BaseHandler]:
    return [CommandHandler("articles", articles, filters=filters.UpdateType.MESSAGE)]
