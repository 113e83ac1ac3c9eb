"""Answer quality beyond the seed: four real-style articles, blind questions, distractors.

    .venv/bin/pip install -e '.[dev,bench]'
    .venv/bin/python benchmarks/eval_multi.py                      # 0, 200 and 1,000 distractors
    .venv/bin/python benchmarks/eval_multi.py --articles 200 --previous 7ab4162
    .venv/bin/python benchmarks/eval_multi.py --json               # one method's tallies as JSON

Articles: the seed (`seeds/`) and the digests in `tests/data/articles/` (smartphones, a bank's
AI spending, food delivery), plus N synthetic distractors (`../shared/tools/make_corpus.py`);
an answer from a distractor counts as wrong. Questions: `tests/data/eval_multi.jsonl`,
written blind (by someone who never saw the matcher, before the changes they measure);
split `tune5` (may be looked at while designing) and `heldout5` (never tuned on).

Methods, in one run over the same passages: ours (`Library.ask`, bundled glossary, default
thresholds), the previous matcher (`--previous COMMIT`: that commit's `bot/` in a
subprocess), rapidfuzz WRatio and rank_bm25, each baseline answering above its best cut
(the lowest score that answers no *tune* off-topic question).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.evaluation import (  # noqa: E402
    EvalQuestion,
    Method,
    Tally,
    evaluate,
    library_method,
    load_questions,
)
from bot.config import load_settings  # noqa: E402
from bot.library import load_library, matcher_config  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "eval_multi.jsonl"
ARTICLES = ROOT / "tests" / "data" / "articles"
MAKE_CORPUS = ROOT.parent / "shared" / "tools" / "make_corpus.py"
DATA = ROOT / "tests" / "data"
# The blind rounds written so far (tests/data/eval_roundN.jsonl), 6 on.
BLIND_ROUNDS = tuple(
    sorted(int(path.stem.removeprefix("eval_round")) for path in DATA.glob("eval_round*.jsonl"))
)


def round_data(number: int) -> tuple[Path, tuple[Path, ...]]:
    """A blind round's questions, and its digests' folders with those of the rounds before
    it (tests/data/articles_round6 ... articles_roundN)."""
    folders = tuple(DATA / f"articles_round{n}" for n in range(6, number + 1))
    return DATA / f"eval_round{number}.jsonl", folders


SUBSETS: dict[str, Callable[[EvalQuestion], bool]] = {
    "all": lambda q: True,
    "all, English": lambda q: q.lang == "en",
    "all, Chinese": lambda q: q.lang == "zh",
    "tune": lambda q: q.split == "tune5",
    "tune, English": lambda q: q.split == "tune5" and q.lang == "en",
    "tune, Chinese": lambda q: q.split == "tune5" and q.lang == "zh",
    "held-out": lambda q: q.split.startswith("heldout"),
    "held-out, English": lambda q: q.split.startswith("heldout") and q.lang == "en",
    "held-out, Chinese": lambda q: q.split.startswith("heldout") and q.lang == "zh",
    "the seed's questions": lambda q: (q.expected or "").startswith("000_"),
    "other articles' questions": lambda q: (
        q.expected is not None and not q.expected.startswith("000_")
    ),
    **{
        f"kind {kind}": (lambda k: lambda q: q.kind == k)(kind)
        for kind in ("paraphrase", "keyword", "typo", "alias", "chinese", "offtopic")
    },
}


def corpus(folder: Path, distractors: int, extra: tuple[Path, ...] = ()) -> Path:
    """The seed, the new digests, the `extra` folders' digests and `distractors` synthetic
    articles in `folder`."""
    if distractors:
        subprocess.run(
            [sys.executable, str(MAKE_CORPUS), str(folder), "--articles", str(distractors),
             "--seed", "1"],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    for source in (ROOT / "seeds", ARTICLES, *extra):
        for path in source.iterdir():
            if path.is_file() and not path.name.startswith("README"):
                (folder / path.name).write_bytes(path.read_bytes())
    return folder


def ours(seeds_dir: Path, changes: dict[str, object] | None = None) -> Method:
    """The bot's matcher over these articles (its MatcherConfig with `changes`), as
    benchmarks/evaluation.py scores any method."""
    settings = load_settings({"SEEDS_DIR": str(seeds_dir)}, env_file=None)
    config = replace(matcher_config(settings), **(changes or {}))
    library, _ = load_library(settings, config=config)
    return library_method(library)


def previous(commit: str, seeds_dir: Path, questions: list[EvalQuestion]) -> dict[str, Tally]:
    """The matcher of `commit`, run in a subprocess over the same articles and questions."""
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, "bot"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        script = (
            "import json, sys\n"
            # The editable install's finder would import this checkout's bot/ instead.
            "sys.meta_path = [f for f in sys.meta_path if 'editable' not in repr(f)]\n"
            f"sys.path.insert(0, {folder!r})\n"
            "from pathlib import Path\n"
            "from bot.config import load_settings\n"
            "from bot.library import load_library\n"
            "library, _ = load_library(load_settings({'SEEDS_DIR': sys.argv[1]}, env_file=None))\n"
            "for line in sys.stdin:\n"
            "    q = json.loads(line)\n"
            "    a = library.ask(q)\n"
            "    m = a.matches or library.matcher.search(q)\n"
            "    print(json.dumps([a.outcome.value, [x.passage.id for x in m]]), flush=True)\n"
        )
        environment = {"PATH": os.defpath, "PYTHONPATH": folder, "HOME": folder}
        result = subprocess.run(
            [sys.executable, "-c", script, str(seeds_dir)],
            input="".join(json.dumps(q.question) + "\n" for q in questions),
            capture_output=True,
            text=True,
            env=environment,
            check=True,
        )
    answers = iter(json.loads(line) for line in result.stdout.splitlines())
    return evaluate(lambda _question: tuple(next(answers)), questions, SUBSETS)  # type: ignore[arg-type, return-value]


def baselines(
    seeds_dir: Path, questions: list[EvalQuestion]
) -> dict[str, Callable[[str], tuple[str, list[str]]]]:
    """WRatio and BM25, each answering above its best cut on the tune off-topic questions."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from eval_matching import bm25_top, calibrated, wratio_top

    settings = load_settings({"SEEDS_DIR": str(seeds_dir)}, env_file=None)
    library, _ = load_library(settings)
    # The cut is always calibrated on the tune split's off-topic questions, never held out.
    tune = load_questions(ROOT / "tests" / "data" / "eval_multi.jsonl")
    tune_off = [q.question for q in tune if q.split == "tune5" and q.expected is None]
    return {
        name: calibrated(top(library), tune_off)[0]
        for name, top in (("wratio", wratio_top), ("bm25", bm25_top))
    }


