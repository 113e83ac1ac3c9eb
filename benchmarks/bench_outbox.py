"""Fan-out of one new article to N subscribed chats through the outbox, against the fake Bot
API with Telegram's flood limits on.

    .venv/bin/python benchmarks/bench_outbox.py                      # 10,000 chats, ~15 min
    .venv/bin/python benchmarks/bench_outbox.py --chats 500          # development, ~45 s
    .venv/bin/python benchmarks/bench_outbox.py --chats 2000 --storm 0 --json

Each scenario runs in a fresh worker process (this script with ``--worker``), pinned to
CPU 0: the bot's real Application (`bot.app.build_application`, PTB's HTTP requests and its
rate limiter, `post_init` opening the outbox and starting the sender of
handlers/subscriptions.py), pointed over HTTP at 127.0.0.1. The fake Bot API
(tests/fake_telegram.py, the one module of the tests shared, imported only there) runs in
a child process of the worker, pinned to CPU 1, with `RateLimits()`: per chat 1 message/s
(a burst of 3), per group 20 a minute, per bot 30 a second, 429 with retry_after beyond.
So the worker's process CPU time (`time.process_time`, every thread of it: the event
loop, aiosqlite's thread, httpx) is the bot's own, without the fake's; it also holds this
script's progress loop (a pipe round trip every 0.25 s) and the reader questions it
injects, a negligible share.

The chats: N subscriptions (95% private chats, 5% groups; 70% English, 20% Simplified
and 10% Traditional Chinese, so three renderings), written to the outbox's table before
the bot starts (set-up, not measured). Once the bot runs, a copy of the seed article under
a new name is put into SEEDS_DIR and loaded as /reload does, and `announce_new` queues it
for every subscriber (timed: "enqueue"). Then the sender drains the outbox at OUTBOX_RATE
(``--rate``, default 25/s) while the worker injects a reader's question every 2 s through
the Application's update queue (as polling would) and times its answer's arrival at the
fake (both processes read the same CLOCK_MONOTONIC): the replies must not wait for the
pushes.

Reported per scenario: CPU ms per queued and per sent message, the enqueue time, the
delivery time (end of enqueueing to the last push's arrival at the fake) against the floor
(N / rate; a group's own floor, 20 a minute, only binds from 21 articles), peak RSS
(VmHWM) and RSS before the fan-out, the 429s the fake gave (by cause), and the checks:
every chat got exactly its article once (nothing lost, nothing doubled), the outbox holds
N sent items, and no chat nor the bot exceeded a limit (`FakeTelegram.limit_breaches`).
The second scenario (``--storm S``, default 5 s; 0 skips it) is the same with a 429 storm
once half the pushes are through: the fake answers 429 to everything for S seconds; its
extra delay is compared with S.

For a ``--rate`` above 25 (development only) the fake's bot-wide limit is raised to 1.5x
the rate, and above 30 PTB's own rate limiter (30/s) is turned off: the figures then say
nothing about Telegram's limits.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST_PRIVATE = 500_000_000
FIRST_GROUP = -1_000_000_000_000 - 500_000  # supergroups, as Telegram numbers them
FIRST_READER = 900_000_000
GROUP_SHARE = 0.05
LANGUAGES = (("en", 0.7), ("zh_Hans", 0.2), ("zh_Hant", 0.1))
QUESTION = "Huawei strategy"
QUESTION_EVERY = 2.0  # seconds between two readers' questions during the fan-out
NEW_ARTICLE = "900_benchmark_new_article"


# -- the fake, in its own process -------------------------------------------------------


def serve_fake(connection: Connection, bot_per_second: int) -> None:
    """The fake Bot API with flood limits, answering the worker's requests on `connection`."""
    from tests.fake_telegram import FakeTelegram, RateLimits

    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    fake = FakeTelegram(rate_limits=RateLimits(bot_per_second=bot_per_second)).start()
    connection.send((fake.token, fake.base_url, fake.base_file_url))
    while True:
        command, args = connection.recv()
        if command == "stop":
            fake.stop()
            connection.send(None)
            return
        if command == "chats":
            privates, groups = args
            for user in privates:
                fake.add_user(user, language_code=None)
            for group in groups:
                fake.add_group(group)
            connection.send(None)
        elif command == "sent":  # pushes accepted: to subscribers, not readers' answers
            connection.send(sum(n for c, n in fake.sent_counts.items() if c < FIRST_READER))
        elif command == "storm":
            fake.flood_storm(args)
            connection.send(fake.clock())
        elif command == "question":
            user, text = args
            fake.private_message(user, text)
            connection.send(fake.take_updates()[-1])  # the update, as getUpdates gives it
        elif command == "report":
            connection.send(fake_report(fake, *args))


