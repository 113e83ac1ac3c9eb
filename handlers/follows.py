"""/follow, /unfollow, /following, and the "🔔 Tell me when answered" button.

A chat follows topics (bot/follows.py): each new passage the matcher scores as answering one
is pushed there once, with its citation. In a group only its administrators may change its
follows (getChatMember, as for /subscribe); anyone may list them. /unfollow without a topic
offers the chat's topics as buttons, each naming its follow's id (a topic can be 100 CJK
characters, 300 bytes: never the text in callback data).

An unanswered or suggested question's reply carries "🔔 Tell me when answered" (its data
names the reply's query id; the question is the one the chat's state remembers for that
message). Pressing opens a request for the presser (bot/watches.py): its answer goes to
their private chat once a new article answers it. In a group that works only for a reader
who has started the bot; the others are told to open a private chat first.

The follows and requests open with the outbox (`open_follows`, from `start_sender`), and
`on_new_articles` runs on the same event as the subscribers' push (`announce_new`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ChatType
from telegram.error import Forbidden, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.callbacks import WATCH_PREFIX
from bot.content import Article
from bot.follows import MAX_TOPIC_CHARS, Followed, Follows, push_follows
from bot.i18n import N_, Translator
from bot.limits import Verdict
from bot.rendering import HTML, shorten
from bot.state import BotState
from bot.watches import Requested, Watches, answer_requests
from handlers.access import may_change_chat, may_press_in_chat
from handlers.buttons import SLOW_DOWN
from handlers.common import (
    Context,
    Handlers,
    Incoming,
    Pressed,
    on_message,
    on_press,
    reply,
    translator_for,
)

logger = logging.getLogger(__name__)

UNFOLLOW_PREFIX = "unfollow:"
UNAVAILABLE = N_("Follows are not available right now.")
ADMINS_ONLY = N_("Only the group's admins can change what it follows.")
EXPIRED = N_("This button has expired.")
NOT_FOLLOWING = N_(
    "This chat follows no topic. /follow Alibaba sends it each new passage about Alibaba."
)
LABEL_CHARS = 48


# -- start-up and the new-articles event ---------------------------------------------------


async def open_follows(state: BotState) -> None:
    """Open the follows and the answer requests on the outbox's database (never raises: a
    failure leaves them off, and the bot answers as before)."""
    outbox = state.outbox
    if outbox is None:
        return
    settings = state.settings
    try:
        state.follows = await Follows.open(outbox)
        outbox.migration_hooks.append(state.follows.migrate_chat)
        state.watches = await Watches.open(
            outbox, days=settings.answer_watch_days, max_open=settings.answer_watch_max
        )
    except Exception as error:
        logger.warning(
            "follows: cannot open their tables (%s: %s); follows and answer requests are off",
            type(error).__name__, error,
        )  # fmt: skip
        state.follows = state.watches = None


def close_follows(state: BotState) -> None:
    """Forget the follows and requests (their connection is the outbox's, closed with it)."""
    state.follows = state.watches = None


async def on_new_articles(state: BotState, fresh: Sequence[Article]) -> int:
    """Queue the new articles' passages for the topics followed and the answers to open
    requests; the number queued (never raises: a failure is logged)."""
    outbox = state.outbox
    if outbox is None or not fresh:
        return 0
    queued = 0
    if state.follows is not None:
        try:
            queued += await push_follows(
                state.follows, outbox, state.library, fresh, state.translators
            )
        except Exception:
            logger.exception("new articles could not be queued for the topics followed")
    if state.watches is not None:
        try:
            queued += await answer_requests(
                state.watches, outbox, state.library, fresh, state.translators
            )
        except Exception:
            logger.exception("new articles could not answer the open requests")
    return queued


# -- /follow, /unfollow, /following --------------------------------------------------------


async def _changeable_follows(
    incoming: Incoming, context: Context, t: Translator
) -> Follows | None:
    """The follows, when they are on and this reader may change the chat's; otherwise None,
    and the reader is told why."""
    follows = context.bot_data.follows
    if follows is None:
        await reply(incoming.message, HTML.esc(t.gettext(UNAVAILABLE)))
        return None
    if not await may_change_chat(incoming, context, ADMINS_ONLY):
        return None
    return follows


def _topic_of(context: Context) -> str:
    return " ".join(context.args or [])


@on_message
async def follow(incoming: Incoming, context: Context) -> None:
    """Follow a topic: new passages answering it are sent here (a group's admins only)."""
    t = translator_for(incoming.update, context)
    topic = _topic_of(context)
    if not topic:
        usage = t.gettext(
            "Follow a topic like this: /follow Alibaba (or /follow 阿里云, or a few words). "
            "Each new passage about it will be sent here."
        )
        await reply(incoming.message, HTML.esc(usage))
        return
    if len(topic) > MAX_TOPIC_CHARS:
        too_long = t.gettext("A topic can be at most {count} characters: a few words.")
        await reply(incoming.message, HTML.esc(too_long.format(count=MAX_TOPIC_CHARS)))
        return
    follows = await _changeable_follows(incoming, context, t)
    if follows is None:
        return
    limit = context.bot_data.settings.follow_max_topics
    result = await follows.follow(incoming.chat.id, topic, t.language, limit)
    if result is Followed.LIMIT:
        text = t.ngettext(
            "This chat already follows {count} topic, the most it can. /unfollow one first.",
            "This chat already follows {count} topics, the most it can. /unfollow one first.",
            limit,
        ).format(count=limit)
    elif result is Followed.ALREADY:
        text = t.gettext("This chat already follows “{topic}”.").format(topic=topic)
    else:
        text = t.gettext(
            "Following “{topic}”: each new passage about it will be sent here once. "
            "/following lists the topics, /unfollow stops one."
        ).format(topic=topic)
    await reply(incoming.message, HTML.esc(text))


@on_message
async def unfollow(incoming: Incoming, context: Context) -> None:
    """Stop following a topic, named or chosen with a button (a group's admins only)."""
    t = translator_for(incoming.update, context)
    follows = await _changeable_follows(incoming, context, t)
    if follows is None:
        return
    topic = _topic_of(context)
    if topic:
        removed = await follows.unfollow(incoming.chat.id, topic)
        text = (
            t.gettext("Unfollowed “{topic}”.").format(topic=removed.topic)
            if removed is not None
            else t.gettext("This chat does not follow “{topic}”. /following lists its topics.")
            .format(topic=topic)
        )  # fmt: skip
        await reply(incoming.message, HTML.esc(text))
        return
    topics = await follows.topics(incoming.chat.id)
    if not topics:
        await reply(incoming.message, HTML.esc(t.gettext(NOT_FOLLOWING)))
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    shorten(f.topic, LABEL_CHARS), callback_data=f"{UNFOLLOW_PREFIX}{f.id}"
                )
            ]
            for f in topics
        ]
    )
    await reply(
        incoming.message, HTML.esc(t.gettext("Which topic should I stop following?")), keyboard
    )