def print_table(label: str, results: dict[str, dict[str, Tally]], subsets: list[str]) -> None:
    print(f"\n## {label}\n")
    print(
        "| method | subset | answered right | right passage first | answered wrong "
        "| off-topic answered | off-topic suggested | core viewpoint over the right bullet |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for method, tallies in results.items():
        for name in subsets:
            t = tallies[name]
            right = f"{t.answered_right}/{t.answerable} ({100 * t.accuracy:.0f}%)"
            first = f"{t.ranked_first}/{t.answerable}" if t.answerable else "-"
            wrong = f"{t.answered_wrong}/{t.answerable}" if t.answerable else "-"
            print(
                f"| {method} | {name} | {right if t.answerable else '-'} | {first} | {wrong} "
                f"| {t.off_topic_answered}/{t.off_topic} | {t.off_topic_suggested}/{t.off_topic} "
                f"| {t.core_over_bullet if t.answerable else '-'} |"
            )


ABLATIONS: dict[str, dict[str, object]] = {
    # name: the MatcherConfig fields that switch the part off.
    "full matcher": {},
    "without meaning (static embeddings)": {"semantic_weight": 0.0},
    "without answering on a lead": {"answer_on_lead": False},
    "without the Chinese dictionary": {"chinese_dictionary": False},
    "without the Chinese headlines": {"headline_credit": 0.0},
    "without the name rule": {"names_must_appear": False},
    "without the fact rule (how much, when, age, founder...)": {"facts_must_appear": False},
    "without the thing asked (how many followers, whose revenue)": {
        "thing_asked_must_appear": False
    },
    "without the real-word guard on spelling": {"real_word_guard": False},
    "without typo correction": {"typo_correction": False},
}


def ablation(distractors: int, questions: list[EvalQuestion], extra: tuple[Path, ...]) -> None:
    """Each new part switched off in turn, over the same corpus and questions."""
    print(f"\n## What each part earns, {distractors:,} distractors\n")
    print(
        "| variant | tune: right / first / wrong / off-topic answered "
        "| held-out: right (en, zh) / first / wrong / off-topic answered |"
    )
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        seeds_dir = corpus(Path(folder) / "corpus", distractors, extra)
        for name, changes in ABLATIONS.items():
            t = evaluate(ours(seeds_dir, changes), questions, SUBSETS)
            tune, held = t["tune"], t["held-out"]
            en, zh = t["held-out, English"], t["held-out, Chinese"]
            print(
                f"| {name} | {tune.answered_right} / {tune.ranked_first} / "
                f"{tune.answered_wrong} / {tune.off_topic_answered} of {tune.answerable}, "
                f"{tune.off_topic} | {held.answered_right} ({en.answered_right}, "
                f"{zh.answered_right}) / {held.ranked_first} / {held.answered_wrong} / "
                f"{held.off_topic_answered} of {held.answerable}, {held.off_topic} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, nargs="*", default=[0, 200, 1000])
    parser.add_argument("--previous", help="a commit whose matcher to compare (e.g. 7ab4162)")
    parser.add_argument("--no-baselines", action="store_true", help="ours (and previous) only")
    parser.add_argument("--json", action="store_true", help="print ours' tallies as JSON")
    parser.add_argument("--subsets", nargs="*", help="subsets to print (default: all)")
    parser.add_argument("--ablation", action="store_true", help="each new part off in turn")
    parser.add_argument(
        "--round",
        type=int,
        choices=BLIND_ROUNDS,
        help="a blind round instead: tests/data/eval_roundN.jsonl, with its digests and those "
        "of the rounds before it (tests/data/articles_round6, articles_round7, ...)",
    )
    parser.add_argument("--round6", action="store_true", help="the same as --round 6")
    parser.add_argument(
        "--tune6",
        action="store_true",
        help="the tune6 questions instead (tests/data/eval_tune6.jsonl: 70 off-topic, 50 "
        "answerable, for tuning), over the digests of every round",
    )
    args = parser.parse_args()
    blind_round = 6 if args.round6 else (11 if args.tune6 else args.round)
    questions_path, extra = QUESTIONS, ()
    if blind_round:
        questions_path, extra = round_data(blind_round)
    if args.tune6:
        questions_path = DATA / "eval_tune6.jsonl"
    questions = load_questions(questions_path)
    subsets = args.subsets or list(SUBSETS)
    held = sum(q.split.startswith("heldout") for q in questions)
    print(f"# {len(questions)} questions ({held} held out) over the seed and {ARTICLES.name}/")
    if args.ablation:
        for distractors in args.articles:
            ablation(distractors, questions, extra)
        return
    for distractors in args.articles:
        with tempfile.TemporaryDirectory() as folder:
            seeds_dir = corpus(Path(folder) / "corpus", distractors, extra)
            started = time.perf_counter()
            results = {"ours": evaluate(ours(seeds_dir), questions, SUBSETS)}
            took = time.perf_counter() - started
            if args.previous:
                results[f"previous ({args.previous})"] = previous(
                    args.previous, seeds_dir, questions
                )
            if not args.no_baselines:
                for name, method in baselines(seeds_dir, questions).items():
                    results[name] = evaluate(method, questions, SUBSETS)
            if args.json:
                print(json.dumps({k: vars(v) for k, v in results["ours"].items()}, indent=1))
            print_table(
                f"With {distractors:,} distractors (ours: load + {len(questions)} questions in "
                f"{took:.1f} s)",
                results,
                subsets,
            )


if __name__ == "__main__":
    main()
