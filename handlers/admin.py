"""Admin commands (`admin_only`: checked by numeric user id): /reload and /stats [days]."""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass

from telegram.ext import CommandHandler, filters

from bot.callbacks import ButtonKeys
from bot.charts import ChartsUnavailableError, questions_chart
from bot.config import Settings
from bot.i18n import N_, Translator, Translators
from bot.library import Library
from bot.parsing import LoadResult
from bot.rendering import HTML
from bot.state import BotState, load_content
from bot.stats import passage_labels, render_stats
from bot.subscription_stats import render_subscriptions
from bot.watcher import Fingerprint, changed_files, fingerprint
from handlers.access import admin_only
from handlers.common import (
    Context,
    Handlers,
    Incoming,
    on_message,
    reply,
    translator_for,
    typing_indicator,
)
from handlers.subscriptions import announce_new

logger = logging.getLogger(__name__)

MAX_STATS_DAYS = 3650
MAX_REJECTIONS_SHOWN = 20
PRIVATE_ONLY = N_(
    "/{command} works in a private chat with me: the figures are not for everyone here."
)


@on_message
@admin_only("reload")
async def reload(incoming: Incoming, context: Context) -> None:
    """/reload: re-read SEEDS_DIR and the glossary, and report."""
    await reply(incoming.message, await reload_library(incoming, context))


async def reload_library(incoming: Incoming, context: Context) -> str:
    """/reload's and an upload's reload (`reload_content`) with the typing indicator;
    returns the report (HTML) in the admin's language."""
    t = translator_for(incoming.update, context)
    async with typing_indicator(incoming.update, context):
        reloaded = await reload_content(context.bot_data, admin_id=incoming.user_id)
    return reload_report(reloaded, t)


@dataclass(frozen=True)
class Reloaded:
    """What one reload did: the library now served, what loading said, and the content
    files added, changed or removed since the load before (bot/watcher.py)."""

    library: Library
    loaded: LoadResult
    changed: tuple[str, ...]


async def reload_content(state: BotState, admin_id: int | None = None) -> Reloaded:
    """Re-read SEEDS_DIR and the glossary off the event loop, swap the library whole (a file
    that now fails keeps its last good version), queue the new articles for the subscribers
    and log the reload. One path for /reload, uploads and the folder watcher (handlers/
    watcher.py), which has no message; one reload at a time."""
    async with state.reload_lock:
        settings = state.settings
        previous = state.library
        files, (library, keys, loaded) = await asyncio.to_thread(
            _fingerprint_and_load, settings, previous, state.translators
        )
        changed = tuple(changed_files(state.content_fingerprint, files))
        state.content_fingerprint = files
        state.use(library, keys)
        # An article never seen before goes to the subscribers (bot/subscriptions.py).
        await announce_new(state)
    log = state.query_log
    if log is not None:
        log.record_reload(
            admin_id=admin_id,
            articles=len(library.articles),
            passages=library.passage_count,
            rejected=loaded.rejected,
        )
    return Reloaded(library, loaded, changed)


def _fingerprint_and_load(
    settings: Settings, previous: Library, languages: Translators
) -> tuple[Fingerprint, tuple[Library, ButtonKeys, LoadResult]]:
    # The fingerprint first: a file changed while loading differs from it, so the watcher
    # reloads again rather than miss it.
    return fingerprint(settings.seeds_dir), load_content(settings, previous, languages)


