"""/summary [N or topic]: an article's core viewpoint and sections."""

from __future__ import annotations

import html
import time

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from bot.rendering import HTML, render_summary
from handlers.common import CURRENT_ARTICLE, is_group, library_of, query_log_of, reply


async def summary(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The chat's current article (else the latest), or the one a number or topic names."""
    library = library_of(context)
    reference = " ".join(context.args or []).strip()
    started = time.perf_counter()
    if reference:
        article = library.find_article(reference)
    else:
        current = library.article(context.chat_data.get(CURRENT_ARTICLE, ""))
        article = current or library.find_article("")
    if article is None:
        text = (
            "No articles are loaded yet."
            if not library.articles
            else f"No article matches “{html.escape(reference)}”. /articles lists them."
        )
        await reply(update, text)
    else:
        context.chat_data[CURRENT_ARTICLE] = article.id
        await reply(update, render_summary(article, HTML))
    log = query_log_of(context)
    if log is not None:
        chat, user = update.effective_chat, update.effective_user
        log.record_query(
            via="group" if is_group(chat) else "private",
            chat_ref=chat.id if chat else None,
            chat_type=chat.type if chat else None,
            user_id=user.id if user else None,
            question=f"/summary {reference}".strip(),
            outcome="answered" if article else "unanswered",
            article_id=article.id if article else None,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
        )


def handlers() -> list[BaseHandler]:
    return [CommandHandler("summary", summary, filters=filters.UpdateType.MESSAGE)]
