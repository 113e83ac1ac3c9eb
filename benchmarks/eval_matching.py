"""Answer quality on the evaluation set: the bot's matcher against the baselines, in one run.

    .venv/bin/pip install -e '.[dev,bench]'
    .venv/bin/python benchmarks/eval_matching.py            # seed, then seed + 1,000 articles
    .venv/bin/python benchmarks/eval_matching.py --articles 0
    .venv/bin/python benchmarks/eval_matching.py --ablation  # each part switched off in turn

Questions: tests/data/eval_questions.jsonl. Four held-out rounds were written before the
tuning they measure and are never tuned on: `heldout` (before any tuning), `heldout2`,
`heldout3` and `heldout4` (written from the article alone by someone who had not seen the
matcher; round 2 before the spelling corrector and the WordNet synonyms, round 3 after
that tuning, round 4 before the name rule). "Ranked first" counts the expected passage
first whatever the outcome: how well a method ranks, apart from how sure it is.
Methods, over the same passages:
- ours: `Library.ask` with the bundled glossary and the default thresholds;
- wratio: `rapidfuzz.process.extractOne(q, passages, scorer=fuzz.WRatio,
  processor=utils.default_process)`, answering when its score clears a cut;
- bm25: `rank_bm25.BM25Okapi` over lowercased words with stopwords removed, answering
  when its top score clears a cut.
A baseline's cut is its lowest score that answers none of the *tune* split's off-topic
questions (its best threshold, measured in the same run), so every method is held to
"never answer off-topic" as the bot is. With synthetic articles loaded beside the seed, an
answer from a synthetic article counts as wrong.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process, utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.evaluation import (  # noqa: E402
    EvalQuestion,
    Method,
    evaluate,
    format_table,
    library_method,
    load_questions,
)
from bot.config import load_settings  # noqa: E402
from bot.library import Library, load_library, matcher_config  # noqa: E402
from bot.text import STOPWORDS  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "eval_questions.jsonl"
MAKE_CORPUS = ROOT.parent / "shared" / "tools" / "make_corpus.py"


def calibrated(
    score_top: Callable[[str], tuple[float, str] | None], tune_off_topic: list[str]
) -> tuple[Method, float]:
    """A baseline that answers when its top score beats every tune off-topic question's."""
    off_scores = [found[0] for q in tune_off_topic if (found := score_top(q))]
    cut = max(off_scores, default=0.0)

    def ask(question: str) -> tuple[str, list[str]]:
        found = score_top(question)
        if found is None:
            return "unanswered", []
        return ("answered" if found[0] > cut else "unanswered"), [found[1]]

    return ask, cut


def wratio_top(library: Library) -> Callable[[str], tuple[float, str] | None]:
    passages = list(library.matcher.passages)
    texts = [p.text for p in passages]

    def top(question: str) -> tuple[float, str] | None:
        found = process.extractOne(
            question, texts, scorer=fuzz.WRatio, processor=utils.default_process
        )
        return (found[1], passages[found[2]].id) if found else None

    return top


def bm25_top(library: Library) -> Callable[[str], tuple[float, str] | None]:
    from rank_bm25 import BM25Okapi

    passages = list(library.matcher.passages)

    def tokens(text: str) -> list[str]:
        return [w for w in re.findall(r"\w+", text.lower()) if w not in STOPWORDS]

    index = BM25Okapi([tokens(p.text) for p in passages])

    def top(question: str) -> tuple[float, str] | None:
        words = tokens(question)
        if not words:
            return None
        scores = index.get_scores(words)
        best = max(range(len(scores)), key=scores.__getitem__)
        return (float(scores[best]), passages[best].id) if scores[best] > 0 else None

    return top


