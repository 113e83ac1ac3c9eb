"""Throughput of the whole running application: private questions answered per second.

    .venv/bin/python benchmarks/bench_updates.py                # rate limiter off, then on
    .venv/bin/python benchmarks/bench_updates.py --updates 2000 --repeats 5
    .venv/bin/python benchmarks/bench_updates.py --env HEALTH_PORT=18000 --env LOG_FORMAT=json

`python -m bot run` runs as a subprocess pinned to one core (CPU 0), with the query log on,
against the tests' fake Bot API server on 127.0.0.1, which runs in this process pinned to
another core so that it does not compete with the bot. N private questions from N
different readers (so no flood limit applies) are queued at once; the time runs from the
queueing to the N-th answer the fake receives. Each run is repeated and the median
reported with the spread.

With python-telegram-bot's AIORateLimiter on (the default) the bot keeps within
Telegram's own ceiling of about 30 messages per second, so that run measures the limiter,
not the bot; the run with it off (TELEGRAM_RATE_LIMITER=off) measures the bot.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.telegram_harness import bot_environment  # noqa: E402

QUESTIONS = [
    "How many customers does Alibaba Cloud serve?",
    "Huawei strategy",
    "Tencent capital expenditure",
    "What is the Scaling Law?",
    "open source models monetization",
    "How do I bake sourdough bread?",
]
FIRST_READER = 10_000_000


def run_once(
    updates: int, rate_limiter: bool, folder: Path, extra: dict[str, str] | None = None
) -> float:
    """Start the bot, queue `updates` questions, return answers per second."""
    fake = FakeTelegram().start()
    environment = bot_environment(
        fake,
        TELEGRAM_RATE_LIMITER="on" if rate_limiter else "off",
        SEEDS_DIR=str(ROOT / "seeds"),
        DATABASE_PATH=str(folder / "log.sqlite3"),
        PERSISTENCE_PATH=str(folder / "state.pickle"),
        LOG_LEVEL="WARNING",
        **(extra or {}),
    )
    command = [sys.executable, "-m", "bot", "run"]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    process = subprocess.Popen(
        command, cwd=folder, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        fake.wait_until_polling(timeout=60)
        mark = fake.mark()
        started = time.perf_counter()
        for number in range(updates):
            fake.private_message(FIRST_READER + number, QUESTIONS[number % len(QUESTIONS)])
        # Updates run concurrently, so answers may arrive in any order: count them all,
        # each wait looking only past the last answer seen.
        position = mark
        for _ in range(updates):
            answer = fake.wait_for(lambda c: c.method == "sendMessage", 600, after=position)
            position = answer.index + 1
        elapsed = time.perf_counter() - started
        answered = sum(1 for call in fake.calls[mark:] if call.method == "sendMessage" and call.ok)
        if answered < updates:
            raise RuntimeError(f"only {answered} of {updates} questions were answered")
        return updates / elapsed
    finally:
        process.terminate()
        process.wait(timeout=60)
        fake.stop()


def measure(
    updates: int, repeats: int, rate_limiter: bool, extra: dict[str, str] | None = None
) -> list[float]:
    rates = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            rates.append(run_once(updates, rate_limiter, Path(folder), extra))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=1000, help="questions per run, limiter off")
    parser.add_argument("--limited-updates", type=int, default=150, help="questions, limiter on")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the bot (e.g. HEALTH_PORT=18000 LOG_FORMAT=json); repeatable",
    )
    args = parser.parse_args()
    extra = dict(pair.split("=", 1) for pair in args.env)
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:
        os.sched_setaffinity(0, {1})  # the fake on CPU 1, the bot on CPU 0
    print(f"# Updates per second through the whole application ({os.cpu_count()} CPUs)\n")
    if extra:
        print(f"Settings: {' '.join(f'{k}={v}' for k, v in extra.items())}\n")
    print("| rate limiter | questions per run | runs | answered per second: median (min-max) |")
    print("|---|---|---|---|")
    for rate_limiter, updates in ((False, args.updates), (True, args.limited_updates)):
        rates = measure(updates, args.repeats, rate_limiter, extra)
        print(
            f"| {'on' if rate_limiter else 'off'} | {updates} | {len(rates)} | "
            f"{statistics.median(rates):.0f} ({min(rates):.0f}-{max(rates):.0f}) |",
            flush=True,
        )
    print("\nTarget: >= 300 per second with the rate limiter off (10x Telegram's ~30/s).")


if __name__ == "__main__":
    main()
