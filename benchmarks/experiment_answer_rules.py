"""Experiment: would another rule for *answering* (not ranking) earn its place?

Measurement only; nothing in bot/ uses it.

    .venv/bin/python benchmarks/experiment_answer_rules.py            # seed, seed + 1k
    .venv/bin/python benchmarks/experiment_answer_rules.py --articles 0

The matcher ranks the right passage first far more often than it answers it (see the
"ranked first" column of `benchmarks/eval_matching.py`): most misses are *suggested* with
the right passage on top. This script tries rules that answer some of those suggestions
and counts, for each, what it adds over the bot's rule (answer from 0.65): questions
newly answered right, newly answered wrong, and off-topic questions newly answered.

Rules (all keep the bot's suggest bar and never answer below it):
- lead L: also answer a best passage scoring >= 0.55 when it leads the next one by >= L;
- evidence E: also answer a best passage scoring >= 0.5 whose matched question terms
  weigh >= E times the rarest term's IDF (it shares "E rare words" with the question,
  however many other words the question has).

Only the evaluation set's *tune* split is read (other rows are dropped as the file is
parsed): the held-out rounds stay untouched. An answer from a synthetic article is wrong.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import matching  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.library import load_library  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "eval_questions.jsonl"
MAKE_CORPUS = ROOT.parent / "shared" / "tools" / "make_corpus.py"


@dataclass(frozen=True)
class Seen:
    """What a rule may look at for one question: its best passage and how it scored."""

    expected: str | None
    lang: str
    best: str | None
    score: float
    lead: float  # the best score minus the next passage's
    evidence: float  # matched terms' weight, in units of the rarest term's IDF


Rule = Callable[[Seen], bool]  # True: answer (on top of the bot's own rule)

RULES: dict[str, Rule] = {
    **{f"lead {g}": (lambda s, g=g: s.score >= 0.55 and s.lead >= g) for g in (0.1, 0.15, 0.2)},
    **{f"evidence {e}": (lambda s, e=e: s.score >= 0.5 and s.evidence >= e) for e in (1.5, 2.0)},
}


def observe(matcher: matching.Matcher, question: str) -> tuple[str | None, float, float, float]:
    """The best passage, its score, its lead and its evidence (reads the matcher's insides)."""
    ranked = matcher.search(question, limit=2)
    if not ranked:
        return None, 0.0, 0.0, 0.0
    best = ranked[0]
    lead = best.score - (ranked[1].score if len(ranked) > 1 else 0.0)
    index = matcher.passages.index(best.passage)
    evidence = 0.0
    for term in matcher._query_terms(matcher._read(question)):
        if term.credit and index in matcher._postings[term.term]:
            evidence += term.weight * term.credit
        elif any(index in matcher._postings[s] for s in term.synonyms):
            evidence += term.weight * matcher.config.synonym_credit
    return best.passage.id, best.score, lead, evidence / matcher._max_idf


def run(seeds_dir: Path, label: str, rows: list[dict]) -> None:
    library, _ = load_library(load_settings({"SEEDS_DIR": str(seeds_dir)}, env_file=None))
    bar = library.matcher.answer_threshold
    seen = []
    for row in rows:
        answer = library.ask(row["question"])
        if answer.outcome.value != "suggested":
            continue  # answered or refused by the bot already: no rule here changes that
        best, score, lead, evidence = observe(library.matcher, row["question"])
        if score < bar:
            seen.append(Seen(row["expected"], row["lang"], best, score, lead, evidence))
    print(f"\n## {label}: {len(seen)} tune questions suggested, not answered\n")
    print("| rule | English: + right | + wrong | Chinese: + right | + wrong | off-topic answered |")
    print("|---|---|---|---|---|---|")
    for name, rule in RULES.items():
        added = [s for s in seen if rule(s)]

        def count(lang: str, right: bool, added: list[Seen] = added) -> int:
            return sum(
                s.expected is not None and s.lang == lang and (s.best == s.expected) == right
                for s in added
            )

        off = sum(s.expected is None for s in added)
        print(
            f"| {name} | {count('en', True)} | {count('en', False)} | {count('zh', True)} "
            f"| {count('zh', False)} | {off} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1000, help="synthetic articles (0: none)")
    args = parser.parse_args()
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    rows = [row for row in rows if row["split"] == "tune"]
    run(ROOT / "seeds", "The seed alone", rows)
    if args.articles:
        with tempfile.TemporaryDirectory() as folder:
            corpus = Path(folder)
            subprocess.run(
                [sys.executable, str(MAKE_CORPUS), str(corpus), "--articles", str(args.articles)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            for path in (ROOT / "seeds").iterdir():
                if path.is_file():
                    (corpus / path.name).write_bytes(path.read_bytes())
            run(corpus, f"The seed + {args.articles:,} synthetic articles", rows)


if __name__ == "__main__":
    main()
