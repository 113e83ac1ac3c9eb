"""The operator's kit end to end: `python -m bot run` against the fake Bot API, scraped.

/healthz and /metrics: 503 while no content is loaded and 200 once it is, the counters
moving with the questions answered, the health probe command, a health port that cannot be
had, and JSON log lines that parse and never hold the token. /healthz in webhook mode is
checked by tests/test_telegram_e2e.py's webhook test.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import SEED_ID, SEEDS, hermetic_environment
from tests.fake_telegram import FakeTelegram
from tests.telegram_harness import ADMIN, BOT, OTHER_READER, READER, RunningBot, free_port

Samples = dict[str, float]


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def healthz(port: int) -> tuple[int, dict]:
    status, body = get(port, "/healthz")
    return status, json.loads(body)


def scrape(port: int) -> Samples:
    status, body = get(port, "/metrics")
    assert status == 200
    samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not after {timeout} s: {what}")
        time.sleep(0.05)


def answers(outcome: str, via: str = "private", kind: str = "question") -> str:
    return (
        f'digest_bot_answers_total{{delivered="yes",kind="{kind}",outcome="{outcome}",via="{via}"}}'
    )


SENT = 'digest_bot_telegram_requests_total{method="sendMessage",status="200"}'
FLOODED = 'digest_bot_telegram_requests_total{method="sendMessage",status="429"}'
MESSAGES = 'digest_bot_updates_total{type="message"}'
LATENCIES = 'digest_bot_update_latency_seconds_count{type="message"}'


@pytest.mark.slow
def test_healthz_and_metrics_follow_the_content_and_the_questions_answered(
    tmp_path: Path,
) -> None:
    """503 while no content is loaded, 200 after a /reload; then the counters move with the
    questions; the probe command agrees; the JSON log holds no token and no raw chat id."""
    (tmp_path / "seeds").mkdir()  # an empty content folder
    port = free_port()
    probe_environment = hermetic_environment(HEALTH_PORT=str(port))
    with FakeTelegram(username=BOT) as fake:
        running = RunningBot(
            fake,
            tmp_path,
            HEALTH_PORT=str(port),
            LOG_FORMAT="json",
            LOG_LEVEL="DEBUG",
            QUESTIONS_PER_WINDOW="1000",
        )
        try:
            status, report = healthz(port)
            assert status == 503
            assert report["status"] == "unhealthy"
            assert report["reasons"] == ["no articles are loaded (SEEDS_DIR has none that load)"]
            samples = scrape(port)
            assert samples["digest_bot_up"] == 0
            assert samples["digest_bot_articles_loaded"] == 0
            assert samples['digest_bot_content_loads_total{trigger="start"}'] == 1
            probe = probe_health(probe_environment)
            assert probe.returncode == 1 and "no articles are loaded" in probe.stdout

            shutil.copy(SEEDS / f"{SEED_ID}.txt", tmp_path / "seeds")
            reply = running.reply_to(lambda: fake.private_message(ADMIN, "/reload"), ADMIN)
            assert "Reloaded" in reply.params["text"]
            wait_until(lambda: healthz(port)[0] == 200, "healthy after the reload")
            status, report = healthz(port)
            assert report["status"] == "ok" and report["mode"] == "polling"
            assert (report["articles"], report["passages"]) == (1, 9)
            probe = probe_health(probe_environment)
            assert probe.returncode == 0, probe.stderr
            assert json.loads(probe.stdout)["status"] == "ok"
            # The /reload's rows (the reload, the admin action) are written behind the reply.
            wait_until(
                lambda: scrape(port)["digest_bot_query_log_pending"] == 0, "the rows written"
            )
            before = scrape(port)
            assert before["digest_bot_up"] == 1
            assert before["digest_bot_articles_loaded"] == 1
            assert before["digest_bot_passages_loaded"] == 9
            assert before['digest_bot_content_loads_total{trigger="reload"}'] == 1
            assert before["digest_bot_content_rejected_files"] == 0
            assert before["digest_bot_query_log_pending"] == 0
            assert before["digest_bot_query_log_dropped_total"] == 0
            assert before[MESSAGES] == 1  # the /reload

            question = "How many customers does Alibaba Cloud serve?"
            running.reply_to(lambda: fake.private_message(READER, question), READER)
            running.reply_to(lambda: fake.private_message(READER, "sourdough bread?"), READER)
            # Telegram's flood control once: the answer waits it out, the 429 is counted.
            fake.fail_next("sendMessage", 429, retry_after=1)
            running.reply_to(
                lambda: fake.private_message(OTHER_READER, "Huawei strategy"), OTHER_READER, 30
            )

            def counted() -> bool:
                now = scrape(port)
                return now.get(answers("answered"), 0) == 2

            wait_until(counted, "two answered questions counted")
            after = scrape(port)
            assert after[MESSAGES] == 4
            assert after[LATENCIES] == 4
            assert after[answers("unanswered")] == 1
            assert after["digest_bot_match_seconds_count"] == 3
            assert after[SENT] - before.get(SENT, 0) == 3
            assert after[FLOODED] == 1
            assert after['digest_bot_telegram_requests_total{method="getUpdates",status="200"}']
            assert after["digest_bot_last_update_age_seconds"] < 30
            assert after["digest_bot_updates_in_progress"] == 0
            assert healthz(port)[0] == 200
            assert running.stop(signal.SIGTERM) == 0
        finally:
            running.stop(signal.SIGKILL)
    with pytest.raises(OSError):
        get(port, "/healthz")  # the server stopped with the bot
    assert probe_health(probe_environment).returncode == 1  # nobody answers
    unset = probe_health(hermetic_environment())
    assert unset.returncode == 2 and "HEALTH_PORT is not set" in unset.stderr
    check_json_log(running, fake.token)


def check_json_log(running: RunningBot, token: str) -> None:
    """Every line of the bot's output is a JSON object with the fields; lines about an
    update carry its id and the chat as the query log stores it; never the token."""
    output = running.output
    assert token not in output
    plain = [line for line in output.splitlines() if line.strip() and not line.startswith("{")]
    assert not plain, plain
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert lines, "the bot logged nothing"
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
    with sqlite3.connect(running.database) as db:
        refs = {ref for (ref,) in db.execute("SELECT DISTINCT chat_ref FROM queries")}
    assert len(refs) == 2 and str(READER) not in refs  # hashed, as QUERY_LOG_USERS=hash
    handled = [line for line in lines if line["message"].endswith("ms") and "duration_ms" in line]
    assert len(handled) >= 3
    for line in handled:
        assert isinstance(line["update_id"], int)
        assert re.fullmatch(r"[0-9a-f]{16}", line["chat"]), line  # a ref, never the id
    assert refs <= {line["chat"] for line in handled}  # the same refs as the query log's
    raw_ids = (str(READER), str(OTHER_READER), str(ADMIN))
    assert not any(line.get("chat") in raw_ids for line in lines)


def probe_health(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m bot.healthcheck`, the container's HEALTHCHECK."""
    return subprocess.run(
        [sys.executable, "-m", "bot.healthcheck"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=Path(__file__).parent,  # no .env there
    )


@pytest.mark.slow
def test_a_health_port_in_use_stops_the_start_with_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken, FakeTelegram(username=BOT) as fake:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        running = RunningBot(fake, tmp_path, polling=False, HEALTH_PORT=str(port))
        try:
            assert running.process.wait(timeout=60) == 2
        finally:
            running.stop()
        assert f"HEALTH_PORT: cannot listen on 127.0.0.1:{port}" in running.output
        assert "Traceback" not in running.output