def reload_report(reloaded: Reloaded, t: Translator) -> str:
    """A reload's report (HTML): what is loaded, the files rejected (file:line: reason)
    and the ones kept from before."""
    library, loaded = reloaded.library, reloaded.loaded
    articles, passages, aliases = (
        len(library.articles),
        library.passage_count,
        len(library.glossary),
    )
    counted = {
        "articles": t.ngettext("{count} article", "{count} articles", articles),
        "passages": t.ngettext("{count} passage", "{count} passages", passages),
        "aliases": t.ngettext("{count} glossary alias", "{count} glossary aliases", aliases),
    }
    lines = [
        t.gettext("Reloaded: {articles}, {passages}, {aliases}.").format(
            articles=counted["articles"].format(count=articles),
            passages=counted["passages"].format(count=passages),
            aliases=counted["aliases"].format(count=aliases),
        )
    ]
    if loaded.rejected:
        rejected = t.gettext("Rejected ({count})").format(count=len(loaded.rejected))
        lines += ["", HTML.bold(rejected)]
        lines += [f"• {html.escape(str(p))}" for p in loaded.rejected[:MAX_REJECTIONS_SHOWN]]
    notes = [w for w in loaded.warnings if "kept" in w.reason or "keeping" in w.reason]
    if notes:
        lines += ["", HTML.bold(t.gettext("Kept from before"))]
        lines += [f"• {html.escape(str(w))}" for w in notes[:MAX_REJECTIONS_SHOWN]]
    return "\n".join(lines)


@on_message
@admin_only("stats")
async def stats(incoming: Incoming, context: Context) -> None:
    """/stats [days]: the query log's figures as text, and the daily chart when available."""
    message = incoming.message
    t = translator_for(incoming.update, context)
    raw = (context.args or ["30"])[0]
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_STATS_DAYS:
        usage = t.gettext("Usage: /stats [days], days from 1 to {most}.")
        await reply(message, usage.format(most=MAX_STATS_DAYS))
        return
    log = context.bot_data.query_log
    if log is None:
        await reply(message, t.gettext("The query log is not open."))
        return
    try:
        async with typing_indicator(incoming.update, context):
            figures = await log.stats(int(raw))
    except Exception:
        logger.exception("stats failed")
        await reply(
            message, t.gettext("The query log cannot be read right now; see the bot's log.")
        )
        return
    labels = passage_labels(context.bot_data.library.articles)
    text = render_stats(figures, labels, gettext=t.gettext, ngettext=t.ngettext)
    outbox = context.bot_data.outbox
    if outbox is not None:
        try:
            subscriptions = await outbox.figures()
        except Exception:  # the query log's figures still go out
            logger.exception("stats: the outbox's figures could not be read")
        else:
            text += "\n\n" + render_subscriptions(subscriptions, gettext=t.gettext)
    await reply(message, f"<pre>{html.escape(text)}</pre>")
    try:
        chart = await asyncio.to_thread(questions_chart, figures.per_day)
    except ChartsUnavailableError:
        return
    days = int(raw)
    caption = t.ngettext(
        "Questions per day, last {days} day", "Questions per day, last {days} days", days
    )
    await message.reply_photo(chart, caption=caption.format(days=days))


@on_message
async def private_only(incoming: Incoming, context: Context) -> None:
    """/stats or /reload outside a private chat: a hint to ask in private, nothing shown."""
    command = (incoming.message.text or "/").split()[0].lstrip("/").split("@")[0]
    text = translator_for(incoming.update, context).gettext(PRIVATE_ONLY)
    await reply(incoming.message, text.format(command=html.escape(command)))


def stats_messages(t: Translator) -> None:
    """Never called: bot/stats.py passes these plurals to ngettext through variables, where
    pybabel cannot see them, so they are named here for the catalogs (render_stats gets the
    reader's ngettext and finds them there)."""
    t.ngettext("{count} reader", "{count} readers", 0)
    t.ngettext("{count} summary", "{count} summaries", 0)
    t.ngettext("{count} pick", "{count} picks", 0)
    t.ngettext("{count} small-talk message", "{count} small-talk messages", 0)
    t.ngettext("{count} log row dropped", "{count} log rows dropped", 0)
    t.ngettext("{count} reply not delivered", "{count} replies not delivered", 0)


def handlers() -> Handlers:
    new_messages = filters.UpdateType.MESSAGE
    in_private = new_messages & filters.ChatType.PRIVATE
    return [
        CommandHandler("reload", reload, filters=in_private),
        CommandHandler("stats", stats, filters=in_private),
        CommandHandler(["reload", "stats"], private_only, filters=new_messages),
    ]
