"""The Application watched: the Telegram side of /healthz, /metrics and JSON log lines.

`Monitor` is made with the Application (bot/app.py): it sees every update go through
`PerChatUpdateProcessor` (`watch_update`: its type, its time, its ids for the log lines),
every Bot API request (`WatchedRequest`: method, HTTP status, round trip, and whether
Telegram answers getUpdates), every question and reload the query log queues, and reads
the rest (content, query-log queue, polling loop or webhook server) when asked. It hands
plain values to bot/health.py, which knows nothing of Telegram, and serves them from
post_init to post_shutdown when HEALTH_PORT is set. Without HEALTH_PORT nothing is
recorded and no server runs; update ids still reach the log lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx
from telegram import Bot, Update
from telegram.constants import UpdateType
from telegram.error import TelegramError
from telegram.request import HTTPXRequest, RequestData

from bot import logs
from bot.config import Settings
from bot.health import WEBHOOK_CHECK_SECONDS, HealthServer, Metrics, Vitals
from bot.outbox import Result
from bot.querylog import QueryLog
from bot.state import BotState
from bot.subscription_stats import SubscriptionFigures
from handlers.common import App

logger = logging.getLogger(__name__)

UPDATE_KINDS = tuple(kind.value for kind in UpdateType)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's certificates, or SSL_CERT_FILE / SSL_CERT_DIR
    when set), made once: each connection pool would read the certificates again (about
    20 ms of a start each)."""
    return httpx.create_ssl_context()


def update_kind(update: object) -> str:
    """What an update carries: message, callback_query, inline_query... ("other": none)."""
    if isinstance(update, Update):
        for kind in UPDATE_KINDS:
            if getattr(update, kind, None) is not None:
                return kind
    return "other"


class WatchedRequest(HTTPXRequest):
    """PTB's HTTP request layer, telling the Monitor each request's method, HTTP status
    and round trip (never the URL: it holds the token)."""

    def __init__(self, monitor: Monitor, **options: Any) -> None:
        super().__init__(**options)
        self.monitor = monitor

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        started = time.perf_counter()
        endpoint = self.monitor.endpoint(url)
        self.monitor.requesting(endpoint)
        try:
            code, payload = await super().do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout,
                pool_timeout,
            )  # fmt: skip
        except Exception as error:
            self.monitor.requested(endpoint, None, time.perf_counter() - started, error=error)
            raise
        self.monitor.requested(endpoint, code, time.perf_counter() - started, payload=payload)
        return code, payload


