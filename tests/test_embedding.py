"""bot/embedding.py: BERT's uncased tokenizer in numpy, and the distilled static embeddings."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from bot.embedding import DATA, StaticEmbedder, WordPiece, basic_tokens, default_embedder
from tests.conftest import ROOT, hermetic_environment


def load_tool(name: str) -> ModuleType:
    """A script of tools/ as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def embedder() -> StaticEmbedder:
    return default_embedder()


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Hello, World!", ["hello", ",", "world", "!"]),
        ("don't stop", ["don", "'", "t", "stop"]),
        ("e-mail: a@b.com", ["e", "-", "mail", ":", "a", "@", "b", ".", "com"]),
        ("Café NAÏVE résumé", ["cafe", "naive", "resume"]),  # accents stripped
        ("中文abc混合", ["中", "文", "abc", "混", "合"]),  # each CJK character a token
        ("tab\tnew\nline  ", ["tab", "new", "line"]),
        ("zero\u200bwidth\x00", ["zerowidth"]),  # format and control characters dropped
        ("¿Qué?", ["¿", "que", "?"]),  # Unicode punctuation splits too
        ("", []),
    ],
)
def test_basic_tokens(text: str, tokens: list[str]) -> None:
    assert basic_tokens(text) == tokens


def test_wordpiece_is_greedy_longest_match_first() -> None:
    vocab = {name: i for i, name in enumerate(["un", "unaff", "##aff", "##able", "##a", "play"])}
    names = list(vocab)
    wordpiece = WordPiece(vocab)
    # "unaff" is longer than "un", so it wins; the rest continues with ##pieces.
    assert wordpiece.tokens("unaffable", names) == ["unaff", "##able"]
    assert wordpiece.tokens("Play", names) == ["play"]
    # A word that cannot be spelt entirely is [UNK] as a whole, and [UNK] is dropped.
    assert wordpiece.tokens("playz unaffable xyz", names) == ["unaff", "##able"]
    assert wordpiece.ids("x" * 101) == []


def test_real_vocabulary_pieces(embedder: StaticEmbedder) -> None:
    assert embedder.tokens("unaffable") == ["una", "##ffa", "##ble"]
    assert embedder.tokens("Revenues grew") == ["revenues", "grew"]
    # 云 is not in BERT's vocabulary: unknown, dropped; 阿 and 里 are.
    assert embedder.tokens("阿里云") == ["阿", "里"]
    assert embedder.tokens("[UNK] [CLS]") == ["[", "un", "##k", "]", "[", "cl", "##s", "]"]


