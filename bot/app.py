"""The Telegram application: one function builds it, `run` starts it (polling or webhook).

The only module of `bot/` that imports `telegram` (with its persistence adapter): the
domain stays usable without it. The application's state is typed (`bot/state.py`):
`application.bot_data` is a `BotState` (the settings, the content library swapped whole on
/reload, the query log, the limits), each chat's `chat_data` a `ChatState`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import inspect
import json
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from telegram import LinkPreviewOptions, Update
from telegram._utils.types import JSONDict
from telegram.constants import ParseMode, UpdateType
from telegram.error import RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    Defaults,
    ExtBot,
    JobQueue,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBDeprecationWarning

import handlers
from bot.chat_state import ChatStateStore
from bot.config import Settings
from bot.health import HealthServerError
from bot.i18n import translators
from bot.limits import Cooldown, QuestionLimiter
from bot.monitoring import Monitor
from bot.outbox import SEND_ONCE
from bot.persistence import ChatStatePersistence
from bot.querylog import QueryLog
from bot.state import BotState, ChatState, load_content
from bot.watcher import fingerprint
from handlers.common import App, Context
from handlers.digests import start_digests, stop_digests
from handlers.menus import set_command_menus
from handlers.subscriptions import start_sender, stop_sender
from handlers.watcher import start_watcher, stop_watcher

logger = logging.getLogger(__name__)


# Chat state is saved this often (only the chats that changed, one transaction): a crash
# loses at most this much of it; SIGTERM saves everything.
STATE_SAVE_SECONDS = 15
# Updates handled at once. Eight in flight keep ~160 answers/s even at a 50 ms round trip
# to Telegram (five times its ~30 messages/s ceiling per bot); more bought nothing in
# benchmarks/bench_updates.py and slowed the local fake server down.
CONCURRENT_UPDATES = 8
# PTB's own concurrency slots, taken before the chat's lock: wide open (see
# PerChatUpdateProcessor); CONCURRENT_UPDATES is the limit that counts.
PTB_SLOTS = 1 << 16
# The update types the handlers use (handlers/): Telegram sends no others, so nothing
# arrives that no handler would take.
ALLOWED_UPDATES = (
    UpdateType.MESSAGE,
    UpdateType.EDITED_MESSAGE,
    UpdateType.CALLBACK_QUERY,
    UpdateType.INLINE_QUERY,
    UpdateType.CHOSEN_INLINE_RESULT,
    UpdateType.MY_CHAT_MEMBER,
    # /subscribe, /unsubscribe and /subscriptions in channels where the bot is an admin.
    UpdateType.CHANNEL_POST,
)
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


@dataclass
class CutOff:
    """What a shutdown cut off: updates still waiting their turn, and updates mid-way."""

    waiting: list[object] = field(default_factory=list)
    running: list[object] = field(default_factory=list)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Up to `max_concurrent_updates` updates at once, but one chat's updates one at a time.

    A reader who edits a question while its answer is still being sent, or a group that
    migrates while its /summary is on its way, must find the first update's work done:
    handled concurrently, the edit could arrive before the answer's id was remembered.
    Updates of one chat queue on that chat's lock (FIFO, so in arrival order); updates
    without a chat (inline queries) and other chats' run alongside.

    The chat's lock is taken *before* a concurrency slot: a chat's backlog waits on its own
    lock without holding slots, so it never delays another chat's answer. PTB takes its
    own slot in `process_update` (final) before `do_process_update` runs, so that slot is
    left wide open and the real limit is a semaphore taken here, after the chat's lock.

    At shutdown `cut_off` bounds the drain: what has not finished by then is cancelled.
    """

    def __init__(
        self,
        max_concurrent_updates: int,
        watch: Callable[[object], AbstractContextManager[None]] | None = None,
    ) -> None:
        super().__init__(PTB_SLOTS)
        # Around each update from its arrival: the metrics and the log lines' ids (Monitor).
        self.watch = watch
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}  # updates holding or awaiting each chat's lock
        self._in_hand: dict[asyncio.Task[Any], object] = {}  # task -> its update
        self._started: set[asyncio.Task[Any]] = set()  # of those, the ones running handlers

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update's handlers once its chat's earlier updates are done and a slot
        is free (see the class docstring)."""
        if self.watch is None:
            await self._process(update, coroutine)
            return
        with self.watch(update):
            await self._process(update, coroutine)

    async def _process(self, update: object, coroutine: Awaitable[Any]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._in_hand[task] = update
        try:
            chat = update.effective_chat if isinstance(update, Update) else None
            if chat is None:
                await self._run(task, coroutine)
                return
            lock = self._locks.setdefault(chat.id, asyncio.Lock())
            self._users[chat.id] = self._users.get(chat.id, 0) + 1
            try:
                async with lock:
                    await self._run(task, coroutine)
            finally:
                self._users[chat.id] -= 1
                if not self._users[chat.id]:  # nobody else waits: forget the chat
                    del self._users[chat.id], self._locks[chat.id]
        except asyncio.CancelledError:
            if inspect.iscoroutine(coroutine):
                coroutine.close()  # cut off before it started: no "never awaited" warning
            raise
        finally:
            if task is not None:
                self._in_hand.pop(task, None)
                self._started.discard(task)

    async def _run(self, task: asyncio.Task[Any] | None, coroutine: Awaitable[Any]) -> None:
        """Take a slot, then run the handlers."""
        async with self._slots:
            if task is not None:
                self._started.add(task)
            await coroutine

    async def cut_off(self, seconds: float) -> CutOff:
        """After `seconds`, cancel the updates still in hand and say which. (The caller
        cancels this first when everything finished in time.)"""
        await asyncio.sleep(seconds)
        cut = CutOff()
        for task, update in list(self._in_hand.items()):
            if task.done():
                continue
            (cut.running if task in self._started else cut.waiting).append(update)
            task.cancel()
        return cut

    @property
    def running(self) -> int:
        """Updates whose handlers are running now (the outbox yields to them)."""
        return len(self._started)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


class PatientRateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter, but a flood wait ("retry after N") is waited out however many
    times Telegram repeats it, until `give_up_seconds` have passed, instead of 3 tries.

    A reader whose answer waits in a flood gets it late rather than an apology. Per chat the
    order holds: a chat's updates run one at a time (PerChatUpdateProcessor).
    """

    def __init__(self, give_up_seconds: float) -> None:
        super().__init__()
        self.give_up_seconds = give_up_seconds

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Send through AIORateLimiter's limits; on RetryAfter wait and send again."""
        give_up_at = time.monotonic() + self.give_up_seconds
        while True:
            try:
                # One attempt: AIORateLimiter's own retry loop would give up after a few.
                return await self._run_request(
                    chat=data.get("chat_id") is not None,
                    group=_flood_group(data.get("chat_id")),
                    allow_paid_broadcast=bool(data.get("allow_paid_broadcast", False)),
                    callback=callback,
                    args=args,
                    kwargs=kwargs,
                )
            except RetryAfter as flood:
                if rate_limit_args == SEND_ONCE:  # a push: the outbox keeps the wait
                    raise
                with warnings.catch_warnings():  # PTB 22 warns that it becomes a timedelta
                    warnings.simplefilter("ignore", PTBDeprecationWarning)
                    wait = flood.retry_after
                seconds = wait.total_seconds() if isinstance(wait, dt.timedelta) else wait
                seconds += 0.1
                if time.monotonic() + seconds > give_up_at:
                    logger.warning(
                        "%s: still flood-limited after %.0f s; giving up",
                        endpoint,
                        self.give_up_seconds,
                    )
                    raise
                logger.info("%s: flood control, sending again in %.1f s", endpoint, seconds)
                # Telegram's flood wait is for the whole bot: hold every request meanwhile.
                self._retry_after_event.clear()
                try:
                    await asyncio.sleep(seconds)
                finally:
                    self._retry_after_event.set()