@on_message
async def following(incoming: Incoming, context: Context) -> None:
    """The topics this chat follows."""
    t = translator_for(incoming.update, context)
    follows = context.bot_data.follows
    if follows is None:
        await reply(incoming.message, HTML.esc(t.gettext(UNAVAILABLE)))
        return
    topics = await follows.topics(incoming.chat.id)
    if not topics:
        await reply(incoming.message, HTML.esc(t.gettext(NOT_FOLLOWING)))
        return
    lines = [HTML.bold(t.gettext("Topics this chat follows"))]
    lines += [f"• {HTML.esc(f.topic)}" for f in topics]
    lines += ["", HTML.esc(t.gettext("/unfollow stops one; /follow adds one."))]
    await reply(incoming.message, "\n".join(lines))


def _offered(query: CallbackQuery) -> Message | None:
    """The pressed message, when it really offers this button (a modified client can send
    any data); None otherwise."""
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return None
    buttons = (b for row in message.reply_markup.inline_keyboard for b in row)
    return message if any(b.callback_data == query.data for b in buttons) else None


@on_press
async def unfollow_button(pressed: Pressed, context: Context) -> None:
    """A topic chosen under /unfollow: stop following it (a group's admins only)."""
    query = pressed.query
    t = translator_for(pressed.update, context)
    follows = context.bot_data.follows
    message = _offered(query)
    raw = (query.data or "").removeprefix(UNFOLLOW_PREFIX)
    if follows is None or message is None or not raw.isdigit():
        await query.answer(t.gettext(EXPIRED), show_alert=True)
        return
    if not await may_press_in_chat(pressed, message.chat, context, ADMINS_ONLY):
        return
    removed = await follows.unfollow_id(message.chat.id, int(raw))
    if removed is None:
        await query.answer(t.gettext(EXPIRED), show_alert=True)
        return
    done = t.gettext("Unfollowed “{topic}”.").format(topic=removed.topic)
    await query.answer(done)
    await query.edit_message_text(HTML.esc(done))


