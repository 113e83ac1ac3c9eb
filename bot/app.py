"""The Telegram application: one function builds it, `run` starts it (polling or webhook).

The only module of `bot/` that imports `telegram`: the domain stays usable without it.
Shared objects live in `application.bot_data` (see `handlers.common`): the settings, the
content library (swapped whole on /reload), and the query log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable
from typing import Any
from urllib.parse import urlsplit

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    Defaults,
)

import handlers
from bot.chat_state import ChatStateStore
from bot.config import Settings
from bot.library import load_library
from bot.limits import Cooldown, QuestionLimiter
from bot.persistence import ChatStatePersistence
from bot.storage import QueryLog
from handlers.common import LIBRARY, QUERY_LOG, QUESTION_LIMITER, SETTINGS, SUMMARY_COOLDOWN
from handlers.menus import set_command_menus

logger = logging.getLogger(__name__)


# Chat state is saved this often (only the chats that changed, one transaction): a crash
# loses at most this much of it; SIGTERM saves everything.
STATE_SAVE_SECONDS = 15
# Updates handled at once. Eight in flight keep ~160 answers/s even at a 50 ms round trip
# to Telegram (five times its ~30 messages/s ceiling per bot); more bought nothing in
# benchmarks/bench_updates.py and slowed the local fake server down.
CONCURRENT_UPDATES = 8
# Libraries that log request URLs, which contain the token.
NOISY_LOGGERS = ("httpx", "httpcore", "telegram", "apscheduler")


class RedactToken(logging.Filter):
    """Replaces the bot token with *** in every record, message, arguments and traceback."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.token:
            return True
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "***"), None
        if record.exc_info and not record.exc_text:
            # Format the traceback now so the handler's formatter reuses the redacted text.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, "***")
        if record.stack_info and self.token in record.stack_info:
            record.stack_info = record.stack_info.replace(self.token, "***")
        return True


def protect_token_in_logs(token: str) -> None:
    """Cap the HTTP and telegram loggers at WARNING and redact the token on every handler.

    The filter sits on the root logger's handlers (a logger's own filters do not see records
    propagated from child loggers), so even LOG_LEVEL=DEBUG never prints the token.
    """
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    for handler in root.handlers:
        if not any(isinstance(f, RedactToken) for f in handler.filters):
            handler.addFilter(RedactToken(token))


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Up to `max_concurrent_updates` updates at once, but one chat's updates one at a time.

    A reader who edits a question while its answer is still being sent, or a group that
    migrates while its /summary is on its way, must find the first update's work done:
    handled concurrently, the edit could arrive before the answer's id was remembered.
    Updates of one chat queue on that chat's lock (FIFO, so in arrival order); updates
    without a chat (inline queries) and other chats' run alongside.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}  # updates holding or awaiting each chat's lock

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update's handlers once the chat's earlier updates are done."""
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._users[chat.id] = self._users.get(chat.id, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[chat.id] -= 1
            if not self._users[chat.id]:  # nobody else waits: forget the chat
                del self._users[chat.id], self._locks[chat.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def build_application(settings: Settings) -> Application:
    """The Application with its defaults, rate limiter, lifecycle hooks and handlers."""
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is required to build the Telegram application")
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        # Only chat_data persists (current article, question -> answer for edits), as rows
        # of the bot's database: the library and the query log in bot_data are rebuilt at
        # every start. PERSISTENCE_PATH is only the old pickle file, migrated once.
        .persistence(
            ChatStatePersistence(
                ChatStateStore(settings.database_path, legacy_path=settings.persistence_path),
                update_interval=STATE_SAVE_SECONDS,
            )
        )
        # Updates are handled concurrently: one slow round trip to Telegram (tens of
        # milliseconds) must not hold up every other reader. Within a chat, in order.
        .concurrent_updates(PerChatUpdateProcessor(CONCURRENT_UPDATES))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if settings.telegram_rate_limiter:
        # Waits out Telegram's RetryAfter and retries; a send that timed out is not retried
        # (it may have been delivered).
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    application = builder.build()
    application.bot_data[SETTINGS] = settings
    application.bot_data[QUESTION_LIMITER] = QuestionLimiter(
        settings.questions_per_window, settings.question_window_seconds
    )
    application.bot_data[SUMMARY_COOLDOWN] = Cooldown(settings.summary_cooldown_seconds)
    handlers.register(application)
    return application


async def post_init(application: Application) -> None:
    """Load the content off the event loop, open the query log, set the command menus."""
    settings: Settings = application.bot_data[SETTINGS]
    library, loaded = await asyncio.to_thread(load_library, settings)
    for problem in loaded.rejected:
        logger.warning("rejected %s", problem)
    for problem in loaded.warnings:
        logger.info("warning %s", problem)
    logger.info("loaded %d articles, %d passages", len(library.articles), library.passage_count)
    application.bot_data[LIBRARY] = library
    application.bot_data[QUERY_LOG] = await QueryLog.open(settings)
    await set_command_menus(application)
    if application.job_queue is not None:
        application.job_queue.run_daily(
            purge_query_log, time=dt.time(hour=3, tzinfo=dt.UTC), name="purge-query-log"
        )
        # The chats changed since the last save are written here and at shutdown.
        application.job_queue.run_repeating(
            save_state, interval=STATE_SAVE_SECONDS, first=STATE_SAVE_SECONDS, name="save-state"
        )


async def post_shutdown(application: Application) -> None:
    """Drain the query log to disk and close it."""
    log: QueryLog | None = application.bot_data.get(QUERY_LOG)
    if log is not None:
        await log.close()


async def save_state(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Periodic job: write the changed chats' state (a failed save keeps it for the next)."""
    persistence = context.application.persistence
    if persistence is not None:
        await context.application.update_persistence()
        await persistence.flush()


async def purge_query_log(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Daily job: delete query-log rows older than QUERY_LOG_RETENTION_DAYS."""
    log: QueryLog | None = context.bot_data.get(QUERY_LOG)
    if log is not None:
        deleted = await log.purge_expired()
        logger.info("query log: %d expired rows deleted", deleted)


def webhook_path(url: str) -> str:
    """The path part of WEBHOOK_URL, which run_webhook listens on."""
    return urlsplit(url).path.lstrip("/")


def run(settings: Settings) -> int:
    """Run the bot until SIGINT/SIGTERM: long polling, or a webhook when WEBHOOK_URL is set."""
    protect_token_in_logs(settings.telegram_bot_token or "")
    application = build_application(settings)
    if settings.webhook_url:
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=webhook_path(settings.webhook_url),
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0
