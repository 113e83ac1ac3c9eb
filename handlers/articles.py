"""/articles: the articles, numbered newest first (the numbers /summary takes)."""

from __future__ import annotations

from telegram.ext import CommandHandler, filters

from bot.rendering import HTML, render_article_list
from handlers.common import Context, Handlers, Incoming, on_message, reply, translator_for


@on_message
async def articles(incoming: Incoming, context: Context) -> None:
    """List the loaded articles: headline, source and date."""
    t = translator_for(incoming.update, context)
    await reply(incoming.message, render_article_list(context.bot_data.library.articles, HTML, t))


def handlers() -> Handlers:
    return [CommandHandler("articles", articles, filters=filters.UpdateType.MESSAGE)]