def _flood_group(chat_id: object) -> int | str | bool:
    """AIORateLimiter's per-group bucket: negative ids (groups, channels) and @usernames."""
    with contextlib.suppress(ValueError, TypeError):
        chat_id = int(chat_id)  # type: ignore[call-overload]
    if (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str):
        return chat_id
    return False


class DigestApplication(
    Application[ExtBot[Any], Context, dict[Any, Any], ChatState, BotState, JobQueue[Any]]
):
    """PTB's Application with a bounded shutdown: `stop` drains for SHUTDOWN_DRAIN_SECONDS,
    then cuts off what is left (PTB alone waits for every queued update and flood wait).

    Updates cut off before they started are kept in the database and handled at the next
    start: Telegram has already been told they arrived and will not send them again.
    `monitor` watches it for /healthz, /metrics and the log lines (bot/monitoring.py).
    """

    monitor: Monitor | None = None

    async def stop(self) -> None:
        """Stop fetching, finish the updates in hand within the drain time, save state."""
        processor = self.update_processor
        settings = self.bot_data.settings
        cut_off = None
        if isinstance(processor, PerChatUpdateProcessor):
            cut_off = asyncio.create_task(processor.cut_off(settings.shutdown_drain_seconds))
        await super().stop()
        if cut_off is None:
            return
        if not cut_off.done():
            cut_off.cancel()
            return
        cut = cut_off.result()
        if cut.running:
            logger.warning(
                "shutdown: %d updates cut off mid-way after %s s (their answers may be "
                "missing): %s",
                len(cut.running), settings.shutdown_drain_seconds, _update_ids(cut.running),
            )  # fmt: skip
        if cut.waiting:
            backlog = {u.update_id: u.to_json() for u in cut.waiting if isinstance(u, Update)}
            if isinstance(self.persistence, ChatStatePersistence):
                kept = await self.persistence.store.keep_updates(backlog)
            else:
                kept = False
            logger.warning(
                "shutdown: %d updates had not started after %s s; %s: %s",
                len(cut.waiting), settings.shutdown_drain_seconds,
                "kept for the next start" if kept else "dropped", _update_ids(cut.waiting),
            )  # fmt: skip


