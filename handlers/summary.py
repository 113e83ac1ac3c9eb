"""/summary [N or topic]: an article's core viewpoint and sections (a cooldown per group).

In private the full summary; in a group one that fits a phone screen (the core viewpoint,
the sections as buttons that each open their points in a reply, and "Show all" for the
full one), since everyone there scrolls past it. Either says so when the chat's current
article is not the newest.
"""

from __future__ import annotations

import html
import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.ext import CommandHandler, filters

from bot.callbacks import section_data, summary_data
from bot.content import Article
from bot.i18n import N_, Translator
from bot.limits import Cooldown
from bot.rendering import (
    BRIEF_SECTIONS,
    HTML,
    NO_ARTICLES,
    render_summary,
    render_summary_brief,
)
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

SHOW_ALL = N_("📄 Show all")
SECTION_LABEL_LENGTH = 48


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
        # Without a reference the chat's current article, which may no longer be the newest.
        newer = 0 if reference else conversation.library.articles.index(article)
        if is_group(chat):
            text = render_summary_brief(article, HTML, t, newer=newer)
            keyboard: InlineKeyboardMarkup | None = brief_keyboard(article, t)
        else:
            text, keyboard = render_summary(article, HTML, t, newer=newer), None
        async with typing_indicator(incoming.update, context):
            sent = await reply(incoming.message, text, keyboard)
        for message in sent:  # a reply to the summary asks about its article
            conversation.remember_reply(message.message_id, article)
        if cooldown is not None and sent:
            cooldown.start(chat.id, sent[0].message_id)


def brief_keyboard(article: Article, t: Translator) -> InlineKeyboardMarkup:
    """A group summary's buttons: a section each, one a row (their titles are long), then
    "Show all". Each carries the article's key and version (bot/callbacks.py), so after a
    reload that changed the article a press is answered "expired"."""
    rows = [
        [
            InlineKeyboardButton(
                section_label(number, title), callback_data=section_data(article, number)
            )
        ]
        for number, title in enumerate((s.title for s in article.sections[:BRIEF_SECTIONS]), 1)
    ]
    rows.append([InlineKeyboardButton(t.gettext(SHOW_ALL), callback_data=summary_data(article))])
    return InlineKeyboardMarkup(rows)


def section_label(number: int, title: str) -> str:
    label = f"{number}. {title}"
    if len(label) > SECTION_LABEL_LENGTH:
        label = label[: SECTION_LABEL_LENGTH - 1] + "…"
    return label


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
