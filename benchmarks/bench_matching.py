"""Benchmark: matching speed and memory, the bot's matcher beside three baselines.

Methods, each measured in its own fresh process (this script re-invoked with the hidden
``--worker METHOD`` flag) over the same passages and the same questions:

* ``ours``: the production configuration, ``bot.library.load_library(bot.config.load_settings(
  {"SEEDS_DIR": corpus}, env_file=None))``: the bundled glossary ``aliases.toml`` and the
  default thresholds of ``bot/config.py``; each question is ``library.ask(question)``.
* ``wratio``: brute force, ``rapidfuzz.process.extractOne(question, texts,
  scorer=fuzz.WRatio, processor=utils.default_process)`` over every passage text.
* ``bm25``: ``rank_bm25.BM25Okapi`` over lowercased ``\\w+`` tokens minus
  ``bot.text.STOPWORDS``; each question is ``get_scores(tokens)`` then argmax. Skipped, with
  a note, without the ``bench`` extra.
* ``fts5``: an in-memory SQLite FTS5 table of the passage texts (default ``unicode61``
  tokenizer); the question's ``\\w+`` tokens minus stopwords, each double-quoted, OR-ed,
  ``ORDER BY bm25(passages) LIMIT 3``. Skipped, with a note, if sqlite3 lacks FTS5.

Corpora: the seed (``seeds/``) alone, then the seed plus N synthetic articles for each N of
``--articles`` (default 1000,10000), generated into a temporary folder by
``../shared/tools/make_corpus.py`` (same ``--seed``) with every file of ``seeds/``
(``aliases.toml`` included) copied beside them.

Questions, deterministic (``random.Random(--seed)`` per corpus): ``--questions`` fragments of
random passages (8-14 consecutive words, 1-3 of them dropped, one typo: two adjacent letters
of a 5+ letter word swapped), then 20 fixed off-topic questions (some Chinese).

Figures per method and corpus:

* load+index: timed in the worker, from a parsed-nothing start to a ready index. ours: the
  whole ``load_library`` call (parse + glossary + index); the baselines:
  ``bot.parsing.load_folder`` plus building their index (wratio: the list of texts).
* latency: ``time.perf_counter`` around each question, worker pinned to one CPU, one pass,
  after a warm-up on 10 *other* fragment questions (ours memoises typo corrections: warming
  up on the measured questions would hide their cost). p50 and p99 are nearest-rank
  percentiles over the fragment and off-topic questions together: the latency at rank
  ceil(p/100 * n) in ascending order (with 320 questions, p99 is the 4th slowest).
* slow methods: wratio costs ~0.6 s a question at 10,000 articles, so on corpora of more than
  ``--slow-above`` passages (default 20,000) it is timed on ``--slow-questions`` (default 60)
  questions only: the first fragments and off-topic questions in the full set's proportion.
  The output says so, and gives the other methods' figures on that same sample too.
* peak RSS: the worker's ``VmHWM`` (``/proc/self/status``) after the timed pass; "base" is the
  same right after its imports, before any corpus is read. MB = 10^6 bytes. Not
  ``ru_maxrss``: it survives fork and exec, so a worker would report at least the parent's
  RSS, and the parent holds the parsed corpus.
* noise: on a 2-core machine any other busy process slows the worker (and steal time on a VM
  does too). Workers whose first run took at most ``--repeat-max-s`` (30 s) run
  ``--repeat`` (3) times, each a fresh process: a question's latency is the median of its
  runs (one disturbed run does not count, and unlike the fastest run it does not flatter: a
  quiet VM still drifts by a third between runs), load+index the median run, peak RSS the
  highest; each run's own p50/p99 are printed too. The CPU time the
  rest of the machine used during each run is read from ``/proc/stat`` (steal included, the
  worker's own time subtracted); a run during which it exceeded 0.1 cores is redone
  (``--busy-retries``, default 2, after waiting up to 30 s for a quiet moment; all waiting
  and redoing within ``--retry-budget``, default 150 s), the quieter attempt kept, and the
  output warns about the workers that stayed noisy.
* quality, untimed, after the timed pass: "fragment top-1", the share of fragments whose top
  result is their source passage (or one with identical text: the corpus has duplicates);
  "off-topic answered": ours, outcome ``answered``; wratio, best score >= 90; bm25 and fts5
  have no calibrated cut, so the notes give how many off-topic questions get any result.

Run from the repository root (about 6 minutes with the defaults on a 2-core machine)::

    .venv/bin/pip install -e '.[dev,bench]'
    .venv/bin/python benchmarks/bench_matching.py
    .venv/bin/python benchmarks/bench_matching.py --articles 0 --methods ours,fts5 --json out.json

``--articles 0`` benchmarks the seed alone; ``--json FILE`` also writes the raw figures
(every question, its result and its latency).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
DEFAULT_CORPUS_TOOL = REPO.parent / "shared" / "tools" / "make_corpus.py"
METHODS = ("ours", "wratio", "bm25", "fts5")
SLOW_METHODS = frozenset({"wratio"})  # per-question cost linear in passages, ~0.6 s at 70k
WRATIO_CONFIDENT = 90  # the usual "confident" cut on WRatio's 0-100 score
WARMUP_QUESTIONS = 10
NOISY_CORES = 0.1  # other processes' CPU use above which the notes warn
# The targets for ours: articles -> (p99 ms, load+index s, peak RSS MB or None).
TARGETS: dict[int, tuple[float, float, float | None]] = {
    1000: (2.0, 2.0, None),
    10000: (10.0, 10.0, 300.0),
}

OFF_TOPIC = (
    "how do I bake sourdough bread",
    "who won the 2018 world cup",
    "今天天气怎么样",
    "what is the capital of Australia",
    "best hiking trails near Lake Tahoe",
    "how to fix a leaking kitchen faucet",
    "recommend a good science fiction novel",
    "what time does the pharmacy close on Sunday",
    "how many calories are in a banana",
    "translate good morning into French",
    "why is the sky blue",
    "how do I train my puppy to sit",
    "lyrics of bohemian rhapsody",
    "what is the best way to learn the guitar",
    "怎么做红烧肉",
    "明天会下雨吗",
    "推荐一部好看的电影",
    "how tall is mount everest",
    "symptoms of the common cold",
    "who painted the mona lisa",
)


@dataclass(frozen=True)
class Question:
    """One benchmark question: a passage fragment (kind "fragment") or "off_topic"."""

    kind: str
    text: str
    source_id: str = ""  # the passage a fragment came from
    source_text: str = ""


# --- questions ----------------------------------------------------------------------------


def _swappable(word: str) -> tuple[int, list[int]]:
    """Where a typo can go: where the alphabetic core starts, and its adjacent unequal pairs.

    Leading/trailing punctuation stays put; a core shorter than 5 letters, or not purely
    alphabetic, has no pairs.
    """
    start, end = 0, len(word)
    while start < end and not word[start].isalpha():
        start += 1
    while end > start and not word[end - 1].isalpha():
        end -= 1
    core = word[start:end]
    if len(core) < 5 or not core.isalpha():
        return start, []
    return start, [i for i in range(len(core) - 1) if core[i].lower() != core[i + 1].lower()]


def _typo(word: str, rng: random.Random) -> str:
    """The word with two adjacent letters of its 5+ letter core swapped (one must exist)."""
    start, pairs = _swappable(word)
    i = start + rng.choice(pairs)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _fragment(text: str, rng: random.Random) -> str | None:
    """A window of 8-14 words of the text, 1-3 words dropped, one typo; None if impossible."""
    tokens = text.split()
    for _ in range(10):
        size = min(len(tokens), rng.randint(8, 14))
        start = rng.randint(0, len(tokens) - size)
        window = tokens[start : start + size]
        drops = min(rng.randint(1, 3), max(0, len(window) - 5))
        for index in sorted(rng.sample(range(len(window)), drops), reverse=True):
            del window[index]
        eligible = [i for i, word in enumerate(window) if _swappable(word)[1]]
        if not eligible:
            continue
        index = rng.choice(eligible)
        window[index] = _typo(window[index], rng)
        return " ".join(window)
    return None


def make_fragments(passages: list[tuple[str, str]], count: int, seed: int) -> list[Question]:
    """`count` fragment questions of random passages (id, text)."""
    rng = random.Random(seed)
    questions: list[Question] = []
    for _ in range(count * 20):
        if len(questions) == count:
            return questions
        passage_id, text = rng.choice(passages)
        fragment = _fragment(text, rng)
        if fragment is not None:
            questions.append(Question("fragment", fragment, passage_id, text))
    raise SystemExit(f"could not make {count} fragment questions from this corpus")


def make_questions(passages: list[tuple[str, str]], count: int, seed: int) -> list[Question]:
    """`count` fragments of random passages (id, text), then the off-topic list."""
    questions = make_fragments(passages, count, seed)
    questions.extend(Question("off_topic", text) for text in OFF_TOPIC)
    return questions


def sample_indices(questions: list[Question], size: int) -> list[int]:
    """A deterministic sample of `size` questions keeping the fragment/off-topic proportion.

    The first fragments and the first off-topic questions (fragments are already random).
    """
    if size >= len(questions):
        return list(range(len(questions)))
    fragments = [i for i, q in enumerate(questions) if q.kind == "fragment"]
    off_topic = [i for i, q in enumerate(questions) if q.kind == "off_topic"]
    take_off = min(len(off_topic), max(1, round(size * len(off_topic) / len(questions))))
    return fragments[: size - take_off] + off_topic[:take_off]


# --- measurements -------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0-100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def max_rss_kib() -> int:
    """This process's peak resident set size so far, in KiB.

    /proc/self/status VmHWM where there is one: ru_maxrss survives fork and exec, so a child
    would report at least its parent's RSS (the parent holds a parsed corpus).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def pin_to_one_cpu() -> int | None:
    """Pin this process to its lowest allowed CPU; the CPU, or None where unsupported."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def busy_cpu_s() -> float | None:
    """CPU time spent by the whole machine so far (all CPUs, steal included), or None."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields)
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class OthersLoad:
    """How many cores other processes kept busy over a span (machine busy time minus ours).

    /proc/stat counts in clock ticks (10 ms): over spans shorter than a second it is rough.
    """

    def __init__(self, children: bool = False) -> None:
        self.children = children  # count our waited-for child processes as ours too
        self.cores: float | None = None
        self.elapsed = 0.0

    def _own(self) -> float:
        own = time.process_time()
        if self.children:
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            own += usage.ru_utime + usage.ru_stime
        return own

    def __enter__(self) -> OthersLoad:
        self.busy, self.own, self.started = busy_cpu_s(), self._own(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        busy, self.elapsed = busy_cpu_s(), time.perf_counter() - self.started
        if busy is not None and self.busy is not None and self.elapsed > 0:
            others = (busy - self.busy) - (self._own() - self.own)
            self.cores = max(0.0, others / self.elapsed)


def fts5_available() -> bool:
    """True when this Python's sqlite3 has the FTS5 extension."""
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE probe USING fts5(text)")
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()
    return True


def bm25_available() -> bool:
    """True when rank_bm25 (the `bench` extra) is installed."""
    try:
        import rank_bm25  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Engine:
    """One method, built: `ask` is what gets timed; `describe` reads quality, untimed."""

    passages: dict[str, str]  # passage id -> text
    ask: Callable[[str], Any]
    # (question, ask's result) -> top_id, top_score, source_score, tied_at_top, ...
    describe: Callable[[Question, Any], dict[str, Any]]
    info: dict[str, Any] = field(default_factory=dict)


def _word_tokens(text: str, stopwords: frozenset[str]) -> list[str]:
    """Lowercased `\\w+` tokens minus stopwords: the baselines' tokenizer."""
    return [w for w in re.findall(r"\w+", text.lower()) if w not in stopwords]


def build_ours(corpus: Path) -> Engine:
    """The production load: settings with SEEDS_DIR only, then load_library."""
    from bot.config import load_settings
    from bot.library import load_library

    settings = load_settings({"SEEDS_DIR": str(corpus)}, env_file=None)
    library, loaded = load_library(settings)
    passages = {p.id: p for a in library.articles for p in a.passages}

    def describe(q: Question, answer: Any) -> dict[str, Any]:
        # The top of search(limit=1); the longer list (same sort, then a slice) also counts
        # the passages tied at the top score (out of at most the rerank_candidates reranked).
        ranked = library.matcher.search(q.text, limit=library.matcher.config.rerank_candidates)
        top = ranked[0] if ranked else None
        source_score = None
        if q.kind == "fragment":
            # A passage's score does not depend on the others: scoping the search to the
            # source's article gives the source's own score.
            source = passages[q.source_id]
            scoped = library.matcher.search(q.text, source.article_id, limit=len(passages))
            source_score = next((s.score for s in scoped if s.passage.id == source.id), None)
        return {
            "outcome": answer.outcome.value,
            "top_id": top.passage.id if top else None,
            "top_score": top.score if top else None,
            "source_score": source_score,
            "tied_at_top": sum(s.score == top.score for s in ranked) if top else 0,
        }

    info = {
        "rejected_files": len(loaded.rejected),
        "glossary_aliases": len(library.glossary),
        "answer_threshold": settings.match_answer_threshold,
        "suggest_threshold": settings.match_suggest_threshold,
    }
    return Engine({i: p.text for i, p in passages.items()}, library.ask, describe, info)


def _load_passages(corpus: Path) -> tuple[list[str], list[str], float]:
    """The baselines' parse: passage ids and texts, and the load_folder time."""
    from bot.parsing import load_folder

    started = time.perf_counter()
    articles = load_folder(corpus).articles
    parse_s = time.perf_counter() - started
    ids = [p.id for a in articles for p in a.passages]
    texts = [p.text for a in articles for p in a.passages]
    return ids, texts, parse_s


def build_wratio(corpus: Path) -> Engine:
    from rapidfuzz import fuzz, process, utils

    ids, texts, parse_s = _load_passages(corpus)

    def ask(question: str) -> Any:
        return process.extractOne(
            question, texts, scorer=fuzz.WRatio, processor=utils.default_process
        )

    def describe(q: Question, best: Any) -> dict[str, Any]:
        source_score = None
        tied = 0
        if q.kind == "fragment":
            source_score = fuzz.WRatio(q.text, q.source_text, processor=utils.default_process)
            if best:  # a second scan: how many passages share the top score
                tied = len(
                    process.extract(
                        q.text,
                        texts,
                        scorer=fuzz.WRatio,
                        processor=utils.default_process,
                        limit=None,
                        score_cutoff=best[1],
                    )
                )
        return {
            "top_id": ids[best[2]] if best else None,
            "top_score": float(best[1]) if best else None,
            "source_score": source_score,
            "tied_at_top": tied,
        }

    return Engine(dict(zip(ids, texts, strict=True)), ask, describe, {"parse_s": parse_s})


def build_bm25(corpus: Path) -> Engine:
    import numpy as np
    from rank_bm25 import BM25Okapi

    from bot.text import STOPWORDS

    ids, texts, parse_s = _load_passages(corpus)
    index = BM25Okapi([_word_tokens(t, STOPWORDS) for t in texts])
    position = {passage_id: i for i, passage_id in enumerate(ids)}

    def ask(question: str) -> Any:
        scores = index.get_scores(_word_tokens(question, STOPWORDS))
        best = int(np.argmax(scores))
        return best, scores

    def describe(q: Question, result: Any) -> dict[str, Any]:
        best, scores = result
        top_score = float(scores[best])
        return {
            # All-zero scores (no query term in any passage) mean no result.
            "top_id": ids[best] if top_score > 0 else None,
            "top_score": top_score if top_score > 0 else None,
            "source_score": float(scores[position[q.source_id]]) if q.source_id else None,
            "tied_at_top": int(np.count_nonzero(scores == top_score)) if top_score > 0 else 0,
        }

    return Engine(dict(zip(ids, texts, strict=True)), ask, describe, {"parse_s": parse_s})


def fts5_query(question: str, stopwords: frozenset[str]) -> str:
    """The question's tokens minus stopwords, each a quoted FTS5 string, OR-ed ('' if none)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in _word_tokens(question, stopwords))


def build_fts5(corpus: Path) -> Engine:
    from bot.text import STOPWORDS

    ids, texts, parse_s = _load_passages(corpus)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE passages USING fts5(text)")
    db.executemany("INSERT INTO passages(rowid, text) VALUES (?, ?)", enumerate(texts))
    db.commit()
    position = {passage_id: i for i, passage_id in enumerate(ids)}
    top_sql = (
        "SELECT rowid, bm25(passages) FROM passages WHERE passages MATCH ? "
        "ORDER BY bm25(passages) LIMIT 3"
    )
    all_sql = "SELECT rowid, bm25(passages) FROM passages WHERE passages MATCH ?"

    def ask(question: str) -> Any:
        query = fts5_query(question, STOPWORDS)
        return db.execute(top_sql, (query,)).fetchall() if query else []

    def describe(q: Question, rows: Any) -> dict[str, Any]:
        if not rows:
            return {"top_id": None, "top_score": None, "source_score": None, "tied_at_top": 0}
        # FTS5's bm25() is lower-is-better; negated here so that higher is better.
        scores = {
            rowid: -score for rowid, score in db.execute(all_sql, (fts5_query(q.text, STOPWORDS),))
        }
        top_score = -rows[0][1]
        return {
            "top_id": ids[rows[0][0]],
            "top_score": top_score,
            "source_score": scores.get(position[q.source_id]) if q.source_id else None,
            "tied_at_top": sum(s == top_score for s in scores.values()),
        }

    return Engine(dict(zip(ids, texts, strict=True)), ask, describe, {"parse_s": parse_s})


BUILDERS: dict[str, Callable[[Path], Engine]] = {
    "ours": build_ours,
    "wratio": build_wratio,
    "bm25": build_bm25,
    "fts5": build_fts5,
}
# Imported before the base RSS reading, so that "base" is the interpreter plus the libraries.
IMPORTS = {
    "ours": ("numpy", "rapidfuzz", "bot.config", "bot.library"),
    "wratio": ("rapidfuzz", "bot.parsing"),
    "bm25": ("numpy", "rank_bm25", "bot.parsing", "bot.text"),
    "fts5": ("bot.parsing", "bot.text"),
}


def run_worker(method: str, questions_file: Path, out_file: Path, corpus: Path) -> None:
    """Measure one method on one corpus in this (fresh) process and write JSON to out_file."""
    import importlib

    cpu = pin_to_one_cpu()
    for module in IMPORTS[method]:
        importlib.import_module(module)
    base_rss = max_rss_kib()
    spec = json.loads(questions_file.read_text(encoding="utf-8"))
    questions = [Question(**q) for q in spec["questions"]]
    warmup = [Question(**q) for q in spec["warmup"]]

    gc.collect()
    with OthersLoad() as load_others:
        started = time.perf_counter()
        engine = BUILDERS[method](corpus)
        load_index_s = time.perf_counter() - started

    for q in warmup:
        engine.ask(q.text)
    gc.collect()
    latencies: list[float] = []
    results: list[Any] = []
    with OthersLoad() as timed_others:
        timed_started = time.perf_counter()
        for q in questions:
            t0 = time.perf_counter()
            result = engine.ask(q.text)
            latencies.append(time.perf_counter() - t0)
            results.append(result)
        timed_s = time.perf_counter() - timed_started
    peak_after_timing = max_rss_kib()

    records = []
    for q, result, latency in zip(questions, results, latencies, strict=True):
        record = engine.describe(q, result)
        record["latency_ms"] = round(latency * 1000, 4)
        if q.kind == "fragment":
            top_id = record["top_id"]
            record["hit_strict"] = top_id == q.source_id
            record["hit"] = top_id is not None and engine.passages[top_id] == q.source_text
            # Ties: the source scores as high as the top result but lost the tie-break
            # (templated passages share whole clauses, so many fragments are ambiguous).
            top_score, source_score = record["top_score"], record["source_score"]
            record["hit_or_tie"] = record["hit"] or (
                source_score is not None and top_score is not None and source_score >= top_score
            )
        records.append(record)
    result = {
        "method": method,
        "cpu": cpu,
        "passages": len(engine.passages),
        "load_index_s": load_index_s,
        "timed_s": timed_s,
        # Cores other processes kept busy meanwhile: above ~0.1, expect inflated figures.
        "others_cores_load": load_others.cores,
        "others_cores_timed": timed_others.cores,
        "base_rss_kib": base_rss,
        # The quality pass (untimed) can add to the peak: the timed part's peak is what counts.
        "peak_rss_kib": peak_after_timing,
        "peak_rss_end_kib": max_rss_kib(),
        "info": engine.info,
        "records": records,
    }
    out_file.write_text(json.dumps(result), encoding="utf-8")


def _mb(kib: float) -> float:
    return kib * 1024 / 1e6


def summarise(method: str, questions: list[Question], raw: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of one worker's raw result."""
    records = raw["records"]
    latencies_ms = [r["latency_ms"] for r in records]
    fragments = [r for r, q in zip(records, questions, strict=True) if q.kind == "fragment"]
    off_topic = [r for r, q in zip(records, questions, strict=True) if q.kind == "off_topic"]
    summary: dict[str, Any] = {
        "passages": raw["passages"],
        "load_index_s": raw["load_index_s"],
        "timed_questions": len(records),
        "p50_ms": percentile(latencies_ms, 50),
        "p99_ms": percentile(latencies_ms, 99),
        "max_ms": max(latencies_ms),
        "mean_ms": sum(latencies_ms) / len(latencies_ms),
        # By kind too: a handful of slow off-topic questions can set the overall p99.
        "fragment_p50_ms": percentile([r["latency_ms"] for r in fragments], 50),
        "fragment_p99_ms": percentile([r["latency_ms"] for r in fragments], 99),
        "off_topic_p50_ms": percentile([r["latency_ms"] for r in off_topic], 50),
        "off_topic_max_ms": max(r["latency_ms"] for r in off_topic),
        "base_rss_mb": _mb(raw["base_rss_kib"]),
        "peak_rss_mb": _mb(raw["peak_rss_kib"]),
        "peak_rss_end_mb": _mb(raw["peak_rss_end_kib"]),
        "fragments": len(fragments),
        "fragment_top1": sum(r["hit"] for r in fragments),
        "fragment_top1_strict": sum(r["hit_strict"] for r in fragments),
        "fragment_top1_or_tie": sum(r["hit_or_tie"] for r in fragments),
        "fragment_tied_at_top_median": percentile([r["tied_at_top"] for r in fragments], 50),
        "fragment_tied_at_top_max": max(r["tied_at_top"] for r in fragments),
        "off_topic": len(off_topic),
        "off_topic_any_result": sum(r["top_id"] is not None for r in off_topic),
        "info": raw["info"],
        "cpu": raw["cpu"],
        "timed_s": raw["timed_s"],
        "others_cores_load": raw["others_cores_load"],
        "others_cores_timed": raw["others_cores_timed"],
        "others_cores": raw["others_cores"],
        "attempts": sum(len(run["attempts_others_cores"]) for run in raw["runs"]),
        "runs": raw["runs"],
    }
    if method == "ours":
        for kind, group in (("fragment", fragments), ("off_topic", off_topic)):
            for outcome in ("answered", "suggested", "unanswered"):
                summary[f"{kind}_{outcome}"] = sum(r["outcome"] == outcome for r in group)
        summary["off_topic_false_answers"] = summary["off_topic_answered"]
    elif method == "wratio":
        summary["fragment_confident"] = sum(
            r["top_score"] is not None and r["top_score"] >= WRATIO_CONFIDENT for r in fragments
        )
        summary["off_topic_false_answers"] = sum(
            r["top_score"] is not None and r["top_score"] >= WRATIO_CONFIDENT for r in off_topic
        )
    else:
        summary["off_topic_false_answers"] = None  # no calibrated cut
    return summary


# --- orchestration ------------------------------------------------------------------------


def build_corpus(target: Path, articles: int, seed: int, tool: Path) -> None:
    """Generate `articles` synthetic articles into target, and copy every seed file beside them."""
    if not tool.is_file():
        raise SystemExit(f"corpus generator not found: {tool} (pass --corpus-tool)")
    subprocess.run(
        [sys.executable, str(tool), str(target), "--articles", str(articles), "--seed", str(seed)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    for path in SEEDS.iterdir():  # the article(s) and aliases.toml
        if path.is_file():
            shutil.copy2(path, target / path.name)


def spawn_worker(
    method: str, corpus: Path, questions_file: Path, workdir: Path
) -> tuple[dict[str, Any], float]:
    """Run one method in a fresh interpreter; its raw result and the worker's wall time."""
    out_file = workdir / f"{method}.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        method,
        "--corpus",
        str(corpus),
        "--questions-file",
        str(questions_file),
        "--out",
        str(out_file),
    ]
    with OthersLoad(children=True) as others:
        subprocess.run(command, check=True, cwd=REPO)
    raw = json.loads(out_file.read_text(encoding="utf-8"))
    raw["others_cores"] = others.cores
    return raw, others.elapsed


def wait_for_quiet(max_wait_s: float) -> float:
    """Wait (up to max_wait_s) for a 2-second span with under NOISY_CORES busy; seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < max_wait_s:
        with OthersLoad() as others:
            time.sleep(2)
        if others.cores is None or others.cores <= NOISY_CORES:
            break
    return time.perf_counter() - started


def measure(
    name: str,
    method: str,
    folder: Path,
    questions_file: Path,
    workdir: Path,
    args: argparse.Namespace,
) -> tuple[dict[str, Any], float]:
    """One worker run; rerun (--busy-retries) when other processes competed for the CPUs.

    Keeps the run during which the others were least busy, and records every attempt's load.
    Waiting and reruns share one allowance for the whole benchmark (--retry-budget seconds).
    """
    best: tuple[dict[str, Any], float] | None = None
    loads: list[float | None] = []
    waited = 0.0
    for attempt in range(1 + args.busy_retries):
        if attempt:
            assert best is not None
            if args.retry_spent + best[1] + 10 > args.retry_budget:
                print("  (no rerun: --retry-budget spent)", file=sys.stderr)
                break
            wait = wait_for_quiet(min(30.0, args.retry_budget - args.retry_spent - best[1]))
            waited += wait
            args.retry_spent += wait
        started = time.perf_counter()
        print(f"  {name}: {method} ...", end=" ", file=sys.stderr, flush=True)
        raw, wall_s = spawn_worker(method, folder, questions_file, workdir)
        if attempt:
            args.retry_spent += time.perf_counter() - started
        cores = raw["others_cores"]
        loads.append(cores)
        busy = "" if cores is None else f", others busy {cores:.2f} cores"
        print(f"{wall_s:.1f} s{busy}", file=sys.stderr, flush=True)
        if best is None or (cores or 0.0) < (best[0]["others_cores"] or 0.0):
            best = raw, wall_s
        if cores is None or cores <= NOISY_CORES:
            break
    assert best is not None
    best[0]["attempts_others_cores"] = loads
    best[0]["waited_for_quiet_s"] = waited
    return best


def combine_runs(raws: list[dict[str, Any]]) -> dict[str, Any]:
    """Fresh runs of one worker as one: per question the median of its runs, load+index the
    median run, peak RSS the highest; each run's own figures kept under "runs".

    The median shrugs off one disturbed run without flattering the figures the way the
    fastest run would (a quiet VM still drifts by a third from run to run).
    """
    combined = dict(raws[0])
    combined["records"] = [
        {
            **record,
            "latency_ms": statistics.median(r["records"][i]["latency_ms"] for r in raws),
            "latency_runs_ms": [r["records"][i]["latency_ms"] for r in raws],
        }
        for i, record in enumerate(raws[0]["records"])
    ]
    combined["load_index_s"] = statistics.median(r["load_index_s"] for r in raws)
    combined["peak_rss_kib"] = max(r["peak_rss_kib"] for r in raws)
    combined["peak_rss_end_kib"] = max(r["peak_rss_end_kib"] for r in raws)
    loads = [r["others_cores"] for r in raws if r["others_cores"] is not None]
    # Noisy if most runs were: otherwise the medians come from quiet runs.
    combined["others_cores"] = statistics.median(loads) if loads else None
    combined["runs"] = [
        {
            "p50_ms": percentile([x["latency_ms"] for x in r["records"]], 50),
            "p99_ms": percentile([x["latency_ms"] for x in r["records"]], 99),
            "load_index_s": r["load_index_s"],
            "peak_rss_kib": r["peak_rss_kib"],
            "others_cores": r["others_cores"],
            "attempts_others_cores": r["attempts_others_cores"],
        }
        for r in raws
    ]
    return combined


def bench_corpus(
    name: str, synthetic: int, folder: Path, args: argparse.Namespace, workdir: Path
) -> list[dict[str, Any]]:
    """Parse the corpus once (for the questions), and measure every method on it."""
    from bot.parsing import load_folder

    started = time.perf_counter()
    loaded = load_folder(folder)
    parse_s = time.perf_counter() - started
    if loaded.rejected:
        print(f"warning: {len(loaded.rejected)} file(s) rejected in {name}", file=sys.stderr)
    passages = [(p.id, p.text) for a in loaded.articles for p in a.passages]
    questions = make_questions(passages, args.questions, args.seed)
    # Other fragments, from another stream of the same seed, warm the worker up.
    warmup = make_fragments(passages, WARMUP_QUESTIONS, args.seed + 7919)
    slow_sample = sample_indices(questions, args.slow_questions)
    rows = []
    for method in args.methods:
        sampled = method in SLOW_METHODS and len(passages) > args.slow_above
        chosen = slow_sample if sampled else list(range(len(questions)))
        method_questions = [questions[i] for i in chosen]
        questions_file = workdir / f"questions_{method}.json"
        questions_file.write_text(
            json.dumps(
                {
                    "questions": [asdict(q) for q in method_questions],
                    "warmup": [asdict(q) for q in warmup],
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        raw, wall_s = measure(name, method, folder, questions_file, workdir, args)
        raws = [raw]
        if wall_s <= args.repeat_max_s:
            for _ in range(args.repeat - 1):
                raws.append(measure(name, method, folder, questions_file, workdir, args)[0])
        raw = combine_runs(raws)
        row = {
            "corpus": name,
            "synthetic_articles": synthetic,
            "articles": len(loaded.articles),
            "method": method,
            "parent_parse_s": parse_s,
            "worker_wall_s": wall_s,
            "sampled": sampled,
            **summarise(method, method_questions, raw),
            "question_indices": chosen,
            "questions": [
                {**asdict(q), **record}
                for q, record in zip(method_questions, raw["records"], strict=True)
            ],
        }
        rows.append(row)
    # Figures of the fully timed methods on the slow methods' sample, for a like-for-like read.
    if any(r["sampled"] for r in rows):
        for row in rows:
            if not row["sampled"]:
                subset = [row["questions"][i]["latency_ms"] for i in slow_sample]
                row["sample_p50_ms"] = percentile(subset, 50)
                row["sample_p99_ms"] = percentile(subset, 99)
    return rows


def _cell_false_answers(r: dict[str, Any]) -> str:
    if r["off_topic_false_answers"] is None:
        return "n/a"
    return f"{r['off_topic_false_answers']}/{r['off_topic']}"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """One row per method x corpus, columns padded for reading in a terminal."""
    header = [
        "corpus",
        "passages",
        "method",
        "questions",
        "load+index s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "peak RSS MB",
        "fragment top-1",
        "off-topic answered",
    ]
    body = []
    for r in rows:
        body.append(
            [
                r["corpus"],
                f"{r['passages']:,}",
                r["method"],
                f"{r['timed_questions']}"
                + (f"\u00d7{len(r['runs'])}" if len(r["runs"]) > 1 else "")
                + ("*" if r["sampled"] else ""),
                f"{r['load_index_s']:.2f}",
                f"{r['p50_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                f"{r['max_ms']:.2f}",
                f"{r['peak_rss_mb']:.0f}",
                f"{100 * r['fragment_top1'] / r['fragments']:.1f}%",
                _cell_false_answers(r),
            ]
        )
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    numeric = {1, *range(3, 11)}

    def line(cells: list[str]) -> str:
        padded = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        "-" * (w + 1) + ":" if i in numeric else "-" * (w + 2) for i, w in enumerate(widths)
    )
    return "\n".join([line(header), rule + "|", *(line(b) for b in body)])


def target_lines(rows: list[dict[str, Any]]) -> list[str]:
    """ours against the issue's targets, one line per corpus that has targets."""
    lines = []
    for r in rows:
        target = TARGETS.get(r["synthetic_articles"])
        if r["method"] != "ours" or target is None:
            continue
        p99, load, rss = target
        checks = [
            ("p99", r["p99_ms"], p99, "ms"),
            ("load+index", r["load_index_s"], load, "s"),
        ]
        if rss is not None:
            checks.append(("peak RSS", r["peak_rss_mb"], rss, "MB"))
        verdicts = [
            f"{label} {value:.2f} {unit} <= {limit:g}: {'PASS' if value <= limit else 'FAIL'}"
            for label, value, limit, unit in checks
        ]
        lines.append(f"- targets, {r['corpus']} / ours: " + "; ".join(verdicts))
    return lines


def quiet_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Whether other processes competed for the CPUs while we measured (they inflate figures)."""
    seen = [r for r in rows if r["others_cores"] is not None]
    if not seen:
        return []
    loads = [r["others_cores"] for r in seen]
    reruns = sum(r["attempts"] - len(r["runs"]) for r in rows)
    lines = [
        "other processes' CPU use (cores, /proc/stat incl. steal, minus ours) during each "
        f"worker (median of its runs): median {percentile(loads, 50):.2f}, max {max(loads):.2f}; "
        f"{reruns} run(s) redone because others were busy (the quieter attempt kept)"
    ]
    noisy = [r for r in seen if r["others_cores"] > NOISY_CORES]
    if noisy:
        lines.append(
            f"WARNING: others kept more than {NOISY_CORES} cores busy during "
            + ", ".join(f"{r['corpus']} / {r['method']} ({r['others_cores']:.2f})" for r in noisy)
            + ": those figures are inflated (2-core machine); rerun when the machine is quiet."
        )
    return lines


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def notes(rows: list[dict[str, Any]], args: argparse.Namespace, skipped: list[str]) -> str:
    """Details under the table: definitions, samples, outcome splits, targets."""
    n = args.questions + len(OFF_TOPIC)
    rank = math.ceil(0.99 * n)
    lines = [
        "",
        f"{args.questions} fragment questions + {len(OFF_TOPIC)} off-topic per corpus "
        f"(seed {args.seed}); each worker (a fresh process pinned to CPU {rows[0]['cpu']}) "
        f"times one pass after a warm-up on {WARMUP_QUESTIONS} other fragments.",
        f"questions {n}\u00d7{args.repeat}: {args.repeat} fresh worker runs (for workers whose "
        f"first run took <= {args.repeat_max_s:g} s): each question's latency is the median of "
        "its runs, load+index the median run (each run's own p50/p99 are listed below); "
        "other workers ran once.",
        "p50/p99: nearest-rank percentiles of per-question latency over fragment and off-topic "
        f"questions together (rank ceil(p/100*n) ascending; n={n}: p99 is the "
        f"{_ordinal(n - rank + 1)} slowest).",
        "load+index: in the worker; ours = the whole load_library() call (parse + glossary + "
        "index), baselines = load_folder() + building their index.",
        "peak RSS: the worker's VmHWM after the timed pass (MB = 10^6 bytes); base = after "
        "imports.",
        "fragment top-1: top result is the source passage (or one with identical text). "
        "off-topic answered: ours = outcome 'answered'; wratio = best score >= "
        f"{WRATIO_CONFIDENT}; bm25/fts5 have no calibrated cut (n/a; see 'any result').",
    ]
    sampled = [r for r in rows if r["sampled"]]
    if sampled:
        lines.append(
            f"* timed on a {args.slow_questions}-question sample (corpora above "
            f"{args.slow_above:,} passages; the first fragments and off-topic questions in the "
            "full set's proportion): with so few questions p99 is the slowest or next to it."
        )
        for corpus in dict.fromkeys(r["corpus"] for r in sampled):
            same = [
                f"{r['method']} {r['sample_p50_ms']:.2f}/{r['sample_p99_ms']:.2f}"
                for r in rows
                if r["corpus"] == corpus and "sample_p50_ms" in r
            ]
            lines.append(
                f"  {corpus}, p50/p99 ms of the other methods on that same sample: "
                + ", ".join(same)
            )
    for note in skipped:
        lines.append(f"skipped: {note}")
    for r in rows:
        if len(r["runs"]) > 1:
            runs = ", ".join(
                f"{run['p50_ms']:.2f}/{run['p99_ms']:.2f} ({run['load_index_s']:.2f} s)"
                for run in r["runs"]
            )
            lines.append(f"- {r['corpus']} / {r['method']}: runs p50/p99 ms (load+index) {runs}")
        lines.append(
            f"- {r['corpus']} / {r['method']}: fragments p50 {r['fragment_p50_ms']:.2f} "
            f"p99 {r['fragment_p99_ms']:.2f} ms; off-topic p50 {r['off_topic_p50_ms']:.2f} "
            f"max {r['off_topic_max_ms']:.2f} ms; base RSS {r['base_rss_mb']:.0f} MB; "
            f"top-1 strict {r['fragment_top1_strict']}/{r['fragments']}, "
            f"incl. ties {r['fragment_top1_or_tie']}; tied at top: median "
            f"{r['fragment_tied_at_top_median']}, max {r['fragment_tied_at_top_max']}; "
            f"off-topic with any result {r['off_topic_any_result']}/{r['off_topic']}"
        )
        if r["method"] == "ours":
            info = r["info"]
            lines.append(
                f"  ours outcomes answered/suggested/unanswered: fragments "
                f"{r['fragment_answered']}/{r['fragment_suggested']}/{r['fragment_unanswered']}, "
                f"off-topic {r['off_topic_answered']}/{r['off_topic_suggested']}/"
                f"{r['off_topic_unanswered']} (thresholds {info['answer_threshold']}/"
                f"{info['suggest_threshold']}, {info['glossary_aliases']} glossary aliases, "
                f"{info['rejected_files']} file(s) rejected)"
            )
        elif r["method"] == "wratio":
            lines.append(
                f"  wratio fragments scoring >= {WRATIO_CONFIDENT}: "
                f"{r['fragment_confident']}/{r['fragments']}"
            )
    lines.extend(quiet_lines(rows))
    lines.extend(target_lines(rows))
    return "\n".join(lines)


def _articles_list(raw: str) -> list[int]:
    try:
        values = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{raw!r} is not a list of article counts (1000,10000)"
        ) from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError("article counts must be >= 0")
    return [v for v in dict.fromkeys(values) if v]  # 0: the seed alone, always measured


def _methods_list(raw: str) -> list[str]:
    values = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [v for v in values if v not in METHODS]
    if unknown or not values:
        raise argparse.ArgumentTypeError(f"methods are among {', '.join(METHODS)}")
    return list(dict.fromkeys(values))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--articles",
        type=_articles_list,
        default=[1000, 10000],
        help="synthetic article counts, comma-separated, each beside the seed (default "
        "1000,10000; the seed alone is always measured; 0: the seed only)",
    )
    parser.add_argument(
        "--methods",
        type=_methods_list,
        default=list(METHODS),
        help=f"comma-separated, among {','.join(METHODS)} (default: all)",
    )
    parser.add_argument("--questions", type=int, default=300, help="fragment questions")
    parser.add_argument(
        "--slow-questions",
        type=int,
        default=60,
        help="questions timed for wratio on big corpora (default 60)",
    )
    parser.add_argument(
        "--slow-above",
        type=int,
        default=20_000,
        help="passages above which wratio gets --slow-questions (default 20000)",
    )
    parser.add_argument(
        "--busy-retries",
        type=int,
        default=2,
        help="reruns of a worker during which other processes kept more than "
        f"{NOISY_CORES} cores busy, after waiting for a quiet moment (default 2)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="fresh runs of each worker whose first run took at most --repeat-max-s; "
        "latency per question is the median of its runs (default 3)",
    )
    parser.add_argument(
        "--repeat-max-s",
        type=float,
        default=30,
        help="workers slower than this run once (default 30 s)",
    )
    parser.add_argument(
        "--retry-budget",
        type=float,
        default=150,
        help="seconds the whole run may spend waiting for quiet and rerunning (default 150)",
    )
    parser.add_argument("--seed", type=int, default=1, help="question and corpus seed")
    parser.add_argument("--json", type=Path, help="write the raw figures to this file")
    parser.add_argument(
        "--corpus-tool", type=Path, default=DEFAULT_CORPUS_TOOL, help="path to make_corpus.py"
    )
    # Internal: one measurement in a fresh process.
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--questions-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def machine() -> str:
    """CPU count and model, for the record."""
    model = platform.processor() or platform.machine()
    try:
        for text_line in Path("/proc/cpuinfo").read_text().splitlines():
            if text_line.startswith("model name"):
                model = text_line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPU(s), {model}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # so `bot` imports without an installed package
    args = parse_args(argv)
    if args.worker:
        run_worker(args.worker, args.questions_file, args.out, args.corpus)
        return 0
    if args.questions < 1 or args.slow_questions < 2:
        raise SystemExit("--questions must be >= 1 and --slow-questions >= 2")
    skipped = []
    if "bm25" in args.methods and not bm25_available():
        args.methods.remove("bm25")
        skipped.append("bm25: rank_bm25 is not installed (pip install -e '.[dev,bench]')")
    if "fts5" in args.methods and not fts5_available():
        args.methods.remove("fts5")
        skipped.append(f"fts5: this sqlite3 ({sqlite3.sqlite_version}) has no FTS5")
    for note in skipped:
        print(f"skipping {note}", file=sys.stderr)
    if not args.methods:
        raise SystemExit("no method left to measure")

    started = time.perf_counter()
    args.retry_spent = 0.0
    rows: list[dict[str, Any]] = []
    corpus_build_s: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench_matching_") as tmp:
        root = Path(tmp)
        corpora: list[tuple[str, int, Path]] = [("seed", 0, SEEDS)]
        for count in args.articles:
            folder = root / f"corpus_{count}"
            name = f"seed+{count:,}"
            print(f"generating {name} ...", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            build_corpus(folder, count, args.seed, args.corpus_tool)
            corpus_build_s[name] = time.perf_counter() - t0
            corpora.append((name, count, folder))
        for name, count, folder in corpora:
            workdir = root / f"work_{count}"
            workdir.mkdir()
            rows.extend(bench_corpus(name, count, folder, args, workdir))
    elapsed = time.perf_counter() - started
    print(markdown_table(rows))
    print(notes(rows, args, skipped))
    print(f"\nmachine: {machine()}")
    print(
        f"total wall time {elapsed:.1f} s (corpus generation "
        f"{sum(corpus_build_s.values()):.1f} s, waiting for quiet and reruns "
        f"{args.retry_spent:.1f} s)"
    )
    if args.json:
        report = {
            "settings": {
                "articles": args.articles,
                "methods": args.methods,
                "questions": args.questions,
                "slow_questions": args.slow_questions,
                "slow_above": args.slow_above,
                "busy_retries": args.busy_retries,
                "retry_spent_s": args.retry_spent,
                "seed": args.seed,
                "python": sys.version.split()[0],
                "sqlite": sqlite3.sqlite_version,
                "machine": machine(),
                "wall_s": elapsed,
                "corpus_build_s": corpus_build_s,
                "skipped": skipped,
            },
            "rows": rows,
        }
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