def run(seeds_dir: Path, questions: list[EvalQuestion], label: str) -> None:
    started = time.perf_counter()
    settings = load_settings({"SEEDS_DIR": str(seeds_dir)}, env_file=None)
    library, _ = load_library(settings)
    tune_off = [q.question for q in questions if q.split == "tune" and q.expected is None]
    print(f"\n## {label}: {len(library.articles)} articles, {library.passage_count} passages")
    print(f"(loaded and indexed in {time.perf_counter() - started:.1f} s)\n")
    results = {"ours": evaluate(library_method(library), questions)}
    cuts = {}
    for name, top in (("wratio", wratio_top(library)), ("bm25", bm25_top(library))):
        method, cuts[name] = calibrated(top, tune_off)
        results[name] = evaluate(method, questions)
    print(format_table(results))
    print(
        f"\nThresholds: ours answer >= {settings.match_answer_threshold}, suggest >= "
        f"{settings.match_suggest_threshold}; wratio answers above {cuts['wratio']:.1f}; "
        f"bm25 above {cuts['bm25']:.2f}."
    )


ABLATIONS: dict[str, dict[str, Any]] = {
    # name: the MatcherConfig fields that switch the part off; "glossary" is handled apart.
    "full matcher": {},
    "without the glossary": {},
    "without typo correction": {"typo_correction": False},
    "without WordNet synonyms": {"synonym_credit": 0.0},
    "without the fuzzy rerank (coverage only)": {
        "coverage_weight": 1.0,
        "token_set_weight": 0.0,
        "partial_weight": 0.0,
    },
    "unknown words at full weight": {"unknown_weight": 1.0},
    "core viewpoint at full score": {"core_viewpoint_factor": 1.0},
    "without the name rule": {"names_must_appear": False},
    "without the fact rule (how much / when)": {"facts_must_appear": False},
}


def ablation(seeds_dir: Path, questions: list[EvalQuestion], label: str) -> None:
    """Each part of the matcher switched off in turn, to see what it earns."""
    from bot.glossary import Glossary

    settings = load_settings({"SEEDS_DIR": str(seeds_dir)}, env_file=None)
    print(f"\n## What each part earns: {label}\n")
    print(
        "| variant | answered right, English | answered right, Chinese | held-out right "
        "| answered wrong | off-topic answered / suggested |"
    )
    print("|---|---|---|---|---|---|")
    for name, changes in ABLATIONS.items():
        config = replace(matcher_config(settings), **changes)
        library, _ = load_library(settings, config=config)
        if name == "without the glossary":
            library = Library(library.articles, config, glossary=Glossary())
        t = evaluate(library_method(library), questions)
        en, zh, held = t["whole, English"], t["whole, Chinese"], t["held-out"]
        print(
            f"| {name} | {en.answered_right}/{en.answerable} | {zh.answered_right}/"
            f"{zh.answerable} | {held.answered_right}/{held.answerable} | "
            f"{t['whole set'].answered_wrong} | {t['whole set'].off_topic_answered} / "
            f"{t['whole set'].off_topic_suggested} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1000, help="synthetic articles (0: none)")
    parser.add_argument("--seed", type=int, default=1, help="make_corpus.py's --seed")
    parser.add_argument("--ablation", action="store_true", help="also switch each part off")
    args = parser.parse_args()
    questions = load_questions(QUESTIONS)
    answerable = sum(q.expected is not None for q in questions)
    held_out = sum(q.split.startswith("heldout") for q in questions)
    print(
        f"# Matching evaluation: {len(questions)} questions ({answerable} answerable, "
        f"{len(questions) - answerable} off-topic; {held_out} held out)"
    )
    run(ROOT / "seeds", questions, "The seed alone")
    if args.ablation:
        ablation(ROOT / "seeds", questions, "the seed alone")
    if args.articles:
        with tempfile.TemporaryDirectory() as folder:
            corpus = Path(folder)
            subprocess.run(
                [sys.executable, str(MAKE_CORPUS), str(corpus), "--articles", str(args.articles),
                 "--seed", str(args.seed)],
                check=True,
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            for path in (ROOT / "seeds").iterdir():
                if path.is_file():
                    (corpus / path.name).write_bytes(path.read_bytes())
            run(corpus, questions, f"The seed + {args.articles:,} synthetic articles")
            if args.ablation:
                ablation(corpus, questions, f"the seed + {args.articles:,} synthetic articles")


if __name__ == "__main__":
    main()