def fake_report(fake: Any, chats: list[int], readers: list[int]) -> dict[str, Any]:
    """What the fake saw: per subscribed chat the messages accepted, the arrival of the
    first and last push, each reader's first answer, the 429s and the limit breaches."""
    counts = fake.sent_counts
    wanted = set(chats)
    times = sorted(at for chat in chats for at in fake.sent_times(chat))
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    distinct_texts = {}
    for call in fake.calls_to("sendMessage"):
        if call.ok and call.result["chat"]["id"] in wanted:
            distinct_texts.setdefault(call.result["chat"]["id"], set()).add(call.params["text"])
    answered = {}
    for reader in readers:
        sent = fake.sent_times(reader)
        answered[reader] = sent[0] if sent else None
    return {
        "per_chat": {str(chat): counts.get(chat, 0) for chat in chats},
        "repeated_text": sum(1 for c in chats if counts.get(c, 0) > len(distinct_texts.get(c, ()))),
        "longest_gap": max(gaps, default=0.0),
        "median_gap": statistics.median(gaps) if gaps else 0.0,
        "first_push": min(times, default=None),
        "last_push": max(times, default=None),
        "answered": {str(r): at for r, at in answered.items()},
        "refused": fake.refused_by_limits,
        "breaches": fake.limit_breaches()[:10],
    }


class FakeProcess:
    """The fake's process and a pipe to it (requests one at a time)."""

    def __init__(self, bot_per_second: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=serve_fake, args=(child, bot_per_second))
        self.process.start()
        self.token, self.base_url, self.base_file_url = self.connection.recv()

    def ask(self, command: str, args: Any = None) -> Any:
        self.connection.send((command, args))
        return self.connection.recv()

    async def ask_async(self, command: str, args: Any = None) -> Any:
        return await asyncio.to_thread(self.ask, command, args)

    def stop(self) -> None:
        self.ask("stop")
        self.process.join(timeout=30)


# -- the bot, in the worker ---------------------------------------------------------------


