"""Every blind round at once: the held-out figures of rounds 5 on, by language.

    .venv/bin/python benchmarks/eval_rounds.py                 # 200 distractors, ~1 minute
    .venv/bin/python benchmarks/eval_rounds.py --articles 0

Each round is measured as `eval_multi.py --round N` measures it (round 5: `eval_multi.py`'s
held-out split): the seed, `tests/data/articles/`, the digests of rounds 6..N and N synthetic
distractors, with the round's held-out questions. Beside the issue's figures (answered
right, right passage first, wrong answers, off-topic answered) it prints how far the
ranking itself goes: the right passage among the first three (a perfect decision over
three suggestions), and the right article first.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import eval_multi  # noqa: E402
from benchmarks.evaluation import EvalQuestion, Tally, evaluate, load_questions  # noqa: E402

ROUNDS = (5, *eval_multi.BLIND_ROUNDS)
LANGUAGES = {"all": None, "English": "en", "Chinese": "zh"}


def round_questions(number: int) -> tuple[list[EvalQuestion], tuple[Path, ...]]:
    """A round's held-out questions, and the article folders beyond the first four."""
    if number == 5:
        questions = load_questions(eval_multi.DATA / "eval_multi.jsonl")
        return [q for q in questions if q.split == "heldout5"], ()
    path, folders = eval_multi.round_data(number)
    return [q for q in load_questions(path) if q.split.startswith("heldout")], folders


def in_language(lang: str | None) -> Callable[[EvalQuestion], bool]:
    """The questions in this language (None: every question)."""
    return lambda q: lang is None or q.lang == lang


def measure(number: int, distractors: int) -> dict[str, Tally]:
    """One round's tallies, by language."""
    questions, extra = round_questions(number)
    subsets = {name: in_language(lang) for name, lang in LANGUAGES.items()}
    with tempfile.TemporaryDirectory() as folder:
        seeds_dir = eval_multi.corpus(Path(folder) / "corpus", distractors, extra)
        return evaluate(eval_multi.ours(seeds_dir), questions, subsets)


def cell(t: Tally) -> str:
    """right/answerable · first · wrong · off-topic answered/off-topic · top three · article."""
    return (
        f"{t.answered_right}/{t.answerable} · {t.ranked_first} · {t.answered_wrong} · "
        f"{t.off_topic_answered}/{t.off_topic} · {t.in_first_three} · {t.article_first}"
    )


def share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=200, help="synthetic distractors")
    parser.add_argument("--rounds", type=int, nargs="*", choices=ROUNDS, default=list(ROUNDS))
    args = parser.parse_args()
    print(
        f"Held-out questions, {args.articles:,} distractors. Each cell: answered right / "
        "answerable · right passage first · wrong answers · off-topic answered / off-topic · "
        "right passage among the first three · right article first\n"
    )
    print("| round | " + " | ".join(LANGUAGES) + " |")
    print("|---|" + "---|" * len(LANGUAGES))
    totals = {name: Tally() for name in LANGUAGES}
    for number in args.rounds:
        tallies = measure(number, args.articles)
        print(f"| {number} | " + " | ".join(cell(tallies[name]) for name in LANGUAGES) + " |")
        for name, tally in tallies.items():
            for field, value in vars(tally).items():
                setattr(totals[name], field, getattr(totals[name], field) + value)
    print("| **all** | " + " | ".join(cell(totals[name]) for name in LANGUAGES) + " |")
    print()
    for name, t in totals.items():
        print(
            f"{name}: answered right {share(t.answered_right, t.answerable)}, right first "
            f"{share(t.ranked_first, t.answerable)}, wrong {share(t.answered_wrong, t.answerable)}"
            f", off-topic answered {share(t.off_topic_answered, t.off_topic)}, right among the "
            f"first three {share(t.in_first_three, t.answerable)}, right article first "
            f"{share(t.article_first, t.answerable)}"
        )


if __name__ == "__main__":
    main()
