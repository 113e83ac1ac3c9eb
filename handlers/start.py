"""/start, /help and /privacy: what the bot knows, how to ask, and what it logs."""

from __future__ import annotations

import html

from telegram.ext import CommandHandler, filters

from bot.content import Article
from bot.rendering import HTML
from handlers.common import Context, Handlers, Incoming, on_message, reply

MAX_LISTED = 5


@on_message
async def help_command(incoming: Incoming, context: Context) -> None:
    """What the bot knows, three example questions from the content, and the commands."""
    articles = context.bot_data.library.articles
    await reply(incoming.message, help_text(articles, context.bot.username or "bot"))


@on_message
async def privacy(incoming: Incoming, context: Context) -> None:
    """What is logged, for how long, and how to delete it."""
    settings = context.bot_data.settings
    who = {
        "hash": "a keyed hash of your Telegram user id (not the id itself)",
        "raw": "your Telegram user id",
        "off": "nothing that identifies you",
    }[settings.query_log_users]
    text = (
        "<b>What I keep</b>\n"
        "Every question is logged so the admins learn what readers ask and what the articles "
        "don't cover yet: the question, what I answered (the passage and how sure I was), "
        f"when, the kind of chat, and {who}.\n\n"
        f"Rows are deleted after {settings.query_log_retention_days} days. "
        "Admins see statistics, not your name.\n\n"
        "Send /forget in a private chat with me to delete everything logged about you."
    )
    await reply(incoming.message, text)


def help_text(articles: tuple[Article, ...], bot_username: str) -> str:
    """The /start and /help message."""
    lines = [
        f"I answer questions about {len(articles)} news article digest(s), with the passage "
        "that answers and where it comes from (headline, source, date, paragraphs)."
    ]
    if articles:
        lines += ["", "<b>I know</b>"]
        for article in articles[:MAX_LISTED]:
            byline = " · ".join(d for d in (article.source, article.published_text[:10]) if d)
            lines.append(
                f"• {HTML.esc(article.title)}" + (f" ({HTML.esc(byline)})" if byline else "")
            )
        if len(articles) > MAX_LISTED:
            lines.append(f"…and {len(articles) - MAX_LISTED} more: /articles")
        lines += ["", "<b>Try asking</b>"]
        lines += [f"• {HTML.esc(q)}" for q in example_questions(articles)]
    name = html.escape(bot_username)
    lines += [
        "",
        "<b>Commands</b>",
        "/ask &lt;question&gt; — ask a question (in private, just type it)",
        "/summary [N or topic] — an article's core viewpoint and sections",
        "/articles — the articles, newest first",
        "/privacy — what I log, and /forget to delete it",
        "/help — this message",
        "",
        "<b>In groups</b>",
        f"Use /ask@{name}, /summary@{name}, or reply to one of my messages. With Telegram's "
        f"group privacy mode on (the default) I only see commands and replies to me; "
        f"mentioning @{name} works only when privacy mode is off or I am a group admin.",
    ]
    return "\n".join(lines)


def example_questions(articles: tuple[Article, ...]) -> list[str]:
    """Three questions drawn from the newest articles' section titles."""
    titles = [s.title for a in articles for s in a.sections]
    return [f"What about {title}?" for title in titles[:3]]


def handlers() -> Handlers:
    new_messages = filters.UpdateType.MESSAGE
    return [
        CommandHandler(["start", "help"], help_command, filters=new_messages),
        CommandHandler("privacy", privacy, filters=new_messages),
    ]
