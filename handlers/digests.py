"""/digest and /timezone, and the job that queues the digests that are due (bot/digests.py).

`/digest daily 08:00` or `/digest weekly mon 08:00` gives the chat a digest instead of each
new article as it arrives (its subscription's mode becomes "digest"; /subscribe switches
back, /unsubscribe and /digest off stop it); `/digest` alone shows the chat's setting.
`/timezone Asia/Shanghai` sets the chat's time zone (IANA names; UTC by default);
`/timezone` alone shows it. In a group only its administrators may change either
(getChatMember, as for /subscribe); anyone may look.

Scheduling: one repeating job (`TICK_SECONDS`) asks `Digests.queue_due` for every digest
whose due time has passed, rather than one `run_once` job per chat: the due times live in
the database (`digests.next_due`, indexed), so a changed rule or time zone, a restart, or a
bot that was down at the due time need no job to be found, moved or rebuilt (the first
tick after a start sends what was missed, once), and thousands of chats cost one indexed
query per tick instead of thousands of timers. A digest is at most a tick late, which a
daily or weekly message can afford. The clock is `Digests.clock`, injectable.
"""

from __future__ import annotations

import datetime as dt
import logging

from telegram.ext import CommandHandler, filters

from bot.digests import (
    Digest,
    Digests,
    RuleError,
    find_zone,
    parse_rule,
    suggest_zone,
    zone,
)
from bot.i18n import N_, Translator
from bot.rendering import HTML
from bot.state import BotState
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

logger = logging.getLogger(__name__)

TICK_SECONDS = 30.0  # how often due digests are looked for (a digest is at most this late)
FIRST_TICK = 5.0  # seconds after the start: a digest missed while the bot was down
JOB = "queue-digests"
OFF_WORDS = frozenset({"off", "stop", "none", "关", "关闭", "關閉", "停止"})

NOT_AVAILABLE = N_("Digests are not available right now.")
ADMINS_ONLY = N_("Only the group's admins can change its digest or time zone.")
USAGE = N_(
    "Set a digest with /digest daily 08:00 or /digest weekly mon 08:00 (24-hour, in this "
    "chat's time zone: /timezone); /digest off stops it."
)
NO_DIGEST = N_("This chat has no digest.")
CURRENT = N_(
    "This chat gets a digest {rule} ({zone}) with the articles added since the last one, "
    "instead of each new article; nothing is sent when nothing is new. Next: {next}."
)
SET = N_(
    "Digest set: {rule} ({zone}), with the articles added since the last one; nothing is "
    "sent when nothing is new. Next: {next}."
)
INSTEAD = N_(
    "It replaces the push of each new article: /subscribe switches back to them, "
    "/digest off stops it."
)
OFF = N_(
    "Digest stopped: nothing more is sent here. /subscribe sends each new article as it arrives."
)
ZONE_NOW = N_(
    "This chat's time zone is {zone} (it is {time} there now). Change it with an IANA "
    "name, e.g. /timezone Asia/Shanghai or /timezone Europe/London."
)
ZONE_SET = N_("Time zone set: {zone} (it is {time} there now).")
ZONE_NEXT = N_("The next digest: {next}.")
ZONE_UNKNOWN = N_(
    "“{name}” is not a time zone I know. Use an IANA name such as Asia/Shanghai, "
    "Europe/London or America/New_York."
)
ZONE_SUGGEST = N_("Did you mean /timezone {zone}?")


def _digests(context: Context) -> Digests | None:
    return context.bot_data.digests


def local_text(seconds: float, zone_name: str) -> str:
    """A Unix time as the chat's local date and time: '2026-11-30 08:00'."""
    return dt.datetime.fromtimestamp(seconds, zone(zone_name)).strftime("%Y-%m-%d %H:%M")


def describe(found: Digest, zone_name: str, t: Translator, message: str = CURRENT) -> str:
    """A chat's digest in a sentence (`message`: CURRENT or SET)."""
    return t.gettext(message).format(
        rule=found.rule.describe(t), zone=zone_name, next=local_text(found.next_due, zone_name)
    )


