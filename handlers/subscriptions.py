"""/subscribe, /unsubscribe, /subscriptions, and the outbox's sender (bot/outbox.py).

In a group only its administrators may change the subscription (getChatMember, as for
/language); anyone may ask what the chat gets. In a channel (where the bot must be an
admin to see posts at all) a command is a channel post, which only its admins can write.
A subscribed chat is sent each new article once, as its short summary with a "Full
summary" button (bot/subscriptions.py), unless it set a digest (handlers/digests.py): then
it gets the digest instead, /subscribe switches it back to each new article, and
/unsubscribe stops both.

The sender is one task of the Application (`start_sender` in post_init, `stop_sender`
before the bot shuts down). Replies to readers keep priority: before each push it waits
while updates are being handled (PerChatUpdateProcessor's `running`), up to
PRIORITY_WAIT seconds so that a steady stream of questions cannot starve the pushes; and
pushes are paced to OUTBOX_RATE (25/s), below Telegram's ~30/s for the whole bot, so
replies always have room. A push's 429 is handed back to the outbox (SEND_ONCE) instead of
being waited out inside the rate limiter, so that the wait is kept in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError, TimedOut
from telegram.ext import CommandHandler, filters

from bot.digests import Rule
from bot.i18n import N_, Translator
from bot.outbox import SEND_ONCE, Outbox, Outcome, Queued, Result
from bot.state import BotState
from bot.subscriptions import announce_articles, fresh_articles
from handlers.access import may_change_chat
from handlers.common import (
    App,
    Context,
    Handlers,
    Incoming,
    on_message,
    reply,
    translator_for,
)
from handlers.digests import open_digests
from handlers.follows import close_follows, on_new_articles, open_follows

logger = logging.getLogger(__name__)

PRIORITY_WAIT = 2.0  # seconds a push waits at most for the replies in flight
PRIORITY_POLL = 0.05
ADMINS_ONLY = N_("Only the group's admins can change its subscription.")
SENDER = "outbox_sender"


def _outbox(context: Context) -> Outbox | None:
    return context.bot_data.outbox


async def _changeable_outbox(incoming: Incoming, context: Context, t: Translator) -> Outbox | None:
    """The outbox, when it is there and this reader may change the chat's subscription;
    otherwise None, and the reader is told why."""
    outbox = _outbox(context)
    if outbox is None:
        await reply(incoming.message, t.gettext("Subscriptions are not available right now."))
        return None
    if not await may_change_chat(incoming, context, ADMINS_ONLY):
        return None
    return outbox


@on_message
async def subscribe(incoming: Incoming, context: Context) -> None:
    """Subscribe the chat to new articles (a group's admins only)."""
    t = translator_for(incoming.update, context)
    outbox = await _changeable_outbox(incoming, context, t)
    if outbox is None:
        return
    new = await outbox.subscribe(incoming.chat.id, t.language)
    digests = context.bot_data.digests
    if digests is not None and await digests.remove(incoming.chat.id):
        text = t.gettext(
            "Switched: each new article will be sent here as it arrives, instead of the digest."
        )
    elif new:
        text = t.gettext("Subscribed: each new article will be sent here once, as a short summary.")
    else:
        text = t.gettext("This chat is already subscribed to new articles.")
    await reply(incoming.message, text + "\n" + t.gettext("/unsubscribe stops it."))


@on_message
async def unsubscribe(incoming: Incoming, context: Context) -> None:
    """End the chat's subscription (a group's admins only); what was queued is dropped."""
    t = translator_for(incoming.update, context)
    outbox = await _changeable_outbox(incoming, context, t)
    if outbox is None:
        return
    had = await outbox.unsubscribe(incoming.chat.id)
    digests = context.bot_data.digests
    if digests is not None and await digests.remove(incoming.chat.id):
        had = True  # the digest stops with the subscription it rides on
    text = (
        t.gettext("Unsubscribed: no more new articles here.")
        if had
        else t.gettext("This chat is not subscribed. /subscribe sends it each new article.")
    )
    await reply(incoming.message, text)


@on_message
async def subscriptions(incoming: Incoming, context: Context) -> None:
    """What this chat gets."""
    t = translator_for(incoming.update, context)
    outbox = _outbox(context)
    if outbox is None:
        await reply(incoming.message, t.gettext("Subscriptions are not available right now."))
        return
    found = await outbox.subscription(incoming.chat.id)
    if found is None:
        text = t.gettext("This chat is not subscribed. /subscribe sends it each new article.")
    elif found.suspended is not None:
        text = t.gettext(
            "This chat's subscription is paused: I could not send here. /subscribe resumes it."
        )
    elif (digest := await _digest_of(context, incoming.chat.id)) is not None:
        rule, zone_name = digest
        text = t.gettext(
            "This chat gets a digest {rule} ({zone}) instead of each new article. /subscribe "
            "switches to each new article; /unsubscribe stops it."
        ).format(rule=rule.describe(t), zone=zone_name)
    else:
        text = t.gettext(
            "This chat gets each new article as a short summary. /unsubscribe stops it."
        )
    await reply(incoming.message, text)


async def _digest_of(context: Context, chat_id: int) -> tuple[Rule, str] | None:
    """The chat's digest rule and time zone when its mode is "digest"."""
    digests = context.bot_data.digests
    found = await digests.digest(chat_id) if digests is not None else None
    if digests is None or found is None:
        return None
    return found.rule, await digests.zone_name(chat_id)


# -- the sender ----------------------------------------------------------------------------


def transport_for(application: App) -> TelegramTransport:
    return TelegramTransport(application)


class TelegramTransport:
    """Sends an outbox item with the application's bot; Telegram's answers as Outcomes."""

    def __init__(self, application: App) -> None:
        self.application = application

    async def __call__(self, item: Queued) -> Outcome:
        bot = self.application.bot
        markup = InlineKeyboardMarkup.de_json(item.buttons, bot) if item.buttons else None
        limited = SEND_ONCE if bot.rate_limiter is not None else None
        try:
            message = await bot.send_message(
                item.chat_id, item.text, reply_markup=markup, rate_limit_args=limited
            )
        except RetryAfter as flood:
            wait = flood.retry_after
            seconds = wait if isinstance(wait, (int, float)) else wait.total_seconds()
            return Outcome(Result.RETRY, retry_after=float(seconds), reason=str(flood))
        except ChatMigrated as moved:
            return Outcome(Result.MIGRATED, new_chat_id=moved.new_chat_id, reason=str(moved))
        except Forbidden as refused:
            return Outcome(Result.BLOCKED, reason=str(refused))
        except BadRequest as refused:
            if "chat not found" in str(refused).lower():
                return Outcome(Result.BLOCKED, reason=str(refused))
            return Outcome(Result.FAILED, reason=str(refused))
        except TimedOut as error:  # it may have arrived: not sent again (bot/outbox.py)
            return Outcome(Result.UNKNOWN, reason=f"timed out: {error}")
        except TelegramError as error:  # a network error before an answer: tried again
            return Outcome(Result.FAILED, reason=str(error))
        return Outcome(Result.SENT, message_id=message.message_id)


def replies_first(application: App) -> Callable[[], Awaitable[None]]:
    """The sender's `may_send`: wait while readers' updates are being handled."""

    async def may_send() -> None:
        processor = application.update_processor
        deadline = time.monotonic() + PRIORITY_WAIT
        while getattr(processor, "running", 0) > 0 and time.monotonic() < deadline:
            await asyncio.sleep(PRIORITY_POLL)

    return may_send


async def start_sender(application: App) -> None:
    """Open the outbox in DATABASE_PATH, queue what is new since the last run, and start
    draining it."""
    state = application.bot_data
    settings = state.settings
    try:
        outbox = await Outbox.open(settings.database_path, rate=settings.outbox_rate)
    except Exception as error:  # nothing may stop a start: replies go on without pushes
        logger.warning(
            "outbox: cannot open %s (%s: %s); subscriptions are off until a restart",
            settings.database_path, type(error).__name__, error,
        )  # fmt: skip
        return
    state.outbox = outbox
    await open_follows(state)  # before the first announce: follows see what came meanwhile
    # Before the first announcement (it skips the chats in digest mode) and the sender.
    await open_digests(state)
    await announce_new(state)
    may_send = replies_first(application)
    task = asyncio.create_task(
        outbox.run(transport_for(application), may_send),
        name=SENDER,
    )
    application.bot_data.sender_task = task


async def stop_sender(application: App) -> None:
    """Stop the sender (an item cut off mid-send is recorded as unknown) and close."""
    state = application.bot_data
    task = state.sender_task
    state.sender_task = None
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    close_follows(state)
    outbox, state.outbox = state.outbox, None
    if outbox is not None:
        await outbox.close()


async def announce_new(state: BotState) -> int:
    """Queue the library's new articles for the subscribers, the topics followed and the
    open answer requests (never raises: a failure is logged)."""
    if state.outbox is None:
        return 0
    try:
        fresh = await fresh_articles(state.outbox, state.library.articles)
    except Exception:
        logger.exception("the new articles could not be found")
        return 0
    queued = 0
    try:
        queued += await announce_articles(state.outbox, fresh, state.translators)
    except Exception:
        logger.exception("new articles could not be queued for the subscribers")
    return queued + await on_new_articles(state, fresh)


def handlers() -> Handlers:
    # Channel posts too: only a channel's admins can post, so a command there is allowed
    # (it has no sender), and the bot sees posts only where it is an admin.
    new_messages = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
    return [
        CommandHandler("subscribe", subscribe, filters=new_messages),
        CommandHandler("unsubscribe", unsubscribe, filters=new_messages),
        CommandHandler("subscriptions", subscriptions, filters=new_messages),
    ]
