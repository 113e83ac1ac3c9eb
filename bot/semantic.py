"""Semantic similarity between a question and the passages, from the bundled static embeddings.

Readers paraphrase: "Is Tencent putting less money into AI?" shares one word with the
passage on Tencent's declining capital expenditure. The lexical score cannot see that;
the cosine of the two texts' static embeddings (`bot.embedding`: word-piece vectors
distilled from all-MiniLM-L6-v2) can. The matcher blends the two.

Indexing embeds every passage once. The embedder's tokenizer walks text character by
character, too slow for 70,000 passages, so passages are embedded here word by word: an
ASCII passage is split with one regex exactly as BERT's basic tokenizer would split it,
each distinct word's pieces are summed once, and a passage's vector is the (normalised)
sum of its words' sums, computed in chunks with numpy.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Sequence

import numpy as np

from bot.embedding import StaticEmbedder, basic_tokens, default_embedder

# BERT's basic tokenizer on lower-cased ASCII: runs of letters and digits, and each other
# non-space character alone (ASCII punctuation is all "punctuation" to BERT).
_ASCII_TOKEN_RE = re.compile(r"[a-z0-9]+|[^a-z0-9\s]")
CHUNK = 512  # passages per numpy gather: bounds the temporary memory (~30 MB)
# The bundle's dimensions are principal components, strongest first. All 256 are used:
# the first 128 alone halve the memory and the time of a question's similarity to every
# passage (2.3 ms instead of 7.9 ms over 70,000 passages) but cost 3 to 6 right answers of
# 250 on the tune questions (benchmarks/tune_hybrid.py); `dims` keeps the choice open.
DIMS = 256
# The shortlist pass reads the first 64 dimensions (a quarter of the bytes) and keeps ten
# times the passages asked for; the exact cosines then pick among them.
COARSE_DIMS = 64
SHORTLIST_FACTOR = 10


def tokens(text: str) -> list[str]:
    """BERT's basic tokens of a text; a fast path for ASCII, the full tokenizer otherwise."""
    if text.isascii():
        return _ASCII_TOKEN_RE.findall(text.lower())
    return basic_tokens(text)


class SemanticIndex:
    """The passages' meanings, and a question's nearest passages and cosines.

    Each passage's unit vector is kept twice: its first COARSE_DIMS dimensions in float32,
    contiguous, which one pass over every passage reads cheaply to shortlist the nearest,
    and all dimensions in float16, read only for the shortlist and the lexical candidates.
    A full float32 pass over 70,000 passages was 7.9 ms a question and 72 MB; this is about
    1 ms and 54 MB, with the same passages found (a cosine in float16 is off by < 0.001).
    """

    def __init__(
        self, texts: Sequence[str], embedder: StaticEmbedder | None = None, dims: int = DIMS
    ) -> None:
        self.embedder = embedder or default_embedder()
        self.dims = min(dims, self.embedder.dims)
        self.coarse_dims = min(COARSE_DIMS, self.dims)
        self.coarse, self.vectors = self._embed_all(texts)

    def __len__(self) -> int:
        return len(self.vectors)

    def _embed_all(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        embedder, dims = self.embedder, self.dims
        word_index: dict[str, int] = {}
        word_pieces: list[tuple[int, ...]] = []
        # Every passage's word indices in one flat int32 array (Python lists of ints took
        # 120 MB at 70,000 passages), with each passage's length.
        flat, lengths = array("i"), array("i")
        for text in texts:
            found = tokens(text)
            for token in found:
                index = word_index.get(token)
                if index is None:
                    index = word_index[token] = len(word_pieces)
                    word_pieces.append(embedder.wordpiece.pieces(token))
                flat.append(index)
            lengths.append(len(found))
        # Each distinct word's pieces summed once (dequantised rows, the first `dims`), of
        # the pieces these texts use only: all 30,000 rows took ~20 ms, most of indexing a
        # small corpus.
        piece_lengths = array("i", map(len, word_pieces))
        pieces = np.frombuffer(array("i", (i for word in word_pieces for i in word)), np.int32)
        used, local = np.unique(pieces, return_inverse=True)
        rows = embedder.vectors[used, :dims].astype(np.float32) * embedder.scales[used, None]
        table = _sums(rows, local, np.frombuffer(piece_lengths, np.int32))
        del rows, word_pieces, word_index
        words, counts = np.frombuffer(flat, np.int32), np.frombuffer(lengths, np.int32)
        starts = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
        coarse = np.zeros((len(texts), self.coarse_dims), dtype=np.float32)
        vectors = np.zeros((len(texts), dims), dtype=np.float16)
        # Chunk by chunk, so no float32 copy of the whole matrix ever exists.
        for first in range(0, len(texts), CHUNK):
            last = min(first + CHUNK, len(texts))
            chunk = _sums(table, words[starts[first] : starts[last]], counts[first:last])
            norms = np.linalg.norm(chunk, axis=1, keepdims=True)
            np.divide(chunk, norms, out=chunk, where=norms > 0)
            coarse[first:last] = chunk[:, : self.coarse_dims]
            vectors[first:last] = chunk
        return coarse, vectors

    def embed(self, text: str) -> np.ndarray:
        """A question's unit vector (zeros when none of its words is known): the mean of
        its word pieces' rows, as `StaticEmbedder.embed`, with the fast tokenizer."""
        embedder = self.embedder
        ids = [i for token in tokens(text) for i in embedder.wordpiece.pieces(token)]
        if not ids:
            return np.zeros(self.dims, dtype=np.float32)
        rows = embedder.vectors[ids, : self.dims].astype(np.float32)
        vector = (rows * embedder.scales[ids, None]).sum(axis=0)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    def nearest(
        self, question: np.ndarray, count: int, first: int = 0, end: int = -1
    ) -> np.ndarray:
        """The indices of the `count` passages (of first..end) nearest the question."""
        end = len(self) if end < 0 else end
        rough = self.coarse[first:end] @ question[: self.coarse_dims]
        shortlist = first + top_indices(rough, max(count * SHORTLIST_FACTOR, count))
        exact = self.cosines(question, shortlist)
        return shortlist[top_indices(exact, count)]

    def cosines(self, question: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """The question's cosine with each of these passages."""
        return self.vectors[indices].astype(np.float32) @ question


def top_indices(values: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` largest values (unordered), without sorting them all."""
    if len(values) <= count:
        return np.arange(len(values))
    return np.argpartition(-values, count - 1, kind="introselect")[:count]


def _sums(table: np.ndarray, flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Consecutive groups of `flat` (of these lengths) as the sums of those rows of
    `table`; an empty group sums to zeros.

    Groups are sorted by length and summed one position at a time: the j-th rows of every
    group at least j + 1 long are one gather and one contiguous add. `np.add.reduceat`
    over the gathered rows gave the same sums seven times slower (half of indexing 10,000
    articles).
    """
    out = np.zeros((len(lengths), table.shape[1]), dtype=np.float32)
    if not len(flat):
        return out
    order = np.argsort(lengths, kind="stable")
    sorted_lengths = lengths[order]
    starts = np.concatenate(([0], np.cumsum(lengths, dtype=np.int64)[:-1]))[order]
    sums = np.zeros_like(out)
    for position in range(int(sorted_lengths[-1])):
        # The groups longer than `position` are a suffix of the sorted order.
        first = int(np.searchsorted(sorted_lengths, position, side="right"))
        sums[first:] += table[flat[starts[first:] + position]]
    out[order] = sums
    return out