def memory_kb(field: str) -> int:
    """A VmRSS/VmHWM line of /proc/self/status, in kB (0 where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def subscribers(chats: int) -> tuple[list[int], list[int], list[tuple[int, str]]]:
    """The private chats, the groups, and every (chat, language): a fixed, realistic mix."""
    groups = round(chats * GROUP_SHARE)
    privates = [FIRST_PRIVATE + n for n in range(chats - groups)]
    group_ids = [FIRST_GROUP - n for n in range(groups)]
    languages = [code for code, share in LANGUAGES for _ in range(round(share * 100))]
    # Groups spread among the private chats, as they would subscribe over time.
    ordered = sorted(privates + group_ids, key=lambda chat: abs(chat) % 9973)
    mixed = [(chat, languages[index % 100]) for index, chat in enumerate(ordered)]
    return privates, group_ids, mixed


async def write_subscriptions(database: Path, chats: list[tuple[int, str]]) -> None:
    """The subscriptions, in one transaction (set-up: /subscribe N times is not measured)."""
    from bot.outbox import Outbox

    outbox = await Outbox.open(database)
    try:
        await outbox.db.execute("BEGIN IMMEDIATE")
        await outbox.db.executemany(
            "INSERT INTO subscriptions (chat_id, language, created) VALUES (?, ?, ?)",
            [(chat, language, time.time()) for chat, language in chats],
        )
        await outbox.db.execute("COMMIT")
    finally:
        await outbox.close()


async def scenario(chats: int, rate: float, storm: float) -> dict[str, Any]:
    """One fan-out (see the module docstring); its figures."""
    from telegram import Update

    from bot.app import build_application, post_init
    from bot.config import load_settings
    from bot.state import load_content
    from handlers.subscriptions import announce_new

    bot_limit = 30 if rate <= 25 else max(30, math.ceil(rate * 1.5))
    fake = FakeProcess(bot_limit)
    folder = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    try:
        privates, groups, mixed = subscribers(chats)
        fake.ask("chats", (privates, groups))
        seeds = folder / "seeds"
        shutil.copytree(ROOT / "seeds", seeds)
        database = folder / "data" / "log.sqlite3"
        await write_subscriptions(database, mixed)
        settings = load_settings(
            {
                "TELEGRAM_BOT_TOKEN": fake.token,
                "TELEGRAM_BASE_URL": fake.base_url,
                "TELEGRAM_BASE_FILE_URL": fake.base_file_url,
                "SEEDS_DIR": str(seeds),
                "DATABASE_PATH": str(database),
                "PERSISTENCE_PATH": str(folder / "data" / "state.pickle"),
                "OUTBOX_RATE": str(rate),
                "TELEGRAM_RATE_LIMITER": "on" if rate <= 30 else "off",
                "LOG_LEVEL": "WARNING",
            },
            env_file=None,
        )
        application = build_application(settings)
        await application.initialize()
        await post_init(application)
        await application.start()
        state = application.bot_data
        try:
            assert state.outbox is not None, "the outbox did not open"
            rss_before = memory_kb("VmRSS")
            # A new article arrives, as /reload (or the watcher) loads it.
            source = next(p for p in sorted(seeds.iterdir()) if p.suffix in (".txt", ".md"))
            shutil.copy(source, seeds / f"{NEW_ARTICLE}{source.suffix}")
            library, keys, _ = await asyncio.to_thread(
                load_content, settings, state.library, state.translators
            )
            state.use(library, keys)

            cpu_start, wall_start = time.process_time(), time.monotonic()
            queued = await announce_new(state)
            cpu_queued, enqueued_at = time.process_time(), time.monotonic()
            if queued != chats:
                raise RuntimeError(f"{queued} items queued for {chats} chats")

            readers: list[int] = []
            asked: dict[int, float] = {}
            storm_at: float | None = None
            next_question = enqueued_at
            deadline = enqueued_at + chats / rate * 3 + storm + 120
            while True:
                now = time.monotonic()
                if now >= next_question:
                    reader = FIRST_READER + len(readers)
                    data = await fake.ask_async("question", (reader, QUESTION))
                    readers.append(reader)
                    asked[reader] = time.monotonic()
                    await application.update_queue.put(Update.de_json(data, application.bot))
                    next_question += QUESTION_EVERY
                # Progress as the fake sees it: asking the outbox would cost the bot CPU.
                sent = await fake.ask_async("sent")
                if storm and storm_at is None and sent >= chats / 2:
                    storm_at = await fake.ask_async("storm", storm)
                if sent >= chats or now > deadline:  # not drained in time: reported below
                    break
                await asyncio.sleep(0.25)
            cpu_drained = time.process_time()
            # The last readers' answers may still be on their way.
            await asyncio.sleep(3.0 + storm)
            counts = await state.outbox.counts()
            rss_peak = memory_kb("VmHWM")
        finally:
            await application.stop()
            await application.post_stop(application)  # type: ignore[misc]
            await application.shutdown()
            await application.post_shutdown(application)  # type: ignore[misc]
        report = await fake.ask_async("report", ([c for c, _ in mixed], readers))
    finally:
        fake.stop()
        shutil.rmtree(folder, ignore_errors=True)

    per_chat = report["per_chat"]
    latencies = [
        report["answered"][str(r)] - asked[r]
        for r in readers
        if report["answered"][str(r)] is not None
    ]
    floor = chats / rate
    delivery = report["last_push"] - enqueued_at
    return {
        "chats": chats,
        "groups": len(groups),
        "rate": rate,
        "storm": storm,
        "fake_bot_limit": bot_limit,
        "enqueue_s": enqueued_at - wall_start,
        "cpu_ms_per_queued": (cpu_queued - cpu_start) * 1000 / chats,
        "cpu_ms_per_sent": (cpu_drained - cpu_queued) * 1000 / max(1, counts["sent"]),
        "delivery_s": delivery,
        "first_push_after_s": report["first_push"] - enqueued_at,
        "floor_s": floor,
        "over_floor_s": delivery - floor,
        "storm_started_after_s": None if storm_at is None else storm_at - enqueued_at,
        # The storm's cost within its own run (robust to the machine's load, unlike the
        # difference between two runs): the longest pause between two pushes' arrivals.
        "longest_pause_s": report["longest_gap"],
        "median_interval_s": report["median_gap"],
        "rss_before_mb": rss_before * 1024 / 1e6,
        "rss_peak_mb": rss_peak * 1024 / 1e6,
        "outbox": counts,
        "lost": sum(1 for n in per_chat.values() if n == 0),
        "doubled": sum(1 for n in per_chat.values() if n > 1) + report["repeated_text"],
        "refused_429": report["refused"],
        "limit_breaches": report["breaches"],
        "questions": len(readers),
        "answered": len(latencies),
        "reply_p50_s": statistics.median(latencies) if latencies else None,
        "reply_max_s": max(latencies) if latencies else None,
    }


def worker(args: argparse.Namespace) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})  # the bot on CPU 0, the fake on CPU 1
    result = asyncio.run(scenario(args.chats, args.rate, args.storm))
    print(json.dumps(result))


# -- the report ---------------------------------------------------------------------------


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def run_worker(chats: int, rate: float, storm: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", "--chats", str(chats), "--rate", str(rate)]
    command += ["--storm", str(storm)]
    before = load_average()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"the worker failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_average"] = f"{before} -> {load_average()}"
    return result


def checks(result: dict[str, Any]) -> str:
    fine = (
        result["lost"] == 0
        and result["doubled"] == 0
        and not result["limit_breaches"]
        and result["outbox"]["sent"] == result["chats"]
    )
    return "ok" if fine else "FAILED"


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| scenario | chats (groups) | enqueue s | CPU ms/queued | CPU ms/sent | delivery s "
        "(floor) | longest pause s | peak RSS MB (before) | 429s: limits / storm | "
        "reply p50 / max ms | lost / doubled / over a limit |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        refused = r["refused_429"]
        name = f"429 storm {r['storm']:g} s" if r["storm"] else "plain"
        rows.append(
            f"| {name} | {r['chats']:,} ({r['groups']:,}) | {r['enqueue_s']:.2f} | "
            f"{r['cpu_ms_per_queued']:.3f} | {r['cpu_ms_per_sent']:.2f} | "
            f"{r['delivery_s']:.1f} ({r['floor_s']:.0f}) | {r['longest_pause_s']:.1f} | "
            f"{r['rss_peak_mb']:.0f} ({r['rss_before_mb']:.0f}) | "
            f"{refused['chat'] + refused['group'] + refused['bot']} / {refused['storm']} | "
            f"{r['reply_p50_s'] * 1000:.0f} / {r['reply_max_s'] * 1000:.0f} | "
            f"{r['lost']} / {r['doubled']} / {len(r['limit_breaches'])} ({checks(r)}) |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=10_000, help="subscribed chats")
    parser.add_argument("--rate", type=float, default=25.0, help="OUTBOX_RATE, pushes a second")
    parser.add_argument(
        "--storm", type=float, default=5.0, help="seconds of 429s in the second run (0: none)"
    )
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    results = [run_worker(args.chats, args.rate, 0.0)]
    if args.storm > 0:
        results.append(run_worker(args.chats, args.rate, args.storm))
        plain, stormy = results
        stormy["extra_delay_s"] = stormy["delivery_s"] - plain["delivery_s"]
    if args.json:
        print(json.dumps({"cpus": os.cpu_count(), "results": results}, indent=2))
        return
    print(f"# Outbox fan-out ({os.cpu_count()} CPUs, rate {args.rate:g}/s)\n")
    print(table(results))
    for r in results:
        print(f"\nload average ({'storm' if r['storm'] else 'plain'}): {r['load_average']}")
        if r["limit_breaches"]:
            print("limit breaches:", *r["limit_breaches"], sep="\n  ")
    if args.storm > 0:
        print(
            f"\nThe {args.storm:g} s storm (started {results[1]['storm_started_after_s']:.1f} s "
            f"into the fan-out): pushes paused {results[1]['longest_pause_s']:.1f} s; delivery "
            f"{results[1]['extra_delay_s']:+.1f} s against the plain run (a difference of two "
            "runs: only meaningful on a quiet machine)"
        )
    if any(checks(r) != "ok" for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
