"""Benchmark: load time and per-question time of bot/embedding.py and bot/chinese.py.

* load: in a fresh interpreter each time (this script re-invoked with ``--worker``), the
  time of ``StaticEmbedder.load()`` (the bundled embeddings.npz), of ``chinese.lexicon()``
  (zh_en.tsv), of OpenCC's t2s converter and of rjieba's first ``cut`` (jieba's dictionary);
  the module imports are timed apart. Median over ``--runs`` processes (default 5).
* per question: ``embed(question)`` over English questions and ``english_terms(question)``
  over Chinese ones, each timed with ``time.perf_counter``; "first" is a question's first
  pass (the word-piece cache empty for its words), "again" a second pass over the same
  questions (cached). p50 and p95 over all passes of all runs.

The worker pins itself to one CPU (``os.sched_setaffinity``) so figures are per core.
Run from the repository root (about 10 s)::

    .venv/bin/python benchmarks/bench_readers.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

ENGLISH = [
    "How many customers does Alibaba Cloud serve?",
    "What was Tencent's capital expenditure last quarter?",
    "Which companies are investing in AI chips?",
    "What did ByteDance do with its recommendation models?",
    "How fast is cloud revenue growing in 2024?",
    "Who leads the open-source model race, and why?",
    "Is the scaling law slowing down for large language models?",
    "What are the main risks for chip exports?",
]
CHINESE = [
    "阿里雲有多少客戶",
    "騰訊資本開支是多少",
    "云计算的收入增长了多少",
    "英伟达的芯片销量如何",
    "字节跳动在人工智能方面投资了什么",
    "华为的开源大模型战略",
    "数据中心的能耗问题",
    "美国对中国的芯片出口限制",
]


def timed(function: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """Seconds one call took, and its result."""
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def worker() -> dict[str, object]:
    """One fresh process's figures (seconds)."""
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    sys.path.insert(0, str(ROOT))
    import_embedding, _ = timed(__import__, "bot.embedding")
    import_chinese, _ = timed(__import__, "bot.chinese")
    from bot import chinese
    from bot.embedding import StaticEmbedder

    load_embeddings, embedder = timed(StaticEmbedder.load)
    load_lexicon, _ = timed(chinese.lexicon)
    load_opencc, _ = timed(chinese._converter)
    load_rjieba, _ = timed(chinese.segment, "测试")
    figures: dict[str, object] = {
        "import bot.embedding": import_embedding,
        "import bot.chinese": import_chinese,
        "StaticEmbedder.load": load_embeddings,
        "chinese.lexicon": load_lexicon,
        "opencc t2s": load_opencc,
        "rjieba first cut": load_rjieba,
    }
    for name, function, questions in (
        ("embed", embedder.embed, ENGLISH),
        ("english_terms", chinese.english_terms, CHINESE),
    ):
        figures[f"{name} first"] = [timed(function, q)[0] for q in questions]
        figures[f"{name} again"] = [timed(function, q)[0] for q in questions]
    return figures


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * p // 100) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker()))
        return
    runs = []
    for _ in range(args.runs):
        output = subprocess.run(
            [sys.executable, __file__, "--worker"], capture_output=True, text=True, check=True
        ).stdout
        runs.append(json.loads(output))
    print(f"{args.runs} fresh processes, one CPU each")
    for name, value in runs[0].items():
        if isinstance(value, list):
            values = [v for run in runs for v in run[name]]
            p50, p95 = percentile(values, 50) * 1e6, percentile(values, 95) * 1e6
            print(f"  {name:24} p50 {p50:8.0f} us   p95 {p95:8.0f} us   ({len(values)} calls)")
        else:
            median = statistics.median(run[name] for run in runs) * 1e3
            print(f"  {name:24} {median:8.1f} ms (median)")


if __name__ == "__main__":
    main()