def test_bundle_contents(embedder: StaticEmbedder) -> None:
    assert embedder.dims == 256
    assert embedder.vectors.dtype == np.int8 and embedder.scales.dtype == np.float32
    assert embedder.vectors.shape == (len(embedder.vocab), 256)
    assert 29_000 < len(embedder.vocab) < 30_522
    assert not [t for t in embedder.vocab if t.startswith("[unused") or t in ("[PAD]", "[CLS]")]
    assert embedder.meta["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert embedder.meta["model_sha256"].startswith("53aa5117")
    assert (DATA.parent / "MINILM_LICENSE.txt").is_file()


def test_embed_gives_unit_float32_vectors(embedder: StaticEmbedder) -> None:
    vector = embedder.embed("What was the company's revenue last year?")
    assert vector.dtype == np.float32 and vector.shape == (256,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("text", ["", "   ", "\x00", "云", "𠀀"])
def test_no_known_piece_gives_the_zero_vector(embedder: StaticEmbedder, text: str) -> None:
    vector = embedder.embed(text)
    assert vector.shape == (256,) and not vector.any()


def test_embedding_is_deterministic(embedder: StaticEmbedder) -> None:
    texts = ["The price of oil went up.", "", "Who runs the company?"]
    again = StaticEmbedder.load(DATA)
    many = embedder.embed_many(texts)
    assert many.shape == (3, 256) and many.dtype == np.float32
    for row, text in zip(many, texts, strict=True):
        assert np.array_equal(row, embedder.embed(text))
        assert np.array_equal(row, again.embed(text))
    assert embedder.embed_many([]).shape == (0, 256)


# General English, about no article in particular: each paraphrase must score higher than
# the same first sentence beside an unrelated one.
PARAPHRASES = [
    ("How much money did the company make last year?",
     "What was the firm's revenue in the previous year?", "The cat is sleeping on the sofa."),
    ("A man is playing a guitar.", "Someone is playing an instrument.",
     "The central bank raised interest rates."),
    ("The weather is cold and rainy today.", "It is a chilly, wet day.",
     "She wrote a program in Python."),
    ("How many people work there?", "What is the number of employees?",
     "Volcanoes erupt molten rock."),
    ("The price of oil went up.", "Oil prices rose.", "My grandmother knits scarves."),
    ("Who is the chief executive?", "Who runs the company as CEO?",
     "Tomatoes need plenty of sunlight."),
    ("I bought a new car yesterday.", "Yesterday I purchased a new vehicle.",
     "The river flooded the valley."),
]  # fmt: skip


@pytest.mark.parametrize(("anchor", "paraphrase", "unrelated"), PARAPHRASES)
def test_paraphrases_score_higher_than_unrelated_sentences(
    embedder: StaticEmbedder, anchor: str, paraphrase: str, unrelated: str
) -> None:
    a, p, u = embedder.embed_many([anchor, paraphrase, unrelated])
    assert float(a @ p) > float(a @ u) + 0.2
    assert float(a @ p) > 0.4


def test_related_words_are_closer_than_unrelated(embedder: StaticEmbedder) -> None:
    def cosine(a: str, b: str) -> float:
        return float(embedder.embed(a) @ embedder.embed(b))

    assert cosine("revenue", "income") > cosine("revenue", "banana") + 0.2
    assert cosine("king", "queen") > cosine("king", "spreadsheet") + 0.2


def test_the_reader_needs_numpy_only() -> None:
    code = (
        "import sys, bot.embedding as e; e.default_embedder().embed('hello world'); "
        "print(sorted(m for m in ('torch', 'transformers', 'tokenizers', 'safetensors') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=hermetic_environment(),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout.strip() == "[]"


def test_build_helpers(tmp_path: Path) -> None:
    build = load_tool("build_embeddings")
    # erf: the Abramowitz-Stegun approximation is within 1.5e-7.
    x = np.linspace(-4, 4, 81)
    exact = np.array([math.erf(v) for v in x])
    assert np.abs(build.erf(x) - exact).max() < 2e-7
    # SIF: frequent (early) rows are damped most, weights rise with rank and stay below 1.
    weights = build.sif_weights(1000)
    assert np.all(np.diff(weights) > 0) and weights[-1] < 1
    # int8 quantisation: rows come back within half a step.
    rows = np.random.default_rng(0).normal(size=(5, 8))
    rows[2] = 0
    ints, scales = build.quantise(rows)
    assert np.abs(ints * scales[:, None] - rows).max() <= scales.max() / 2 + 1e-6
    # The zip is byte-identical when written twice, and numpy reads it.
    arrays = {"vectors": ints, "scales": scales, "meta": np.frombuffer(b"{}", dtype=np.uint8)}
    build.write_npz(tmp_path / "a.npz", arrays)
    build.write_npz(tmp_path / "b.npz", arrays)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz", allow_pickle=False) as data:
        assert np.array_equal(data["vectors"], ints)
        assert json.loads(data["meta"].tobytes()) == {}


def test_the_padding_mask_pools_a_padded_row_as_the_row_alone() -> None:
    """The masked forward pass (benchmarks/experiment_transformer.py batches texts of
    different lengths) gives a short text the vector it has on its own."""
    build = load_tool("build_embeddings")
    rng = np.random.default_rng(1)
    hidden, inner, vocab, positions = 24, 48, 10, 8  # 24 = 12 heads of 2

    def tensor(*shape: int) -> np.ndarray:
        return rng.normal(scale=0.5, size=shape).astype(np.float32)

    weights = {
        "embeddings.word_embeddings.weight": tensor(vocab, hidden),
        "embeddings.position_embeddings.weight": tensor(positions, hidden),
        "embeddings.token_type_embeddings.weight": tensor(2, hidden),
        "embeddings.LayerNorm.weight": np.ones(hidden, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(hidden, np.float32),
    }
    for i in range(build.LAYERS):
        p = f"encoder.layer.{i}"
        for name, (rows, cols) in {
            "attention.self.query": (hidden, hidden), "attention.self.key": (hidden, hidden),
            "attention.self.value": (hidden, hidden), "attention.output.dense": (hidden, hidden),
            "intermediate.dense": (inner, hidden), "output.dense": (hidden, inner),
        }.items():  # fmt: skip
            weights[f"{p}.{name}.weight"], weights[f"{p}.{name}.bias"] = (
                tensor(rows, cols),
                tensor(rows),
            )
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            weights[f"{p}.{norm}.weight"] = np.ones(hidden, np.float32)
            weights[f"{p}.{norm}.bias"] = np.zeros(hidden, np.float32)
    short, long = np.array([[1, 4, 2]]), np.array([[1, 5, 6, 7, 2]])
    alone = build.bert_mean_pooled(short, weights)[0]
    padded = np.array([[1, 4, 2, 0, 0], [1, 5, 6, 7, 2]])
    batch = build.bert_mean_pooled(padded, weights, np.array([3, 5]))
    assert np.allclose(batch[0], alone, atol=1e-5)
    assert np.allclose(batch[1], build.bert_mean_pooled(long, weights)[0], atol=1e-5)
    # Without the mask the pads would change the short text's vector.
    assert not np.allclose(build.bert_mean_pooled(padded, weights)[0], alone, atol=1e-3)


def test_build_refuses_other_weights(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"not the model")
    (tmp_path / "vocab.txt").write_text("[PAD]\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_embeddings.py"), str(tmp_path),
         "--output", str(tmp_path / "out.npz")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "refusing" in result.stderr
    assert not (tmp_path / "out.npz").exists()


def test_the_semantic_index_finds_the_nearest_passage_as_a_full_pass_would() -> None:
    import numpy as np

    from bot.embedding import basic_tokens
    from bot.semantic import SemanticIndex, tokens

    texts = [
        "The bank spent 28.5 billion yuan on financial technology in 2024.",
        "Phone makers are racing to put generative AI on their handsets.",
        "Food delivery platforms are burning cash on subsidies.",
        "Tencent reduced its capital expenditure on AI infrastructure.",
        "",
    ]
    index = SemanticIndex(texts * 40)  # more passages than the shortlist
    for text in texts[:4]:
        assert tokens(text) == basic_tokens(text)  # the fast path splits as BERT does
    question = index.embed("Is Tencent putting less money into AI these days?")
    full = index.vectors.astype(np.float32) @ question
    nearest = index.nearest(question, 5)
    assert full[nearest].max() == full.max()
    assert texts[int(nearest[np.argmax(full[nearest])]) % len(texts)].startswith("Tencent")
    assert not index.vectors[4].any()  # an empty passage has no meaning, not NaN


def test_a_passage_vector_is_its_pieces_rows_summed_and_normalised() -> None:
    # What the index computes in bulk, from only the rows its texts use, done plainly here
    # from the whole dequantised table: repeated and unknown words, Chinese, an empty text.
    from bot.semantic import SemanticIndex, tokens

    embedder = default_embedder()
    table = embedder.vectors.astype(np.float32) * embedder.scales[:, None]
    texts = [
        "Tencent reduced its capital expenditure on AI infrastructure, AI and AI.",
        "全球 AI 中国科技巨头 qzxwvkj",
        "",
    ]
    index = SemanticIndex(texts)
    for text, vector in zip(texts, index.vectors, strict=True):
        pieces = [i for token in tokens(text) for i in embedder.wordpiece.pieces(token)]
        expected = table[pieces].sum(axis=0)
        norm = np.linalg.norm(expected)
        expected = expected / norm if norm > 0 else expected
        assert np.allclose(vector.astype(np.float32), expected, atol=2e-3), text
    assert index.coarse.shape == (3, 64) and not index.vectors[2].any()


def test_group_sums_match_a_plain_loop_including_empty_groups() -> None:
    from bot.semantic import _sums

    rng = np.random.default_rng(7)
    table = rng.standard_normal((50, 8)).astype(np.float32)
    lengths = np.array([3, 0, 7, 1, 0, 12, 2], dtype=np.int32)
    flat = rng.integers(0, 50, int(lengths.sum())).astype(np.int32)
    expected = np.zeros((len(lengths), 8), dtype=np.float32)
    start = 0
    for group, length in enumerate(lengths):
        expected[group] = table[flat[start : start + length]].sum(axis=0)
        start += length
    assert np.allclose(_sums(table, flat, lengths), expected, atol=1e-5)
    assert not _sums(table, flat, lengths)[[1, 4]].any()
