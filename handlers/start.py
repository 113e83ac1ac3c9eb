"""/start, /help and /privacy: a short welcome with examples to tap, every command, and
what the bot logs.

/start is at most five lines, with up to three example questions as buttons (each one
checked at load time to be answered: bot/examples.py). A deep link's payload is either a
question (bot/deeplinks.py, the inline "ask me in private" button), answered at once, or
a shared passage (bot/share.py, an answer's "Share" button), shown with its citation to
whoever opened the link: saying so when it changed since, "expired" when it is gone.
"""

from __future__ import annotations

from telegram.ext import CommandHandler, filters

from bot.answers import Answer, Outcome
from bot.content import Article
from bot.deeplinks import payload_question
from bot.i18n import N_, Translator
from bot.querylog import answer_fields, new_query_id
from bot.rendering import HTML, render_match
from bot.share import SHARE_PREFIX, resolve_share
from handlers.ask import answer_question, answered_keyboard, examples_keyboard
from handlers.common import (
    Context,
    Handlers,
    Incoming,
    conversation_of,
    logged_delivery,
    on_message,
    reply,
    translator_for,
    via_of,
)

MAX_LISTED = 5
SHARE_CHANGED = N_("This passage has changed since it was shared. Here it is as it reads now:")
# A shared link whose passage is gone: with the example questions below, or without.
SHARE_EXPIRED = {
    True: N_(
        "This shared link has expired: its passage is no longer in the articles I know. "
        "Ask me about it in your own words, or tap an example below."
    ),
    False: N_(
        "This shared link has expired: its passage is no longer in the articles I know. "
        "Ask me about it in your own words."
    ),
}


@on_message
async def start(incoming: Incoming, context: Context) -> None:
    """The welcome and the example buttons; or, from a deep link, the question it carries."""
    payload = context.args[0] if context.args else ""
    if payload.startswith(SHARE_PREFIX):
        await open_shared(incoming, context, payload)
        return
    question = payload_question(payload) if payload else None
    if question is not None:
        await answer_question(incoming, context, question)
        return
    t = translator_for(incoming.update, context)
    keyboard = examples_keyboard(context, t)
    count = len(context.bot_data.library.articles)
    await reply(incoming.message, start_text(count, t, examples=keyboard is not None), keyboard)


async def open_shared(incoming: Incoming, context: Context, payload: str) -> None:
    """A shared passage's link (`/start p_<key>_<version>`): the passage as an answer, with
    its citation and buttons (its own "Share" too), for whoever opened it; a note above it
    when it changed since it was shared; "expired" with the examples when it is gone.
    Logged as a pick (a passage offered, here by another reader), not a question."""
    t = translator_for(incoming.update, context)
    state = context.bot_data
    shared = resolve_share(payload, state.button_keys, state.library)
    if shared is None:
        keyboard = examples_keyboard(context, t)
        await reply(
            incoming.message, HTML.esc(t.gettext(SHARE_EXPIRED[keyboard is not None])), keyboard
        )
        return
    match = shared.match
    text = render_match(match, HTML, t)
    if shared.changed:
        text = f"{HTML.italic(t.gettext(SHARE_CHANGED))}\n\n{text}"
    question = f"/start {payload}"
    query_id = new_query_id()
    keyboard = answered_keyboard(match, query_id, t, context.bot.username)
    fields = answer_fields(Answer(question, Outcome.ANSWERED, (match,)))
    fields["kind"] = "pick"
    async with logged_delivery(
        incoming.update, context, via_of(incoming.chat), None, query_id=query_id, **fields
    ):
        sent = await reply(incoming.message, text, keyboard)
    conversation = conversation_of(context)
    conversation.choose(match)  # its article becomes the chat's current one
    if sent:
        answer_id = sent[-1].message_id
        conversation.state.remember_question(answer_id, question, query_id)
        conversation.remember_reply(answer_id, match.article)


@on_message
async def help_command(incoming: Incoming, context: Context) -> None:
    """What the bot knows and every command."""
    t = translator_for(incoming.update, context)
    articles = context.bot_data.library.articles
    await reply(incoming.message, help_text(articles, context.bot.username or "bot", t))


