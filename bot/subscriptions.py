"""Subscriptions: what a new article becomes in the outbox (bot/outbox.py) for each chat
that subscribed. No Telegram import: the keyboard is the Bot API's JSON.

An article is new once (`Outbox.new_articles`: ids recorded in the database), however it
came (/reload, an upload, the SEEDS_DIR watcher, or while the bot was down), and each
chat gets it once (the item's key is `article:<id>`). A chat whose mode is "digest"
(bot/digests.py) gets it in its next digest instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot.callbacks import summary_data
from bot.content import Article
from bot.digests import digest_chats
from bot.i18n import N_, Translator, Translators
from bot.outbox import Item, Outbox
from bot.rendering import HTML, render_short_summary

logger = logging.getLogger(__name__)

# The button under an answer (handlers/ask.py) and under every push (a new article, a
# followed topic's passage, an answer sent later): one message, one translation.
FULL_SUMMARY = N_("📄 Full summary")
NEW_ARTICLE = N_("🆕 New article")


def full_summary_keyboard(article: Article, t: Translator) -> dict[str, Any]:
    """A push's keyboard, as the Bot API's JSON: the one "Full summary" button."""
    button = {"text": t.gettext(FULL_SUMMARY), "callback_data": summary_data(article)}
    return {"inline_keyboard": [[button]]}


def article_key(article: Article) -> str:
    """The outbox key of an article's push: one per chat and article, ever."""
    return f"article:{article.id}"


def push_items(
    articles: Sequence[Article], chats: Sequence[tuple[int, str | None]], languages: Translators
) -> list[Item]:
    """Every (chat, language)'s item for each article, rendered once per language."""
    rendered: dict[tuple[str, str | None], Item] = {}
    items = []
    for article in articles:
        for chat_id, language in chats:
            template = rendered.get((article.id, language))
            if template is None:
                t = languages.for_reader(language, None)
                text = f"{HTML.bold(HTML.esc(t.gettext(NEW_ARTICLE)))}\n\n" + render_short_summary(
                    article, HTML, t
                )
                keyboard = full_summary_keyboard(article, t)
                template = Item(0, article_key(article), text, keyboard)
                rendered[(article.id, language)] = template
            items.append(Item(chat_id, template.key, template.text, template.buttons))
    return items


async def fresh_articles(outbox: Outbox, articles: Sequence[Article]) -> list[Article]:
    """Of `articles` (the library's, newest first), those never seen before, oldest first,
    now recorded as seen: the "new articles" event that pushes, follows and answer requests
    share (each article is new once)."""
    by_id = {a.id: a for a in articles}
    fresh = await outbox.new_articles(a.id for a in reversed(articles))
    return [by_id[i] for i in fresh]


async def announce_articles(
    outbox: Outbox, fresh: Sequence[Article], languages: Translators
) -> int:
    """Queue new articles (oldest first) for every subscribed chat but those in digest mode
    (bot/digests.py: they get them in their next digest); the number queued."""
    if not fresh:
        return 0
    subscribers = await outbox.subscribers()
    digesting = await digest_chats(outbox)
    chats = [(s.chat_id, s.language) for s in subscribers if s.chat_id not in digesting]
    queued = await outbox.enqueue(push_items(fresh, chats, languages))
    logger.info(
        "new articles %s: %d pushes queued for %d chats",
        ", ".join(a.id for a in fresh), queued, len(chats),
    )  # fmt: skip
    return queued


async def announce(outbox: Outbox, articles: Sequence[Article], languages: Translators) -> int:
    """Queue the articles never seen before (of `articles`, the library's, newest first) for
    every subscribed chat, oldest article first; the number of items queued."""
    return await announce_articles(outbox, await fresh_articles(outbox, articles), languages)