@on_message
async def digest(incoming: Incoming, context: Context) -> None:
    """Show, set or stop the chat's digest (a group's admins change it)."""
    t = translator_for(incoming.update, context)
    digests = _digests(context)
    outbox = context.bot_data.outbox
    if digests is None or outbox is None:
        await reply(incoming.message, HTML.esc(t.gettext(NOT_AVAILABLE)))
        return
    chat_id = incoming.chat.id
    words = list(context.args or [])
    if not words:
        found = await digests.digest(chat_id)
        zone_name = await digests.zone_name(chat_id)
        text = describe(found, zone_name, t) if found else t.gettext(NO_DIGEST)
        await reply(incoming.message, HTML.esc(text + "\n\n" + t.gettext(USAGE)))
        return
    if len(words) == 1 and words[0].casefold() in OFF_WORDS:
        if not await may_change_chat(incoming, context, ADMINS_ONLY):
            return
        if await digests.remove(chat_id):
            await outbox.unsubscribe(chat_id)
            text = t.gettext(OFF)
        else:
            text = t.gettext(NO_DIGEST) + "\n\n" + t.gettext(USAGE)
        await reply(incoming.message, HTML.esc(text))
        return
    try:
        rule = parse_rule(words)
    except RuleError as error:
        problem = t.gettext(error.message).format(value=error.value)
        await reply(incoming.message, HTML.esc(problem + "\n\n" + t.gettext(USAGE)))
        return
    if not await may_change_chat(incoming, context, ADMINS_ONLY):
        return
    # The digest rides on the chat's subscription (resumed, if Telegram had refused it).
    await outbox.subscribe(chat_id, t.language)
    found = await digests.set(chat_id, rule, t.language)
    zone_name = await digests.zone_name(chat_id)
    text = describe(found, zone_name, t, SET) + "\n" + t.gettext(INSTEAD)
    await reply(incoming.message, HTML.esc(text))


@on_message
async def timezone(incoming: Incoming, context: Context) -> None:
    """Show or set the chat's time zone (a group's admins set it)."""
    t = translator_for(incoming.update, context)
    digests = _digests(context)
    if digests is None:
        await reply(incoming.message, HTML.esc(t.gettext(NOT_AVAILABLE)))
        return
    chat_id = incoming.chat.id
    words = list(context.args or [])
    now = digests.clock()
    if not words:
        zone_name = await digests.zone_name(chat_id)
        text = t.gettext(ZONE_NOW).format(zone=zone_name, time=local_text(now, zone_name)[-5:])
        await reply(incoming.message, HTML.esc(text))
        return
    asked = " ".join(words)
    name = find_zone(asked)
    if name is None or len(words) > 1:
        text = t.gettext(ZONE_UNKNOWN).format(name=asked[:64])
        close = suggest_zone(asked)
        if close is not None:
            text += "\n" + t.gettext(ZONE_SUGGEST).format(zone=close)
        await reply(incoming.message, HTML.esc(text))
        return
    if not await may_change_chat(incoming, context, ADMINS_ONLY):
        return
    found = await digests.set_zone(chat_id, name)
    text = t.gettext(ZONE_SET).format(zone=name, time=local_text(now, name)[-5:])
    if found is not None:
        text += "\n" + t.gettext(ZONE_NEXT).format(next=local_text(found.next_due, name))
    await reply(incoming.message, HTML.esc(text))


# -- the scheduler -------------------------------------------------------------------------


async def queue_digests(context: Context) -> None:
    """Repeating job: queue the digests that are due (a failure is logged, and the next
    tick tries again: the due times stay in the database until they are queued)."""
    state = context.bot_data
    digests = state.digests
    if digests is None:
        return
    try:
        await digests.queue_due(state.library.articles, state.translators)
    except Exception:
        logger.exception("digests: the due digests could not be queued; trying again")


async def open_digests(state: BotState) -> None:
    """Create or upgrade the digests' tables beside the outbox's, before its sender starts
    (their migration is a transaction on the outbox's connection, which must not overlap
    the sender's). Nothing here may stop a start: without them there are no digests."""
    outbox = state.outbox
    if outbox is None:
        return
    try:
        state.digests = await Digests.open(outbox)
        outbox.migration_hooks.append(state.digests.migrate_chat)
    except Exception as error:
        logger.warning(
            "digests: cannot open their tables (%s: %s); no digests until a restart",
            type(error).__name__, error,
        )  # fmt: skip


def start_digests(application: App) -> None:
    """Start the repeating job that queues the due digests (when their tables opened)."""
    if application.bot_data.digests is not None and application.job_queue is not None:
        application.job_queue.run_repeating(
            queue_digests, interval=TICK_SECONDS, first=FIRST_TICK, name=JOB
        )


def stop_digests(application: App) -> None:
    """No more digests are queued (before the outbox they live on closes)."""
    application.bot_data.digests = None


def handlers() -> Handlers:
    new_messages = filters.UpdateType.MESSAGE
    return [
        CommandHandler("digest", digest, filters=new_messages),
        CommandHandler("timezone", timezone, filters=new_messages),
    ]