@on_message
async def privacy(incoming: Incoming, context: Context) -> None:
    """What is logged, for how long, and how to delete it."""
    t = translator_for(incoming.update, context)
    settings = context.bot_data.settings
    who = {
        "hash": t.gettext("a keyed hash of your Telegram user id (not the id itself)"),
        "raw": t.gettext("your Telegram user id"),
        "off": t.gettext("nothing that identifies you"),
    }[settings.query_log_users]
    days = settings.query_log_retention_days
    paragraphs = [
        HTML.bold(t.gettext("What I keep"))
        + "\n"
        + t.gettext(
            "Every question is logged so the admins learn what readers ask and what the "
            "articles don't cover yet: the question, what I answered (the passage and how "
            "sure I was), when, the kind of chat, and {who}."
        ).format(who=who),
        t.ngettext(
            "Rows are deleted after {days} day. Admins see statistics, not your name.",
            "Rows are deleted after {days} days. Admins see statistics, not your name.",
            days,
        ).format(days=days),
        t.gettext("Send /forget in a private chat with me to delete everything logged about you."),
        t.ngettext(
            "Topics you /follow are kept until you unfollow them; questions you asked me to "
            "answer later, until answered or for {days} day. /forget deletes them too.",
            "Topics you /follow are kept until you unfollow them; questions you asked me to "
            "answer later, until answered or for {days} days. /forget deletes them too.",
            settings.answer_watch_days,
        ).format(days=settings.answer_watch_days),
    ]
    await reply(incoming.message, "\n\n".join(paragraphs))


def digests(count: int, t: Translator) -> str:
    """'1 news article digest', '3 news article digests'."""
    return t.ngettext("{count} news article digest", "{count} news article digests", count).format(
        count=count
    )


def start_text(count: int, t: Translator, *, examples: bool) -> str:
    """/start: at most five lines (HTML)."""
    lines = [
        t.gettext(
            "Hi! I answer questions about {digests}, quoting the passage that answers and "
            "its source."
        ).format(digests=digests(count, t)),
        t.gettext("Type a question, or tap an example below.")
        if examples
        else t.gettext("Type a question in your own words."),
        t.gettext("/articles lists what I know; /summary gives an article's main points."),
        t.gettext("/language changes my language; /help lists every command."),
    ]
    return "\n".join(HTML.esc(line) for line in lines)


def help_text(articles: tuple[Article, ...], bot_username: str, t: Translator) -> str:
    """/help: what the bot knows, and every command (HTML)."""
    lines = [
        HTML.esc(
            t.gettext(
                "I answer questions about {digests}, with the passage that answers and where "
                "it comes from (headline, source, date, paragraphs)."
            ).format(digests=digests(len(articles), t))
        )
    ]
    if articles:
        lines += ["", HTML.bold(t.gettext("I know"))]
        for article in articles[:MAX_LISTED]:
            byline = " · ".join(
                d for d in (article.display_source, article.published_text[:10]) if d
            )
            lines.append(
                f"• {HTML.esc(article.title)}" + (f" ({HTML.esc(byline)})" if byline else "")
            )
        if len(articles) > MAX_LISTED:
            more = t.gettext("…and {count} more: /articles")
            lines.append(HTML.esc(more.format(count=len(articles) - MAX_LISTED)))
    commands = [
        t.gettext("/ask <question> — ask a question (in private, just type it)"),
        t.gettext("/summary [N or topic] — an article's core viewpoint and sections"),
        t.gettext("/articles — the articles, newest first"),
        t.gettext("/language — English, 简体中文 or 繁體中文"),
        t.gettext("/digest daily 08:00 or /digest weekly mon 08:00 — new articles in one message"),
        t.gettext("/timezone Asia/Shanghai — the chat's time zone for digests (UTC by default)"),
        t.gettext("/follow <topic> — each new passage about a topic, sent here"),
        t.gettext("/following, /unfollow — the topics followed; stop one"),
        t.gettext("/privacy — what I log, and /forget to delete it"),
        t.gettext("/start — example questions to tap"),
        t.gettext("/help — this message"),
    ]
    lines += ["", HTML.bold(t.gettext("Commands"))]
    lines += [HTML.esc(line) for line in commands]
    lines += ["", HTML.bold(t.gettext("In groups")), in_groups(bot_username, t)]
    return "\n".join(lines)


def in_groups(bot_username: str, t: Translator) -> str:
    """How to ask in a group, and what Telegram's privacy mode lets the bot see (HTML)."""
    return HTML.esc(
        t.gettext(
            "Use /ask@{name}, /summary@{name}, or reply to one of my messages. With Telegram's "
            "group privacy mode on (the default) I only see commands and replies to me; "
            "mentioning @{name} works only when privacy mode is off or I am a group admin."
        ).format(name=bot_username)
    )


def handlers() -> Handlers:
    new_messages = filters.UpdateType.MESSAGE
    return [
        CommandHandler("start", start, filters=new_messages),
        CommandHandler("help", help_command, filters=new_messages),
        CommandHandler("privacy", privacy, filters=new_messages),
    ]