class Monitor:
    """Watches one Application for bot/health.py (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.application: App | None = None
        self.server: HealthServer | None = None
        self._contact: float | None = None  # monotonic: Telegram last answered the poll/check
        self._contact_error: str | None = None  # why it did not since
        self._polling_since: float | None = None  # monotonic: the getUpdates in flight began
        self._handled: float | None = None  # monotonic: the last update's handling ended
        self._arrived: float | None = None  # time.time(): the last update arrived
        self._webhook_error: str | None = None
        self._waiting: int | None = None
        self._in_progress = 0
        self._webhook_task: asyncio.Task[None] | None = None
        self._outbox: SubscriptionFigures | None = None  # read at the last scrape
        self.metrics: Metrics | None = None
        if settings.health_port is not None:
            self.metrics = Metrics(self.vitals)
            self.metrics.refresh = self.read_outbox

    @property
    def enabled(self) -> bool:
        return self.metrics is not None

    # -- the lifecycle (bot/app.py's post_init and post_shutdown) -------------------------

    def requests(self) -> tuple[HTTPXRequest, HTTPXRequest]:
        """The request layers to build the Application with: the general one (PTB's
        default pool of 256 connections) and getUpdates' (one), watched when HEALTH_PORT
        is set. Both verify Telegram's certificate with the one `tls_context()`."""
        verify = {"verify": tls_context()}
        if not self.enabled:
            return (
                HTTPXRequest(connection_pool_size=256, httpx_kwargs=verify),
                HTTPXRequest(httpx_kwargs=verify),
            )
        return (
            WatchedRequest(self, connection_pool_size=256, httpx_kwargs=verify),
            WatchedRequest(self, httpx_kwargs=verify),
        )

    async def start(self, application: App) -> None:
        """Serve /healthz and /metrics (when HEALTH_PORT is set): first of post_init, so
        that a probe gets a 503 while the content loads. Raises HealthServerError."""
        self.application = application
        if self.metrics is None or self.settings.health_port is None:
            return
        self.server = HealthServer(
            self.settings.health_host, self.settings.health_port, self.metrics
        )
        await self.server.start()
        if self.settings.webhook_url:
            self._webhook_task = asyncio.create_task(self._watch_webhook(application))

    def content_loaded(self, trigger: str, rejected: int) -> None:
        if self.metrics is not None:
            self.metrics.content_loaded(trigger, rejected)

    def watch_query_log(self, log: QueryLog) -> None:
        """Count the questions and reloads it queues; name chats in log lines as it does."""
        logs.use_chat_refs(logs.query_log_chat_refs(log))
        if self.metrics is not None:
            log.observer = self

    async def stop(self) -> None:
        logs.use_chat_refs(None)
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        server, self.server = self.server, None
        if server is not None:
            await server.stop()

    # -- what goes by ----------------------------------------------------------------------

    @contextlib.contextmanager
    def watch_update(self, update: object) -> Iterator[None]:
        """Around an update's handling, from its arrival (PerChatUpdateProcessor): its ids
        for the log lines, then its type and time for the metrics."""
        started = time.perf_counter()
        self._arrived = time.time()
        self._in_progress += 1
        update_id = getattr(update, "update_id", None)
        scope: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        if isinstance(update, Update):
            chat = update.effective_chat
            scope = logs.in_update(update.update_id, chat.id if chat is not None else None)
        with scope:
            try:
                yield
            finally:
                self._in_progress -= 1
                self._handled = time.monotonic()
                seconds = time.perf_counter() - started
                kind = update_kind(update)
                if self.metrics is not None:
                    self.metrics.update_handled(kind, seconds)
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "update %s (%s) handled in %.1f ms", update_id, kind, seconds * 1000,
                        extra={"duration_ms": seconds * 1000},
                    )  # fmt: skip

    def endpoint(self, url: str) -> str:
        """The Bot API method a URL calls; "download" for a file (its name is the reader's
        and unbounded: never a label)."""
        if url.startswith(self.settings.telegram_base_file_url):
            return "download"
        method = url.rsplit("/", 1)[-1]
        return method if method.isascii() and method.isalpha() else "other"

    def requesting(self, endpoint: str) -> None:
        """A Bot API request begins (WatchedRequest): a long poll in flight counts as
        contact while the poll before it succeeded (it waits for updates, up to 10 s)."""
        if endpoint == "getUpdates":
            self._polling_since = time.monotonic()

    def requested(
        self,
        endpoint: str,
        code: int | None,
        seconds: float,
        *,
        payload: bytes = b"",
        error: BaseException | None = None,
    ) -> None:
        """One Bot API request's end (WatchedRequest); getUpdates' tells whether Telegram
        answers the polling loop."""
        if self.metrics is not None:
            self.metrics.request(endpoint, str(code) if code is not None else "error", seconds)
        if endpoint != "getUpdates":
            return
        self._polling_since = None
        if code is not None and 200 <= code < 300:
            self._contact, self._contact_error = time.monotonic(), None
        elif code is not None:
            self._contact_error = f"HTTP {code}{_description(payload)}"
        elif error is not None:  # (a cancelled poll, at shutdown, never gets here)
            self._contact_error = self._redacted(f"{type(error).__name__}: {error}")

    def query(
        self, via: str, kind: str, outcome: str, delivered: bool | None, latency_ms: float | None
    ) -> None:
        """A question row was queued (QueryLog's observer)."""
        if self.metrics is not None:
            self.metrics.answered(via, kind, outcome, delivered, latency_ms)

    def reload(self, articles: int, passages: int, rejected: int) -> None:
        """A /reload or an upload reloaded the content (QueryLog's observer)."""
        self.content_loaded("reload", rejected)

    async def _watch_webhook(self, application: App) -> None:
        """Webhook mode: check_webhook once the Application runs, then every
        WEBHOOK_CHECK_SECONDS (until post_shutdown)."""
        while True:
            if not application.running:
                await asyncio.sleep(0.5)
                continue
            try:
                await self.check_webhook(application.bot)
            except Exception:
                logger.exception("health: the webhook check failed")
            await asyncio.sleep(WEBHOOK_CHECK_SECONDS)

    async def check_webhook(self, bot: Bot) -> None:
        """Ask Telegram whether it can deliver to the webhook (getWebhookInfo).

        Telegram's last delivery error counts while it is newer than the last update that
        arrived and updates are waiting; a webhook set to another URL counts too.
        """
        try:
            info = await bot.get_webhook_info()
        except TelegramError as error:
            self._contact_error = self._redacted(f"{type(error).__name__}: {error}")
            return
        self._contact, self._contact_error = time.monotonic(), None
        self._waiting = info.pending_update_count
        problem = None
        if info.url != self.settings.webhook_url:
            problem = f"the webhook is set to {info.url or 'nothing'!r}, not WEBHOOK_URL"
        elif info.last_error_date is not None and info.pending_update_count:
            failed_at = info.last_error_date.timestamp()
            if self._arrived is None or failed_at > self._arrived:
                problem = (
                    f"{info.last_error_message or 'an error'} "
                    f"({info.pending_update_count} updates waiting)"
                )
        self._webhook_error = problem

    # -- reading ---------------------------------------------------------------------------

    async def read_outbox(self) -> None:
        """The outbox's figures from the database, before a scrape (None: no outbox)."""
        application = self.application
        outbox = application.bot_data.outbox if application is not None else None
        self._outbox = await outbox.figures() if outbox is not None else None

    def vitals(self) -> Vitals:
        """What the bot is doing now (bot/health.py judges it)."""
        now = time.monotonic()
        vitals = Vitals(
            mode="webhook" if self.settings.webhook_url else "polling",
            running=False,
            receiving=False,
            articles=None,
            since_contact=self._since_contact(now),
            contact_error=self._contact_error,
            since_update=now - self._handled if self._handled is not None else None,
            webhook_error=self._webhook_error,
            waiting_at_telegram=self._waiting,
            in_progress=self._in_progress,
        )
        application = self.application
        if application is None:
            return vitals
        state = application.bot_data
        try:
            library = state.library
        except RuntimeError:  # not loaded yet
            articles, passages = None, 0
        else:
            articles, passages = len(library.articles), library.passage_count
        log = state.query_log
        updater = application.updater
        return dataclasses.replace(
            vitals,
            running=application.running,
            receiving=updater is not None and updater.running,
            articles=articles,
            passages=passages,
            query_log_pending=log.pending if log is not None else None,
            query_log_dropped=log.dropped if log is not None else None,
            query_log_healthy=log.healthy if log is not None else None,
            **self._outbox_vitals(state),
        )

    def _outbox_vitals(self, state: BotState) -> dict[str, Any]:
        """The outbox's figures read before this scrape (none before the first, or without
        an outbox), and its sends by result."""
        figures = self._outbox
        if figures is None:
            return {}
        pushes = dict.fromkeys((result.value for result in Result), 0)
        if state.outbox is not None:
            pushes.update(state.outbox.results)
        return {
            "subscribers": figures.subscribers,
            "subscriptions_suspended": figures.suspended,
            "outbox_items": {
                "pending": figures.pending,
                "paused": figures.paused,
                "sent": figures.sent,
                "unknown": figures.unknown,
                "failed": figures.failed,
            },
            "outbox_last_push": figures.last_push,
            "outbox_pushes": pushes,
        }

    def _since_contact(self, now: float) -> float | None:
        """Seconds since Telegram last answered, 0 while a healthy long poll waits."""
        if self._polling_since is not None and self._contact_error is None:
            return now - self._polling_since
        return now - self._contact if self._contact is not None else None

    def _redacted(self, text: str) -> str:
        token = self.settings.telegram_bot_token
        return text.replace(token, "***") if token else text


def _description(payload: bytes) -> str:
    """': <Telegram's description>' of an error answer, if it has one."""
    try:
        description = json.loads(payload).get("description")
    except (ValueError, AttributeError):
        return ""
    return f": {description}" if isinstance(description, str) else ""