# -- "Tell me when answered" ---------------------------------------------------------------


@on_press
async def watch_pressed(pressed: Pressed, context: Context) -> None:
    """Open a request for the presser; in a group, only if they can be reached in private."""
    query = pressed.query
    state = context.bot_data
    user = query.from_user
    message = _offered(query)
    in_group = message is not None and message.chat.type != ChatType.PRIVATE
    # The answer will be the presser's: in a group, in their own language.
    t = (
        state.translators.for_reader(None, user.language_code)
        if in_group
        else translator_for(pressed.update, context)
    )
    if state.allowed_to_ask(user.id) is not Verdict.ALLOW:  # a tap counts, as in buttons
        await query.answer(t.gettext(SLOW_DOWN))
        return
    watches = state.watches
    chat_data = context.chat_data
    asked = (
        chat_data.questions.get(message.message_id)
        if message is not None and chat_data is not None
        else None
    )
    if watches is None or asked is None or f"{WATCH_PREFIX}{asked[1]}" != query.data:
        await query.answer(t.gettext(EXPIRED), show_alert=True)
        return
    question = asked[0]
    result = await watches.request(user.id, question, t.language)
    if result is Requested.LIMIT:
        text = t.ngettext(
            "You are already waiting for {count} answer, the most I keep. Try again once it "
            "is answered or expired.",
            "You are already waiting for {count} answers, the most I keep. Try again once "
            "some are answered or expired.",
            watches.max_open,
        ).format(count=watches.max_open)
        await query.answer(text, show_alert=True)
        return
    if result is Requested.ALREADY:
        await query.answer(t.gettext("You will already be told when this is answered."))
        return
    days = state.settings.answer_watch_days
    promise = t.ngettext(
        "I'll send you the answer in private once a new article answers this (for {days} day).",
        "I'll send you the answer in private once a new article answers this (for {days} days).",
        days,
    ).format(days=days)
    if in_group:
        note = t.gettext("You asked me to tell you when this is answered: “{question}”")
        try:
            await context.bot.send_message(
                user.id,
                HTML.esc(note.format(question=shorten(question, 300))) + "\n" + HTML.esc(promise),
            )
        except Forbidden:
            await watches.withdraw(user.id, question)
            start = t.gettext(
                "I can only tell you in a private chat you have started: open @{bot}, press "
                "Start, then press this button again."
            ).format(bot=context.bot.username)
            await query.answer(start, show_alert=True)
            return
        except TelegramError:
            await watches.withdraw(user.id, question)
            raise
    await query.answer(promise)


def handlers() -> Handlers:
    new_messages = filters.UpdateType.MESSAGE
    return [
        CommandHandler("follow", follow, filters=new_messages),
        CommandHandler("unfollow", unfollow, filters=new_messages),
        CommandHandler("following", following, filters=new_messages),
        CallbackQueryHandler(unfollow_button, pattern=rf"^{UNFOLLOW_PREFIX}"),
        CallbackQueryHandler(watch_pressed, pattern=rf"^{WATCH_PREFIX}"),
    ]
