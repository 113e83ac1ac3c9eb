"""Benchmark: what the query log costs, in throughput and in answer latency.

Two figures, both with the whole process (the caller, the log's writer task and aiosqlite's
thread) pinned to one CPU with ``os.sched_setaffinity``, on a real SQLite file in a
temporary folder, with the default settings (hash mode: each row's reader id goes through
HMAC-SHA256):

* **throughput**: ``--rows`` calls of ``QueryLog.record_query`` from a coroutine that yields
  to the loop every 100 rows (as a busy bot's handlers would), the clock stopped when the
  last row is committed. Sustained rows per second = rows / that time; "record" is the mean
  cost of one ``record_query`` call alone (what a reply pays). ``dropped`` must be 0 for the
  figure to count (``QUERY_LOG_MAX_PENDING`` is raised to ``--rows``).
* **latency**: ``library.ask(question)`` on the bundled seed over a fixed list of questions
  (answered, suggested and off-topic ones), timed per question with ``time.perf_counter``,
  with logging off (just ``ask``) and on (``ask`` then ``record_query`` on a
  ``BackgroundQueryLog``, as the CLI does, so the writer thread competes for the same core).
  ``--repeats`` pairs of blocks run interleaved (off/on, then on/off, alternating, so drift
  hits both sides alike) after an untimed warm-up; each block gives a p50 and a p95, each
  pair a ratio on/off. Reported: the median ratio with its min-max and interquartile spread.

Targets (from the issue): >= 5,000 rows/s sustained; p50 ratio <= 1.1.

Run from the repository root (about 15 s)::

    .venv/bin/python benchmarks/bench_querylog.py
    .venv/bin/python benchmarks/bench_querylog.py --rows 200000 --repeats 41 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.library import load_library  # noqa: E402
from bot.querylog import BackgroundQueryLog, QueryLog, answer_fields  # noqa: E402

QUESTIONS = [
    "How many customers does Alibaba Cloud serve?",
    "Tencent capital expenditure",
    "Huawei strategy",
    "What is the scaling law?",
    "阿里云的客户有多少",
    "Which companies are investing in AI chips?",
    "What did ByteDance do?",
    "open-source models",
    "market dynamics and challenges",
    "cloud revenue 2024",
    "what's the weather in Paris",
    "football results yesterday",
    "How do I bake bread?",
    "AI ecosystem integration",
    "computational resources for training",
    "Alibaba Cloud customers",
    "Baidu",
    "small and medium-sized enterprises",
    "capital expenditure decline",
    "who is winning the AI race",
]


def pin_to_one_cpu() -> int | None:
    """Pin this process (and the threads it starts later) to one CPU; which one, or None."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


async def throughput(folder: Path, rows: int) -> dict[str, Any]:
    """Sustained rows per second through record_query, the writer and SQLite."""
    settings = Settings(database_path=folder / "throughput.sqlite3", query_log_max_pending=rows)
    log = await QueryLog.open(settings)
    question = "How many customers does Alibaba Cloud serve?"
    recording = 0.0
    started = time.perf_counter()
    for n in range(rows):
        before = time.perf_counter()
        log.record_query(
            via="private", question=question, outcome="answered", chat_ref=10_000 + n % 500,
            chat_type="private", user_id=10_000 + n % 500, article_id="000_4859508c0bdee28a",
            passage_id="000_4859508c0bdee28a#7", score=0.93, latency_ms=0.4,
        )  # fmt: skip
        recording += time.perf_counter() - before
        if n % 100 == 99:
            await asyncio.sleep(0)  # handlers yield to the loop between updates
    await log.flush()
    elapsed = time.perf_counter() - started
    dropped = log.dropped
    await log.close()
    return {
        "rows": rows,
        "seconds": round(elapsed, 3),
        "rows_per_second": round(rows / elapsed),
        "record_us": round(recording / rows * 1e6, 2),
        "dropped": dropped,
    }


def block(library: Any, log: BackgroundQueryLog | None) -> list[float]:
    """One pass over the questions: each answer's latency in ms (ask, plus record if on)."""
    latencies = []
    for question in QUESTIONS:
        started = time.perf_counter()
        answer = library.ask(question)
        if log is not None:
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.record_query(via="cli", latency_ms=elapsed_ms, **answer_fields(answer))
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def latency(folder: Path, repeats: int, passes: int) -> dict[str, Any]:
    """Interleaved off/on blocks; ratios of their p50 and p95."""
    settings = Settings(database_path=folder / "latency.sqlite3", seeds_dir=ROOT / "seeds")
    library, _ = load_library(settings)
    log = BackgroundQueryLog.open(settings)
    try:
        for _ in range(3):  # warm-up: caches, first allocations, the writer's first batch
            block(library, None)
            block(library, log)
        ratios_p50, ratios_p95, off_p50, on_p50 = [], [], [], []
        for repeat in range(repeats):
            order = [None, log] if repeat % 2 == 0 else [log, None]
            figures = {}
            for side in order:
                samples = [ms for _ in range(passes) for ms in block(library, side)]
                figures[side is not None] = (percentile(samples, 0.5), percentile(samples, 0.95))
            off, on = figures[False], figures[True]
            off_p50.append(off[0])
            on_p50.append(on[0])
            ratios_p50.append(on[0] / off[0])
            ratios_p95.append(on[1] / off[1])
        written = log.run(log.log.stats(1)).questions
    finally:
        log.close()
    return {
        "repeats": repeats,
        "questions_per_block": passes * len(QUESTIONS),
        "p50_off_ms": round(statistics.median(off_p50), 4),
        "p50_on_ms": round(statistics.median(on_p50), 4),
        "p50_ratio": spread(ratios_p50),
        "p95_ratio": spread(ratios_p95),
        "rows_logged": written,
    }


def spread(values: list[float]) -> dict[str, float]:
    quartiles = statistics.quantiles(values, n=4)
    return {
        "median": round(statistics.median(values), 3),
        "q1": round(quartiles[0], 3),
        "q3": round(quartiles[2], 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows for the throughput run")
    parser.add_argument("--repeats", type=int, default=41, help="off/on block pairs")
    parser.add_argument("--passes", type=int, default=10, help="passes over the questions a block")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    cpu = pin_to_one_cpu()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        result = {
            "cpu": cpu,
            "python": sys.version.split()[0],
            "throughput": asyncio.run(throughput(folder, args.rows)),
            "latency": latency(folder, args.repeats, args.passes),
        }
    t, lat = result["throughput"], result["latency"]
    print(f"pinned to CPU {cpu}; Python {result['python']}")
    print(
        f"throughput: {t['rows_per_second']:,} rows/s sustained ({t['rows']:,} rows in "
        f"{t['seconds']} s, {t['dropped']} dropped); record_query {t['record_us']} us a call"
    )
    for name in ("p50_ratio", "p95_ratio"):
        r = lat[name]
        print(
            f"latency {name.split('_')[0]} on/off: {r['median']} (IQR {r['q1']}-{r['q3']}, "
            f"range {r['min']}-{r['max']}) over {lat['repeats']} interleaved pairs"
        )
    print(f"p50 answer: {lat['p50_off_ms']} ms off, {lat['p50_on_ms']} ms on")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
