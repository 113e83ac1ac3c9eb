"""Admin commands, checked by numeric user id: /reload and /stats [days]."""

from __future__ import annotations

import asyncio
import html
import logging

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from bot.charts import ChartsUnavailableError, questions_chart
from bot.library import load_library
from bot.stats import render_stats
from handlers.common import (
    LIBRARY,
    library_of,
    query_log_of,
    record_admin_action,
    reply,
    settings_of,
    typing_indicator,
)

logger = logging.getLogger(__name__)

MAX_STATS_DAYS = 3650
MAX_REJECTIONS_SHOWN = 20
REFUSAL = "Sorry, only the bot's admins can do that."
PRIVATE_ONLY = "/{command} works in a private chat with me: the figures are not for everyone here."


async def _allowed(update: Update, context: ContextTypes.DEFAULT_TYPE, action: str) -> bool:
    """True for a configured admin; otherwise a short refusal. Either way the attempt is logged."""
    user = update.effective_user
    allowed = settings_of(context).is_admin(user.id if user else None)
    record_admin_action(context, user.id if user else None, action, allowed)
    if not allowed:
        logger.info("refused %s for user %s", action, user.id if user else None)
        await reply(update, REFUSAL)
    return allowed


async def reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload: re-read SEEDS_DIR and the glossary, and report."""
    if not await _allowed(update, context, "reload"):
        return
    await reply(update, await reload_library(update, context))


async def reload_library(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """Re-read SEEDS_DIR and the glossary off the event loop, swap the library whole, log the
    reload; returns the report (HTML). Also used after an upload."""
    previous = library_of(context)
    async with typing_indicator(update, context):
        library, loaded = await asyncio.to_thread(load_library, settings_of(context), previous)
    # One assignment: questions already running keep the library they started with.
    context.bot_data[LIBRARY] = library
    user = update.effective_user
    log = query_log_of(context)
    if log is not None:
        log.record_reload(
            admin_id=user.id if user else None,
            articles=len(library.articles),
            passages=library.passage_count,
            rejected=loaded.rejected,
        )
    lines = [
        f"Reloaded: {len(library.articles)} article(s), {library.passage_count} passages, "
        f"{len(library.glossary)} glossary aliases."
    ]
    if loaded.rejected:
        lines += ["", f"<b>Rejected ({len(loaded.rejected)})</b>"]
        lines += [f"• {html.escape(str(p))}" for p in loaded.rejected[:MAX_REJECTIONS_SHOWN]]
    notes = [w for w in loaded.warnings if "kept" in w.reason or "keeping" in w.reason]
    if notes:
        lines += ["", "<b>Kept from before</b>"]
        lines += [f"• {html.escape(str(w))}" for w in notes[:MAX_REJECTIONS_SHOWN]]
    return "\n".join(lines)


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats [days]: the query log's figures as text, and the daily chart when available."""
    if not await _allowed(update, context, "stats"):
        return
    raw = (context.args or ["30"])[0]
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_STATS_DAYS:
        await reply(update, f"Usage: /stats [days], days from 1 to {MAX_STATS_DAYS}.")
        return
    log = query_log_of(context)
    if log is None:
        await reply(update, "The query log is not open.")
        return
    try:
        async with typing_indicator(update, context):
            figures = await log.stats(int(raw))
    except Exception:
        logger.exception("stats failed")
        await reply(update, "The query log cannot be read right now; see the bot's log.")
        return
    await reply(update, f"<pre>{html.escape(render_stats(figures))}</pre>")
    try:
        chart = await asyncio.to_thread(questions_chart, figures.per_day)
    except ChartsUnavailableError:
        return
    message = update.effective_message
    if message is not None:
        await message.reply_photo(chart, caption=f"Questions per day, last {raw} days")


async def private_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats or /reload outside a private chat: a hint to ask in private, nothing shown."""
    message = update.effective_message
    command = (message.text or "/").split()[0].lstrip("/").split("@")[0] if message else ""
    await reply(update, PRIVATE_ONLY.format(command=html.escape(command)))


def handlers() -> list[BaseHandler]:
    new_messages = filters.UpdateType.MESSAGE
    in_private = new_messages & filters.ChatType.PRIVATE
    return [
        CommandHandler("reload", reload, filters=in_private),
        CommandHandler("stats", stats, filters=in_private),
        CommandHandler(["reload", "stats"], private_only, filters=new_messages),
    ]
