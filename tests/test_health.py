"""/healthz and /metrics in pieces: the verdict, the metrics, the HTTP server, the Monitor.

A running bot scraped end to end is tests/test_operations.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import time
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families
from telegram import Chat, Message, Update, WebhookInfo

from bot.config import Settings
from bot.health import (
    POLL_SILENCE_SECONDS,
    HealthServer,
    HealthServerError,
    Metrics,
    Vitals,
    verdict,
)
from bot.monitoring import Monitor, WatchedRequest, tls_context, update_kind

HEALTHY = Vitals(
    mode="polling", running=True, receiving=True, articles=1, passages=9, since_contact=0.5
)


def test_healthy_means_started_content_loaded_and_telegram_answering() -> None:
    assert verdict(HEALTHY) == []
    assert verdict(Vitals("webhook", True, True, 3, 20, since_contact=100.0)) == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"articles": None}, "the content is not loaded yet"),
        ({"articles": 0}, "no articles are loaded"),
        ({"running": False}, "starting or stopping"),
        ({"receiving": False}, "the polling loop is not running"),
        ({"mode": "webhook", "receiving": False}, "the webhook server is not running"),
        ({"since_contact": None}, "Telegram has not answered yet"),
        (
            {"since_contact": POLL_SILENCE_SECONDS + 1, "contact_error": "HTTP 409: Conflict"},
            "Telegram has not answered for 61 s (last error: HTTP 409: Conflict)",
        ),
        ({"webhook_error": "Connection refused (3 updates waiting)"}, "cannot deliver"),
    ],
)
def test_each_reason_to_be_unhealthy(changes: dict, reason: str) -> None:
    vitals = Vitals(**{**HEALTHY.__dict__, **changes})
    reasons = verdict(vitals)
    assert len(reasons) == 1 and reason in reasons[0]


def scrape(metrics: Metrics) -> dict[str, float]:
    """Every sample of the exposition: 'name{label="value",...}' -> value."""
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def test_metrics_record_what_goes_by_and_read_the_rest_at_each_scrape() -> None:
    vitals = {"now": HEALTHY}
    metrics = Metrics(lambda: vitals["now"])
    metrics.update_handled("message", 0.012)
    metrics.update_handled("message", 0.3)
    metrics.answered("private", "question", "answered", True, 1.5)
    metrics.answered("group", "summary", "answered", None, None)
    metrics.request("sendMessage", "200", 0.02)
    metrics.request("sendMessage", "429", 0.01)
    metrics.request("getUpdates", "200", 10.0)
    metrics.content_loaded("start", rejected=1, at=1_800_000_000.0)
    samples = scrape(metrics)
    assert samples['digest_bot_updates_total{type="message"}'] == 2
    assert samples['digest_bot_update_latency_seconds_count{type="message"}'] == 2
    assert samples['digest_bot_update_latency_seconds_bucket{le="0.025",type="message"}'] == 1
    key = (
        'digest_bot_answers_total{delivered="yes",kind="question",outcome="answered",via="private"}'
    )
    assert samples[key] == 1
    labels = 'delivered="unknown",kind="summary",outcome="answered",via="group"'
    assert samples[f"digest_bot_answers_total{{{labels}}}"] == 1
    assert samples["digest_bot_match_seconds_count"] == 1
    assert samples['digest_bot_telegram_requests_total{method="sendMessage",status="429"}'] == 1
    # getUpdates' long poll is counted, but kept out of the round-trip histogram.
    assert samples["digest_bot_telegram_request_seconds_count"] == 2
    assert samples["digest_bot_content_loaded_timestamp_seconds"] == 1_800_000_000.0
    assert samples["digest_bot_content_rejected_files"] == 1
    assert samples["digest_bot_articles_loaded"] == 1 and samples["digest_bot_passages_loaded"] == 9
    assert samples["digest_bot_up"] == 1
    assert "process_resident_memory_bytes" in samples or "process_cpu_seconds_total" in samples
    assert not any(name.endswith("_created") for name in samples)
    vitals["now"] = Vitals(**{**HEALTHY.__dict__, "articles": 0, "query_log_dropped": 4})
    samples = scrape(metrics)
    assert samples["digest_bot_up"] == 0
    assert samples["digest_bot_query_log_dropped_total"] == 4


def test_recording_never_raises() -> None:
    metrics = Metrics(lambda: HEALTHY)
    metrics.update_handled("message", "not a number")  # type: ignore[arg-type]
    metrics.answered("private", "question", "answered", True, "slow")  # type: ignore[arg-type]
    metrics.request("sendMessage", "200", None)  # type: ignore[arg-type]

    def broken() -> Vitals:
        raise RuntimeError("the application is gone")

    # A state that cannot be read leaves its gauges out of that scrape, not the counters.
    samples = scrape(Metrics(broken))
    assert "digest_bot_up" not in samples and "digest_bot_match_seconds_count" in samples


async def fetch(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), headers, body


async def get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    return await fetch(port, f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())


async def test_the_server_answers_healthz_and_metrics() -> None:
    vitals = {"now": HEALTHY}
    server = HealthServer("127.0.0.1", 0, Metrics(lambda: vitals["now"]))
    await server.start()
    try:
        status, headers, body = await get(server.port, "/healthz")
        assert status == 200 and headers["content-type"] == "application/json"
        report = json.loads(body)
        assert report["status"] == "ok" and report["reasons"] == []
        assert (report["articles"], report["passages"], report["mode"]) == (1, 9, "polling")
        vitals["now"] = Vitals(**{**HEALTHY.__dict__, "articles": None})
        status, _, body = await get(server.port, "/healthz?verbose=1")
        assert status == 503
        assert json.loads(body)["reasons"] == ["the content is not loaded yet"]
        status, headers, body = await get(server.port, "/metrics")
        assert status == 200 and headers["content-type"].startswith("text/plain")
        assert b"digest_bot_up 0.0" in body
        status, headers, body = await fetch(
            server.port,
            b"GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text; version=1.0.0\r\n\r\n",
        )
        assert headers["content-type"].startswith("application/openmetrics-text")
        assert body.endswith(b"# EOF\n")
        status, headers, body = await get(server.port, "/healthz", "HEAD")
        assert status == 503 and body == b"" and int(headers["content-length"]) > 0
        assert (await get(server.port, "/nothing"))[0] == 404
        assert (await get(server.port, "/healthz", "POST"))[0] == 405
        # Junk and an empty connection are closed without an answer; the server goes on.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"\x16\x03\x01 junk\r\n\r\n")
        assert await reader.read() == b""
        writer.close()
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.close()
        assert (await get(server.port, "/healthz"))[0] == 503
    finally:
        await server.stop()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", server.port)


async def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = HealthServer("127.0.0.1", port, Metrics(lambda: HEALTHY))
        with pytest.raises(
            HealthServerError, match=f"^HEALTH_PORT: cannot listen on 127.0.0.1:{port}"
        ):
            await server.start()


# -- the Monitor (bot/monitoring.py), over a stand-in Application --------------------------


def application(**changes: object) -> SimpleNamespace:
    library = SimpleNamespace(articles=[object()], passage_count=9)
    log = SimpleNamespace(pending=3, dropped=0, healthy=True)
    state = SimpleNamespace(library=library, query_log=log)
    fields = {"bot_data": state, "running": True, "updater": SimpleNamespace(running=True)}
    return SimpleNamespace(**{**fields, **changes})


def test_polling_counts_as_contact_while_a_long_poll_waits_after_a_good_one() -> None:
    monitor = Monitor(Settings(health_port=9464))
    monitor.application = application()  # type: ignore[assignment]
    assert monitor.vitals().since_contact is None
    monitor.requesting("getUpdates")  # the first long poll: waiting is fine
    assert monitor.vitals().since_contact is not None
    assert verdict(monitor.vitals()) == []
    monitor.requested("getUpdates", 200, 10.0, payload=b'{"ok":true,"result":[]}')
    monitor.requesting("getUpdates")
    monitor.requested(
        "getUpdates", 409, 0.01,
        payload=b'{"ok":false,"error_code":409,"description":"Conflict: terminated by '
        b'other getUpdates request"}',
    )  # fmt: skip
    monitor.requesting("getUpdates")  # a retry after an error is no contact yet
    vitals = monitor.vitals()
    assert vitals.contact_error == ("HTTP 409: Conflict: terminated by other getUpdates request")
    monitor._contact = time.monotonic() - POLL_SILENCE_SECONDS - 5
    assert "last error: HTTP 409" in verdict(monitor.vitals())[0]
    monitor.requested("getUpdates", None, 5.0, error=OSError("network down"))
    assert monitor.vitals().contact_error == "OSError: network down"
    monitor.requested("getUpdates", 200, 0.1)
    assert verdict(monitor.vitals()) == []


def test_requests_are_named_by_method_never_by_url() -> None:
    monitor = Monitor(Settings(health_port=9464, telegram_bot_token="1:a"))
    assert monitor.endpoint("https://api.telegram.org/bot1:a/sendMessage") == "sendMessage"
    file_url = "https://api.telegram.org/file/bot1:a/documents/file_7.txt"
    assert monitor.endpoint(file_url) == "download"
    assert monitor.endpoint("https://api.telegram.org/bot1:a/") == "other"


def test_the_monitor_never_names_the_token() -> None:
    token = "123456:AAH-secret"
    monitor = Monitor(Settings(health_port=9464, telegram_bot_token=token))
    monitor.requested("getUpdates", None, 1.0, error=OSError(f"bot{token}/getUpdates failed"))
    assert monitor._contact_error == "OSError: bot***/getUpdates failed"


def test_vitals_before_the_content_and_without_a_query_log() -> None:
    monitor = Monitor(Settings(health_port=9464))
    assert monitor.vitals().running is False  # no application yet

    class Unloaded:
        query_log = None

        @property
        def library(self) -> object:
            raise RuntimeError("the library is used before post_init loaded it")

    monitor.application = application(bot_data=Unloaded(), updater=None)  # type: ignore[assignment]
    vitals = monitor.vitals()
    assert (vitals.articles, vitals.receiving, vitals.query_log_pending) == (None, False, None)


def test_updates_are_counted_by_kind_and_timed() -> None:
    monitor = Monitor(Settings(health_port=9464))
    chat = Chat(1001, "private")
    message = Message(1, dt.datetime.now(dt.UTC), chat, text="hi")
    update = Update(5, message=message)
    assert update_kind(update) == "message"
    assert update_kind(Update(6, edited_message=message)) == "edited_message"
    assert update_kind("not an update") == "other"
    with monitor.watch_update(update):
        assert monitor.vitals().in_progress == 1
    with pytest.raises(RuntimeError), monitor.watch_update(update):
        raise RuntimeError("a handler failed")
    assert monitor.metrics is not None
    samples = scrape(monitor.metrics)
    assert samples['digest_bot_updates_total{type="message"}'] == 2
    assert monitor.vitals().since_update is not None


def test_without_health_port_nothing_is_recorded() -> None:
    monitor = Monitor(Settings())
    assert not monitor.enabled and monitor.metrics is None
    with monitor.watch_update(Update(1)):
        pass
    monitor.requested("sendMessage", 200, 0.01)
    monitor.query("private", "question", "answered", True, 1.0)


@pytest.mark.parametrize("health_port", [None, 9464])
def test_both_request_layers_verify_with_one_tls_context(health_port: int | None) -> None:
    # Read once for both connection pools, watched or not: each would read the
    # certificates again.
    general, get_updates = Monitor(Settings(health_port=health_port)).requests()
    assert isinstance(general, WatchedRequest) is (health_port is not None)
    assert general._client_kwargs["verify"] is tls_context()
    assert get_updates._client_kwargs["verify"] is tls_context()
    assert general._client_kwargs["limits"].max_connections == 256


class StubBot:
    def __init__(self, info: WebhookInfo) -> None:
        self.info = info

    async def get_webhook_info(self) -> WebhookInfo:
        return self.info


async def test_webhook_delivery_errors_count_until_an_update_arrives() -> None:
    url = "https://bot.example.org/telegram/hook"
    monitor = Monitor(
        Settings(health_port=9464, webhook_url=url, webhook_secret="s", telegram_bot_token="1:a")
    )
    monitor.application = application()  # type: ignore[assignment]
    bot = StubBot(WebhookInfo(url, False, 0))
    await monitor.check_webhook(bot)  # type: ignore[arg-type]
    assert verdict(monitor.vitals()) == []
    failed = WebhookInfo(
        url, False, 3,
        last_error_date=dt.datetime.now(dt.UTC),
        last_error_message="Wrong response from the webhook: 502 Bad Gateway",
    )  # fmt: skip
    bot.info = failed
    await monitor.check_webhook(bot)  # type: ignore[arg-type]
    (reason,) = verdict(monitor.vitals())
    assert reason.endswith("502 Bad Gateway (3 updates waiting)")
    assert monitor.vitals().waiting_at_telegram == 3
    time.sleep(0.01)
    with monitor.watch_update(Update(9)):  # Telegram got through again
        pass
    await monitor.check_webhook(bot)  # type: ignore[arg-type]
    assert verdict(monitor.vitals()) == []
    bot.info = WebhookInfo("https://other.example.org/hook", False, 0)
    await monitor.check_webhook(bot)  # type: ignore[arg-type]
    assert (
        "set to 'https://other.example.org/hook', not WEBHOOK_URL" in verdict(monitor.vitals())[0]
    )
