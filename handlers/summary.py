"""/summary [N or topic]: an article's core viewpoint and sections (a cooldown per group)."""

from __future__ import annotations

import html
import time

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from bot.limits import Cooldown
from bot.rendering import HTML, render_summary
from handlers.common import (
    CURRENT_ARTICLE,
    MESSAGE_ARTICLES,
    SUMMARY_COOLDOWN,
    is_group,
    library_of,
    logged_delivery,
    remember,
    reply,
    typing_indicator,
    via_of,
)


async def summary(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The chat's current article (else the latest), or the one a number or topic names."""
    chat = update.effective_chat
    cooldown: Cooldown | None = context.bot_data.get(SUMMARY_COOLDOWN)
    if is_group(chat) and cooldown is not None and cooldown.remaining(chat.id) > 0:
        await within_cooldown(update, cooldown)
        return
    library = library_of(context)
    reference = " ".join(context.args or []).strip()
    started = time.perf_counter()
    if reference:
        article = library.find_article(reference)
    else:
        current = library.article(context.chat_data.get(CURRENT_ARTICLE, ""))
        article = current or library.find_article("")
    fields = {
        "question": f"/summary {reference}".strip(),
        "outcome": "answered" if article else "unanswered",
        "article_id": article.id if article else None,
    }
    latency_ms = (time.perf_counter() - started) * 1000
    async with logged_delivery(update, context, via_of(chat), latency_ms, **fields):
        if article is None:
            text = (
                "No articles are loaded yet."
                if not library.articles
                else f"No article matches “{html.escape(reference)}”. /articles lists them."
            )
            await reply(update, text)
            return
        context.chat_data[CURRENT_ARTICLE] = article.id
        group_cooldown = cooldown if is_group(chat) and cooldown is not None else None
        if group_cooldown is not None:
            # Start the cooldown before sending: updates run concurrently, and a second
            # /summary arriving while this one is on its way must already see it.
            group_cooldown.start(chat.id)
        async with typing_indicator(update, context):
            sent = await reply(update, render_summary(article, HTML))
        for message in sent:  # a reply to the summary asks about its article
            remember(context.chat_data, MESSAGE_ARTICLES, message.message_id, article.id)
        if group_cooldown is not None and sent:
            group_cooldown.start(chat.id, sent[0].message_id)


async def within_cooldown(update: Update, cooldown: Cooldown) -> None:
    """A second /summary too soon in a group: point at the last one instead of repeating it."""
    message = update.effective_message
    if message is None:
        return
    last_id = cooldown.produced(message.chat.id)
    if not isinstance(last_id, int):  # the first one is still being sent
        await message.reply_text("The summary is on its way.")
        return
    seconds = max(1, round(cooldown.remaining(message.chat.id)))
    await message.reply_text(
        f"The summary is just above (again in {seconds} s).",
        reply_to_message_id=last_id,
        allow_sending_without_reply=True,
    )


def handlers() -> list[BaseHandler]:
    return [CommandHandler("summary", summary, filters=filters.UpdateType.MESSAGE)]
