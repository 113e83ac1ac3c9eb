"""Choose the hybrid score's constants and the answer bar on the *tune* questions only.

    .venv/bin/python benchmarks/tune_hybrid.py

Runs every tune question once (`tests/data/eval_questions.jsonl` split `tune` over the seed;
`tests/data/eval_multi.jsonl` split `tune5` over the four articles + 200 distractors),
records each candidate's lexical score, its cosine and whether the answer rules (names,
facts) let it be answered, then, without matching again, scores every combination of the
semantic weight, the cosine's floor and ceiling and the answer threshold: answered right,
right passage first, wrong answers, off-topic answered. Held-out rounds are never read.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bot.matching as matching  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.library import load_library  # noqa: E402
from bot.matcher_config import MatcherConfig  # noqa: E402
from bot.matching import ScoredPassage  # noqa: E402

CORE_VIEWPOINT_FACTOR = MatcherConfig().core_viewpoint_factor
MAKE_CORPUS = ROOT.parent / "shared" / "tools" / "make_corpus.py"


@dataclass
class Candidate:
    passage_id: str
    lexical: float
    meaning: float | None
    core: bool
    may_answer: bool


def record(seeds: Path, questions: list[dict]) -> list[tuple[dict, list[Candidate]]]:
    library, _ = load_library(load_settings({"SEEDS_DIR": str(seeds)}, env_file=None))
    matcher = library.matcher
    real_blend = matching.blend
    seen: list[tuple[str, float, float | None, bool]] = []

    def spy(coverage, question_text, content, passage, meaning=None, config=None):  # type: ignore[no-untyped-def]
        lexical = real_blend(coverage, question_text, content, passage, config=config)
        if passage.number == 0:
            lexical /= CORE_VIEWPOINT_FACTOR
        seen.append((passage.id, lexical, meaning, passage.number == 0))
        return real_blend(coverage, question_text, content, passage, meaning, config)

    matching.blend = spy
    out = []
    try:
        for question in questions:
            seen.clear()
            reading = matcher._read(question["question"])
            query = matcher._query_terms(reading)
            matcher._rank(reading, query, None, matcher.config.rerank_candidates, None)
            candidates = []
            for passage_id, lexical, meaning, core in seen:
                scored = ScoredPassage(library.passage(passage_id).passage, 1.0)  # type: ignore[union-attr]
                may = matcher._mentions_names(scored, query, reading) and (
                    matching._has_the_fact_asked(question["question"], scored.passage)
                )
                candidates.append(Candidate(passage_id, lexical, meaning, core, may))
            out.append((question, candidates))
    finally:
        matching.blend = real_blend
    return out


MODE = "blend"


def final(c: Candidate, weight: float, floor: float, ceiling: float) -> float:
    score = c.lexical
    if c.meaning is not None and weight:
        closeness = min(max((c.meaning - floor) / (ceiling - floor), 0.0), 1.0)
        mixed = (1 - weight) * score + weight * closeness
        score = max(score, mixed) if MODE == "raise" else mixed
    if c.core:
        score *= CORE_VIEWPOINT_FACTOR
    return min(score, 1.0)


def main() -> None:
    rows = [json.loads(line) for line in (ROOT / "tests/data/eval_questions.jsonl").open()]
    seed_tune = [r for r in rows if r["split"] == "tune"]
    rows = [json.loads(line) for line in (ROOT / "tests/data/eval_multi.jsonl").open()]
    multi_tune = [r for r in rows if r["split"] == "tune5"]
    recorded = record(ROOT / "seeds", seed_tune)
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder)
        subprocess.run(
            [sys.executable, str(MAKE_CORPUS), str(corpus), "--articles", "200", "--seed", "1"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for source in (ROOT / "seeds", ROOT / "tests/data/articles"):
            for path in source.iterdir():
                shutil.copy(path, corpus / path.name)
        recorded += record(corpus, multi_tune)
    global MODE
    if "--raise" in sys.argv:
        MODE = "raise"
    if "--breakdown" in sys.argv:
        for setting in ((0.0, 0.2, 0.8), (0.3, 0.2, 0.8), (0.5, 0.2, 0.8), (0.7, 0.2, 0.8)):
            breakdown(recorded, *setting)
        return
    answerable = sum(q["expected"] is not None for q, _ in recorded)
    off_topic = len(recorded) - answerable
    print(f"{len(recorded)} tune questions: {answerable} answerable, {off_topic} off-topic")
    print("| weight | floor | ceiling | bar | right | first | wrong | off-topic answered |")
    print("|---|---|---|---|---|---|---|---|")
    results = []
    for weight, floor, ceiling in itertools.product(
        (0.0, 0.5, 0.6, 0.7), (0.1, 0.2, 0.3, 0.4), (0.7, 0.8, 0.9)
    ):
        ranked = []
        for question, candidates in recorded:
            best = max(
                candidates,
                key=lambda c: final(c, weight, floor, ceiling),
                default=None,
            )
            ranked.append((question, best, final(best, weight, floor, ceiling) if best else 0))
        for bar in (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9):
            right = wrong = off = first = 0
            for question, best, score in ranked:
                expected = question["expected"]
                first += best is not None and best.passage_id == expected
                if best is None or score < bar or not best.may_answer:
                    continue
                if expected is None:
                    off += 1
                elif best.passage_id == expected:
                    right += 1
                else:
                    wrong += 1
            results.append((right, -wrong, -off, weight, floor, ceiling, bar, first))
    for right, wrong, off, weight, floor, ceiling, bar, first in sorted(results, reverse=True):
        if -off <= 0.02 * off_topic + 1 and -wrong <= 0.03 * answerable + 1:
            print(
                f"| {weight} | {floor} | {ceiling} | {bar} | {right}/{answerable} | "
                f"{first}/{answerable} | {-wrong} | {-off}/{off_topic} |"
            )


def breakdown(
    recorded: list[tuple[dict, list[Candidate]]], weight: float, floor: float, ceiling: float
) -> None:
    """Right passage first by language and kind, for one setting."""
    from collections import Counter

    total: Counter[str] = Counter()
    first: Counter[str] = Counter()
    for question, candidates in recorded:
        if question["expected"] is None:
            continue
        best = max(candidates, key=lambda c: final(c, weight, floor, ceiling), default=None)
        for key in (question["lang"], question["kind"], question["split"]):
            total[key] += 1
            first[key] += best is not None and best.passage_id == question["expected"]
    print(weight, floor, ceiling, {k: f"{first[k]}/{total[k]}" for k in sorted(total)})


if __name__ == "__main__":
    main()
