"""The content folder's watcher on Telegram: a file dropped into SEEDS_DIR is served within
seconds, its new articles pushed to the subscribers, and the admins told in private.

The watching and the debounce are bot/watcher.py's; this module starts it in post_init
(`start_watcher`), stops it at shutdown (`stop_watcher`), and gives it its reload: the
same `reload_content` as /reload and uploads (handlers/admin.py), which swaps the library,
keeps the last good version of a file that now fails and queues the new articles once
(`announce_new`). The report goes to every admin (ADMIN_USER_IDS) in private, in their
language, only when a content file really changed: a touched file, or one the bot wrote
itself (an upload, whose admin already had the report), changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging

from telegram.error import TelegramError

from bot.i18n import Translator
from bot.state import BotState
from bot.watcher import SeedsWatcher, WatchMode, fingerprint
from handlers.admin import Reloaded, reload_content, reload_report
from handlers.common import App, split_message_off_loop

logger = logging.getLogger(__name__)

WATCHER = "seeds_watcher"
MAX_FILES_NAMED = 20


def make_watcher(application: App) -> SeedsWatcher:
    """The watcher of SEEDS_DIR with the settings' mode, poll interval and quiet period."""
    settings = application.bot_data.settings

    async def reload() -> None:
        await on_folder_change(application)

    return SeedsWatcher(
        settings.seeds_dir,
        reload,
        mode=WatchMode(settings.seeds_watch),
        quiet=settings.seeds_debounce_seconds,
        poll_seconds=settings.seeds_poll_seconds,
        # What arrived between post_init's load and the watch's start: checked once.
        check_at_start=True,
    )


async def start_watcher(application: App) -> None:
    """Start watching SEEDS_DIR (never fails the start: a folder that cannot be watched is
    polled, with a warning, by the watcher itself)."""
    state = application.bot_data
    if state.settings.seeds_watch == WatchMode.OFF.value:
        return
    try:
        watcher = make_watcher(application)
    except Exception:  # nothing may stop a start
        logger.exception("content folder: the watcher cannot start")
        return
    state.watcher_task = asyncio.create_task(watcher.run(), name=WATCHER)


async def stop_watcher(application: App) -> None:
    """Stop the watcher (a reload under way is cancelled; the library it had is kept)."""
    state = application.bot_data
    task, state.watcher_task = state.watcher_task, None
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def on_folder_change(application: App) -> None:
    """After a burst of changes: reload when a content file's bytes changed, tell the admins."""
    state = application.bot_data
    now = await asyncio.to_thread(fingerprint, state.settings.seeds_dir)
    if now == state.content_fingerprint:
        logger.debug("content folder: changed on disk, not in content; nothing to reload")
        return
    reloaded = await reload_content(state)
    if not reloaded.changed:  # another reload (an upload's) took it in meanwhile
        return
    logger.info(
        "content folder: %s changed; %d articles loaded, %d files rejected",
        ", ".join(reloaded.changed), len(reloaded.library.articles), len(reloaded.loaded.rejected),
    )  # fmt: skip
    await tell_admins(application, reloaded)


def admin_translator(state: BotState, chat_language: str | None, admin_id: int) -> Translator:
    """An admin's language: the private chat's /language, else their Telegram language as
    last seen, else English."""
    return state.translators.for_reader(chat_language, state.admin_languages.get(admin_id))


def watcher_report(reloaded: Reloaded, t: Translator) -> str:
    """The admins' report (HTML): which files changed, then what /reload would say."""
    names = ", ".join(html.escape(name) for name in reloaded.changed[:MAX_FILES_NAMED])
    if len(reloaded.changed) > MAX_FILES_NAMED:
        names += ", …"
    heading = t.gettext("The content folder changed: {files}").format(files=names)
    return heading + "\n\n" + reload_report(reloaded, t)


async def tell_admins(application: App, reloaded: Reloaded) -> None:
    """Send the report to every admin in private (an admin who never wrote to the bot
    cannot be written to: logged, not retried)."""
    state = application.bot_data
    for admin_id in sorted(state.settings.admin_user_ids):
        chat = application.chat_data.get(admin_id)
        t = admin_translator(state, chat.language if chat is not None else None, admin_id)
        try:
            for part in await split_message_off_loop(watcher_report(reloaded, t)):
                await application.bot.send_message(admin_id, part)
        except TelegramError as error:
            logger.warning("content folder: the report to admin %s failed: %s", admin_id, error)
