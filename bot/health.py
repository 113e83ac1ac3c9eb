"""/healthz and /metrics: what the bot is doing, for a container runtime and Prometheus.

`Metrics` is the bot's own prometheus-client registry (never the library's global one):
counters and histograms that bot/monitoring.py feeds as updates, answers and Telegram
requests go by, and gauges read from a `Vitals` snapshot at each scrape. `verdict` judges
a snapshot: healthy, or the reasons it is not. `HealthServer` serves both over plain HTTP
on HEALTH_HOST:HEALTH_PORT (asyncio streams, on the bot's event loop).

Nothing here imports Telegram: bot/monitoring.py watches the Application and hands over
plain values. Recording never raises: a reply must not fail because of its metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

PREFIX = "digest_bot"
# Seconds from an update's arrival to the end of its handling (its reply sent): from a few
# milliseconds to a reply held by Telegram's flood control (FLOOD_GIVE_UP_SECONDS).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600)
# Finding the answer (the matcher alone): well under a millisecond to a few.
MATCH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)
# One round trip to the Bot API (getUpdates' long poll left out).
REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# Telegram counts as silent after this long without answering: a long poll returns at
# least every 10 s, and the webhook's state is asked every WEBHOOK_CHECK_SECONDS.
POLL_SILENCE_SECONDS = 60.0
WEBHOOK_CHECK_SECONDS = 60.0
WEBHOOK_SILENCE_SECONDS = 3 * WEBHOOK_CHECK_SECONDS
# A request that is slower than this to arrive is dropped (a health probe is tiny).
READ_TIMEOUT = 5.0
REFRESH_TIMEOUT = 2.0  # seconds a scrape waits for the database's figures (then: the last)
MAX_HEADER_LINES = 100


@dataclass(frozen=True)
class Vitals:
    """What the bot is doing now, read from the Application at each request."""

    mode: str  # "polling" or "webhook"
    running: bool  # started, and not stopping
    receiving: bool  # the polling loop, or the webhook server, is running
    articles: int | None  # None: the content is not loaded yet
    passages: int = 0
    # Seconds since Telegram last answered getUpdates (polling) or getWebhookInfo (webhook);
    # None: not yet. And why the last attempt failed, if it did.
    since_contact: float | None = None
    contact_error: str | None = None
    since_update: float | None = None  # seconds since the last update was handled
    # Webhook mode: Telegram's own delivery error (getWebhookInfo), when it is newer than
    # the last update that arrived; and the updates Telegram holds for the bot.
    webhook_error: str | None = None
    waiting_at_telegram: int | None = None
    in_progress: int = 0  # updates being handled or waiting for their chat's turn
    query_log_pending: int | None = None
    query_log_dropped: int | None = None
    query_log_healthy: bool | None = None
    # The outbox (bot/subscription_stats.py), read at the scrape; None: no outbox open.
    subscribers: int | None = None
    subscriptions_suspended: int | None = None
    outbox_items: dict[str, int] | None = None  # by state: pending, paused, sent, ...
    outbox_last_push: float | None = None  # time.time() the last push was sent
    outbox_pushes: dict[str, int] | None = None  # sends by result since the start


def verdict(vitals: Vitals) -> list[str]:
    """Why the bot is not healthy; an empty list when it is.

    Healthy: started, the content loaded with at least one article, and updates flowing:
    the polling loop running with Telegram answering it (or the webhook server running,
    with Telegram reachable and reporting no delivery error since the last update).
    """
    reasons = []
    if vitals.articles is None:
        reasons.append("the content is not loaded yet")
    elif vitals.articles == 0:
        reasons.append("no articles are loaded (SEEDS_DIR has none that load)")
    if not vitals.running:
        reasons.append("the bot is starting or stopping")
    receiver = "polling loop" if vitals.mode == "polling" else "webhook server"
    if not vitals.receiving:
        reasons.append(f"the {receiver} is not running")
    silence = POLL_SILENCE_SECONDS if vitals.mode == "polling" else WEBHOOK_SILENCE_SECONDS
    if vitals.receiving and vitals.since_contact is None:
        reasons.append("Telegram has not answered yet")
    elif vitals.since_contact is not None and vitals.since_contact > silence:
        reason = f"Telegram has not answered for {vitals.since_contact:.0f} s"
        if vitals.contact_error:
            reason += f" (last error: {vitals.contact_error})"
        reasons.append(reason)
    if vitals.webhook_error:
        reasons.append(f"Telegram cannot deliver updates to the webhook: {vitals.webhook_error}")
    return reasons


class Metrics:
    """The bot's metrics, in a registry of their own (see the module docstring)."""

    def __init__(self, vitals: Callable[[], Vitals] | None = None) -> None:
        disable_created_metrics()  # no *_created series beside every counter
        self.registry = CollectorRegistry(auto_describe=True)
        self.vitals = vitals
        # Awaited before each scrape: what is read from the database for the gauges (the
        # outbox's figures), so that `vitals` stays a plain read.
        self.refresh: Callable[[], Awaitable[None]] | None = None
        r = self.registry
        self.updates = Counter(
            f"{PREFIX}_updates", "Updates handled, by type", ["type"], registry=r
        )
        self.update_latency = Histogram(
            f"{PREFIX}_update_latency_seconds",
            "From an update's arrival to the end of its handling, its reply sent (reply "
            "latency), by type",
            ["type"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.answers = Counter(
            f"{PREFIX}_answers",
            "Query-log rows queued: questions, summaries, picks and small talk (kind), by "
            "where they came from (via), outcome and whether the reply was delivered (yes, "
            "no, unknown: the send timed out)",
            ["via", "kind", "outcome", "delivered"],
            registry=r,
        )
        self.match_seconds = Histogram(
            f"{PREFIX}_match_seconds",
            "Time to find an answer (the matcher, before sending)",
            buckets=MATCH_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            f"{PREFIX}_telegram_requests",
            "Bot API requests, by method and HTTP status (429: flood control; error: no "
            "answer, e.g. a timeout)",
            ["method", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            f"{PREFIX}_telegram_request_seconds",
            "Bot API round trips, getUpdates' long poll left out",
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.content_loads = Counter(
            f"{PREFIX}_content_loads",
            "Content loads: at start, or /reload and uploads (reload)",
            ["trigger"],
            registry=r,
        )
        self._loaded_at: float | None = None
        self._rejected = 0
        r.register(_VitalsCollector(self))
        ProcessCollector(registry=r)  # process_cpu_seconds_total, memory...

    # -- recording: never raises ---------------------------------------------------------

    def update_handled(self, kind: str, seconds: float) -> None:
        with _quietly("update"):
            self.updates.labels(kind).inc()
            self.update_latency.labels(kind).observe(seconds)

    def answered(
        self, via: str, kind: str, outcome: str, delivered: bool | None, latency_ms: float | None
    ) -> None:
        with _quietly("answer"):
            state = "unknown" if delivered is None else "yes" if delivered else "no"
            self.answers.labels(via, kind, outcome, state).inc()
            if latency_ms is not None:
                self.match_seconds.observe(latency_ms / 1000)

    def request(self, method: str, status: str, seconds: float) -> None:
        with _quietly("request"):
            self.requests.labels(method, status).inc()
            if method != "getUpdates":
                self.request_seconds.observe(seconds)

    def content_loaded(self, trigger: str, rejected: int, at: float | None = None) -> None:
        """The content was (re)loaded at `at` (time.time()) with `rejected` files refused."""
        with _quietly("content"):
            self.content_loads.labels(trigger).inc()
            self._loaded_at = time.time() if at is None else at
            self._rejected = rejected

    # -- reading ------------------------------------------------------------------------

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The Prometheus text (or OpenMetrics, as `accept` asks) and its content type."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


class _VitalsCollector(Collector):
    """The gauges read from a Vitals snapshot at each scrape."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Metric]:
        """Nothing up front: the snapshot is read at scrape time only."""
        return []

    def collect(self) -> Iterator[Metric]:
        metrics = self.metrics
        if metrics.vitals is None:
            return
        try:
            vitals = metrics.vitals()
        except Exception:
            logger.exception("metrics: the bot's state could not be read")
            return
        yield _gauge("up", "1 when /healthz answers 200, else 0", not verdict(vitals))
        yield _gauge("articles_loaded", "Articles loaded", vitals.articles or 0)
        yield _gauge("passages_loaded", "Passages loaded", vitals.passages)
        if metrics._loaded_at is not None:
            yield _gauge(
                "content_loaded_timestamp_seconds",
                "When the content was last loaded (start, /reload or an upload)",
                metrics._loaded_at,
            )
            yield _gauge(
                "content_rejected_files",
                "Files refused at the last load (0: everything loaded)",
                metrics._rejected,
            )
        yield _gauge("updates_in_progress", "Updates being handled or waiting", vitals.in_progress)
        yield from _known_gauges(
            ("last_update_age_seconds", "Seconds since an update was last handled",
             vitals.since_update),
            ("telegram_contact_age_seconds",
             "Seconds since Telegram last answered getUpdates (or getWebhookInfo)",
             vitals.since_contact),
            ("webhook_pending_updates", "Updates Telegram holds for the webhook (getWebhookInfo)",
             vitals.waiting_at_telegram),
            ("query_log_pending", "Query-log rows waiting in memory to be written",
             vitals.query_log_pending),
        )  # fmt: skip
        if vitals.query_log_dropped is not None:
            yield CounterMetricFamily(
                f"{PREFIX}_query_log_dropped",
                "Query-log rows dropped by this process (the memory cap was reached)",
                value=vitals.query_log_dropped,
            )
        yield from _known_gauges(
            ("query_log_healthy", "0 while the database cannot be written",
             vitals.query_log_healthy),
        )  # fmt: skip
        yield from _outbox_metrics(vitals)


def _outbox_metrics(vitals: Vitals) -> Iterator[Metric]:
    """The subscriptions' outbox: chats, items by state, the last push, sends by result."""
    yield from _known_gauges(
        ("subscribers", "Chats subscribed to new articles (not suspended)", vitals.subscribers),
        ("subscriptions_suspended",
         "Subscribed chats Telegram refused (blocked, kicked, not found): pushes paused",
         vitals.subscriptions_suspended),
    )  # fmt: skip
    if vitals.outbox_items is not None:
        yield _by_label(
            GaugeMetricFamily,
            "outbox_items",
            "Outbox items by state (pending: waiting to be sent; paused: for a suspended "
            "chat; sent; unknown: cut off mid-send; failed: given up)",
            "state",
            vitals.outbox_items,
        )
    yield from _known_gauges(
        ("outbox_last_push_timestamp_seconds",
         "When the last push was sent (kept in the database across restarts)",
         vitals.outbox_last_push),
    )  # fmt: skip
    if vitals.outbox_pushes is not None:
        yield _by_label(
            CounterMetricFamily,
            "outbox_pushes",
            "Pushes tried by this process, by result (sent; retry: a 429; blocked; migrated; "
            "unknown: timed out; failed)",
            "result",
            vitals.outbox_pushes,
        )


def _by_label(
    family: type[GaugeMetricFamily] | type[CounterMetricFamily],
    name: str,
    documentation: str,
    label: str,
    counts: Mapping[str, int],
) -> GaugeMetricFamily | CounterMetricFamily:
    """One metric with a sample per `label` value, in sorted order."""
    metric = family(f"{PREFIX}_{name}", documentation, labels=[label])
    for value, count in sorted(counts.items()):
        metric.add_metric([value], float(count))
    return metric


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=float(value))


def _known_gauges(*gauges: tuple[str, str, float | None]) -> Iterator[GaugeMetricFamily]:
    """A gauge for each (name, documentation, value) whose value is known: a figure the
    bot cannot read now (no query log, no webhook) is left out rather than shown as 0."""
    for name, documentation, value in gauges:
        if value is not None:
            yield _gauge(name, documentation, value)


@contextlib.contextmanager
def _quietly(what: str) -> Iterator[None]:
    """A metric that cannot be recorded costs a debug line, never the reply."""
    try:
        yield
    except Exception:
        logger.debug("metrics: %s not recorded", what, exc_info=True)


class HealthServerError(RuntimeError):
    """HEALTH_HOST:HEALTH_PORT cannot be listened on."""


class HealthServer:
    """GET /healthz and /metrics over HTTP/1.1, one request a connection.

    /healthz answers 200 with a JSON summary when `verdict` finds nothing wrong, else 503
    with the reasons; /metrics the Prometheus exposition.
    """

    def __init__(self, host: str, port: int, metrics: Metrics) -> None:
        self.host = host
        self.port = port
        self.metrics = metrics
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as error:
            raise HealthServerError(
                f"HEALTH_PORT: cannot listen on {self.host}:{self.port}: {error.strerror or error}"
            ) from error
        sockets = self._server.sockets
        if sockets and self.port == 0:
            self.port = sockets[0].getsockname()[1]
        logger.info("health and metrics on http://%s:%d/healthz and /metrics", self.host, self.port)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(_read_request(reader), READ_TIMEOUT)
            if request is None:
                return
            method, path, accept = request
            if path == "/metrics" and self.metrics.refresh is not None:
                await self._refresh(self.metrics.refresh)
            status, content_type, body = self.respond(method, path, accept)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, ConnectionError, ValueError, asyncio.IncompleteReadError):
            pass
        except Exception:
            logger.exception("health server: a request failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _refresh(self, refresh: Callable[[], Awaitable[None]]) -> None:
        """Read the database's figures for this scrape; on failure the last ones are shown."""
        try:
            await asyncio.wait_for(refresh(), REFRESH_TIMEOUT)
        except Exception:
            logger.warning("metrics: the outbox's figures could not be read", exc_info=True)

    def respond(self, method: str, path: str, accept: str = "") -> tuple[str, str, bytes]:
        """(status line, content type, body) for one request."""
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", "text/plain", b"GET only\n"
        if path == "/metrics":
            body, content_type = self.metrics.exposition(accept)
            return "200 OK", content_type, body
        if path == "/healthz":
            return self._healthz()
        if path == "/":
            return "200 OK", "text/plain", b"digest bot: /healthz, /metrics\n"
        return "404 Not Found", "text/plain", b"not found: /healthz, /metrics\n"

    def _healthz(self) -> tuple[str, str, bytes]:
        if self.metrics.vitals is None:
            return "503 Service Unavailable", "application/json", b'{"status": "starting"}\n'
        vitals = self.metrics.vitals()
        reasons = verdict(vitals)
        report = {
            "status": "unhealthy" if reasons else "ok",
            "reasons": reasons,
            **{k: _rounded(v) for k, v in asdict(vitals).items() if v is not None},
        }
        body = (json.dumps(report, ensure_ascii=False) + "\n").encode("utf-8")
        status = "503 Service Unavailable" if reasons else "200 OK"
        return status, "application/json", body


def _rounded(value: object) -> object:
    return round(value, 3) if isinstance(value, float) else value


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, str] | None:
    """(method, path, Accept header) of an HTTP request; None for an empty connection."""
    line = await reader.readline()
    if not line.strip():
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise ValueError("not an HTTP request line")
    accept = ""
    for _ in range(MAX_HEADER_LINES):
        header = await reader.readline()
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        if name.strip().lower() == "accept":
            accept = value.strip()
    return parts[0].upper(), urlsplit(parts[1]).path, accept