def _update_ids(updates: list[object]) -> str:
    return ", ".join(str(getattr(u, "update_id", "?")) for u in updates)


def build_application(settings: Settings, *, request: BaseRequest | None = None) -> App:
    """The Application with its defaults, rate limiter, lifecycle hooks and handlers.

    `request`: the request layer for every Bot API call, getUpdates' too, instead of PTB's
    HTTP ones (the tests answer them in process, tests/inprocess.py; the monitor then counts
    none of them)."""
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is required to build the Telegram application")
    monitor = Monitor(settings)
    builder: ApplicationBuilder[
        ExtBot[Any], Context, dict[Any, Any], ChatState, BotState, JobQueue[Any]
    ] = (
        ApplicationBuilder()
        # The typed state (bot/state.py): bot_data is a BotState, each chat_data a ChatState.
        .context_types(ContextTypes(bot_data=BotState, chat_data=ChatState))
        .application_class(DigestApplication)
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                # A reader who deleted their question still gets the answer.
                allow_sending_without_reply=True,
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
        .concurrent_updates(PerChatUpdateProcessor(CONCURRENT_UPDATES, monitor.watch_update))
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    if settings.telegram_rate_limiter:
        # Waits out Telegram's RetryAfter and retries; a send that timed out is not retried
        # (it may have been delivered).
        builder = builder.rate_limiter(PatientRateLimiter(settings.flood_give_up_seconds))
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:  # with HEALTH_PORT, every Bot API request counted (bot/monitoring.py)
        general, get_updates = monitor.requests()
        builder = builder.request(general).get_updates_request(get_updates)
    application = builder.build()
    if isinstance(application, DigestApplication):
        application.monitor = monitor
    # The one place the shared state is filled in (the library and the query log follow in
    # post_init, before the first update).
    state = application.bot_data
    state.settings = settings
    state.question_limiter = QuestionLimiter(
        settings.questions_per_window, settings.question_window_seconds
    )
    state.summary_cooldown = Cooldown(settings.summary_cooldown_seconds)
    # The languages' catalogs (bot/locale/*.po), read once: a broken one stops the start.
    state.translators = translators()
    handlers.register(application)
    return application


async def post_init(application: App) -> None:
    """Load the content off the event loop, open the query log, set the command menus."""
    state = application.bot_data
    settings = state.settings
    monitor = _monitor(application)
    if monitor is not None:  # /healthz answers 503 while the content loads
        await monitor.start(application)
    # The files' fingerprint before they are read: the watcher reloads when they differ.
    state.content_fingerprint = await asyncio.to_thread(fingerprint, settings.seeds_dir)
    library, keys, loaded = await asyncio.to_thread(load_content, settings, None, state.translators)
    for problem in loaded.rejected:
        logger.warning("rejected %s", problem)
    for problem in loaded.warnings:
        logger.info("warning %s", problem)
    logger.info("loaded %d articles, %d passages", len(library.articles), library.passage_count)
    state.use(library, keys)
    # At shutdown its last rows get SHUTDOWN_DRAIN_SECONDS too, should the database fail.
    state.query_log = await QueryLog.open(settings, drain_timeout=settings.shutdown_drain_seconds)
    if monitor is not None:
        monitor.content_loaded("start", len(loaded.rejected))
        monitor.watch_query_log(state.query_log)
    await set_command_menus(application)
    await requeue_backlog(application)
    # Pushes to subscribers (what is new since the last run is queued now).
    await start_sender(application)
    # Digests ride on the outbox (their tables were opened with it): the job that queues them.
    start_digests(application)
    # Files dropped into SEEDS_DIR are served without a restart (handlers/watcher.py).
    await start_watcher(application)
    if application.job_queue is not None:
        application.job_queue.run_daily(
            purge_query_log, time=dt.time(hour=3, tzinfo=dt.UTC), name="purge-query-log"
        )
        # The chats changed since the last save are written here and at shutdown.
        application.job_queue.run_repeating(
            save_state, interval=STATE_SAVE_SECONDS, first=STATE_SAVE_SECONDS, name="save-state"
        )


async def requeue_backlog(application: App) -> None:
    """Queue the updates the last shutdown cut off before they started, ahead of new ones."""
    if not isinstance(application.persistence, ChatStatePersistence):
        return
    kept = await application.persistence.store.take_updates()
    for data in kept:
        try:
            update = Update.de_json(json.loads(data), application.bot)
        except (ValueError, TypeError, KeyError) as error:
            logger.warning("update backlog: an update that cannot be read, skipped: %s", error)
            continue
        await application.update_queue.put(update)
    if kept:
        logger.info("update backlog: %d updates cut off at the last shutdown queued", len(kept))


async def post_stop(application: App) -> None:
    """Stop the content folder's watcher, then the outbox's sender while the bot can still
    send (an item cut off mid-send is recorded as unknown, not sent twice); no digest is
    queued after it."""
    await stop_watcher(application)
    stop_digests(application)
    await stop_sender(application)


async def post_shutdown(application: App) -> None:
    """Drop the inline queries not logged yet, drain the query log to disk and close it."""
    state = application.bot_data
    state.inline_log.close()
    log = state.query_log
    if log is not None:
        await log.close()
    monitor = _monitor(application)
    if monitor is not None:
        await monitor.stop()


def _monitor(application: App) -> Monitor | None:
    return application.monitor if isinstance(application, DigestApplication) else None


async def save_state(context: Context) -> None:
    """Periodic job: write the changed chats' state (a failed save keeps it for the next)."""
    persistence = context.application.persistence
    if persistence is not None:
        await context.application.update_persistence()
        await persistence.flush()


async def purge_query_log(context: Context) -> None:
    """Daily job: delete query-log rows older than QUERY_LOG_RETENTION_DAYS, and answer
    requests older than ANSWER_WATCH_DAYS."""
    log = context.bot_data.query_log
    if log is not None:
        deleted = await log.purge_expired()
        logger.info("query log: %d expired rows deleted", deleted)
    watches = context.bot_data.watches  # "tell me when answered" past ANSWER_WATCH_DAYS too
    if watches is not None:
        try:
            await watches.purge_expired()
        except Exception:
            logger.exception("answer requests: the expired ones could not be deleted")


def webhook_path(url: str) -> str:
    """The path part of WEBHOOK_URL, which run_webhook listens on."""
    return urlsplit(url).path.lstrip("/")


def run(settings: Settings) -> int:
    """Run the bot until SIGINT/SIGTERM: long polling, or a webhook when WEBHOOK_URL is set."""
    protect_token_in_logs(settings.telegram_bot_token or "")
    application = build_application(settings)
    try:
        _run(application, settings)
    except HealthServerError as error:
        logger.error("%s", error)
        return 2
    return 0


def _run(application: App, settings: Settings) -> None:
    if settings.webhook_url:
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=webhook_path(settings.webhook_url),
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=list(ALLOWED_UPDATES),
        )
    else:
        application.run_polling(allowed_updates=list(ALLOWED_UPDATES))
