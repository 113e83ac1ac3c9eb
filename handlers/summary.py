"""/summary [N or topic]: an article's core viewpoint and sections (a cooldown per group)."""

from __future__ import annotations

import html
import time

from telegram import Message
from telegram.ext import CommandHandler, filters

from bot.i18n import Translator
from bot.limits import Cooldown
from bot.rendering import HTML, NO_ARTICLES, render_summary
from handlers.common import (
    Context,
    Handlers,
    Incoming,
    conversation_of,
    is_group,
    logged_delivery,
    on_message,
    reply,
    translator_for,
    typing_indicator,
    via_of,
)


@on_message
async def summary(incoming: Incoming, context: Context) -> None:
    """The chat's current article (else the latest), or the one a number or topic names."""
    chat, conversation = incoming.chat, conversation_of(context)
    t = translator_for(incoming.update, context)
    cooldown = context.bot_data.summary_cooldown if is_group(chat) else None
    if cooldown is not None and cooldown.remaining(chat.id) > 0:
        await within_cooldown(incoming.message, cooldown, t)
        return
    reference = " ".join(context.args or []).strip()
    started = time.perf_counter()
    article = conversation.summary(reference)  # it becomes the chat's current article
    fields = {
        "question": f"/summary {reference}".strip(),
        "outcome": "answered" if article else "unanswered",
        "article_id": article.id if article else None,
        "kind": "summary",
    }
    latency_ms = (time.perf_counter() - started) * 1000
    async with logged_delivery(incoming.update, context, via_of(chat), latency_ms, **fields):
        if article is None:
            text = (
                t.gettext(NO_ARTICLES)
                if not conversation.library.articles
                else t.gettext("No article matches “{reference}”. /articles lists them.").format(
                    reference=html.escape(reference)
                )
            )
            await reply(incoming.message, text)
            return
        if cooldown is not None:
            # Start the cooldown before sending: updates run concurrently, and a second
            # /summary arriving while this one is on its way must already see it.
            cooldown.start(chat.id)
        async with typing_indicator(incoming.update, context):
            sent = await reply(incoming.message, render_summary(article, HTML, t))
        for message in sent:  # a reply to the summary asks about its article
            conversation.remember_reply(message.message_id, article)
        if cooldown is not None and sent:
            cooldown.start(chat.id, sent[0].message_id)


async def within_cooldown(message: Message, cooldown: Cooldown, t: Translator) -> None:
    """A second /summary too soon in a group: point at the last one instead of repeating it."""
    last_id = cooldown.produced(message.chat.id)
    if not isinstance(last_id, int):  # the first one is still being sent
        await message.reply_text(t.gettext("The summary is on its way."))
        return
    seconds = max(1, round(cooldown.remaining(message.chat.id)))
    await message.reply_text(
        t.gettext("The summary is just above (again in {seconds} s).").format(seconds=seconds),
        reply_to_message_id=last_id,
        allow_sending_without_reply=True,
    )


def handlers() -> Handlers:
    return [CommandHandler("summary", summary, filters=filters.UpdateType.MESSAGE)]
