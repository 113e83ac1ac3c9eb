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


def tokens(text: str) -> list[str]:
    """BERT's basic tokens of a text; a fast path for ASCII, the full tokenizer otherwise."""
    if text.isascii():
        return _ASCII_TOKEN_RE.findall(text.lower())
    return basic_tokens(text)


class SemanticIndex:
    """Unit vectors of the passages' texts; `similarities` of a question to all of them."""

    def __init__(
        self, texts: Sequence[str], embedder: StaticEmbedder | None = None, dims: int = DIMS
    ) -> None:
        self.embedder = embedder or default_embedder()
        self.dims = min(dims, self.embedder.dims)
        self.vectors = self._embed_all(texts)

    def _embed_all(self, texts: Sequence[str]) -> np.ndarray:
        embedder, dims = self.embedder, self.dims
        word_index: dict[str, int] = {}
        word_pieces: list[tuple[int, ...]] = []
        passage_words: list[list[int]] = []
        for text in texts:
            found = []
            for token in tokens(text):
                index = word_index.get(token)
                if index is None:
                    index = word_index[token] = len(word_pieces)
                    word_pieces.append(embedder.wordpiece.pieces(token))
                found.append(index)
            passage_words.append(found)
        # Each distinct word's pieces summed once (dequantised rows, the first `dims`).
        rows = embedder.vectors[:, :dims].astype(np.float32) * embedder.scales[:, None]
        table = _sums(rows, word_pieces, dims)
        vectors = np.zeros((len(texts), dims), dtype=np.float32)
        for start in range(0, len(texts), CHUNK):
            vectors[start : start + CHUNK] = _sums(
                table, passage_words[start : start + CHUNK], dims
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        return vectors

    def embed(self, text: str) -> np.ndarray:
        """A question's unit vector (zeros when none of its words is known)."""
        vector = self.embedder.embed(text)[: self.dims]
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    def similarities(self, question_vector: np.ndarray) -> np.ndarray:
        """The cosine of the question with every passage."""
        return self.vectors @ question_vector


def _sums(table: np.ndarray, groups: Sequence[Sequence[int]], dims: int) -> np.ndarray:
    """For each group of row indices, the sum of those rows of `table` (zeros if empty)."""
    out = np.zeros((len(groups), dims), dtype=np.float32)
    lengths = np.fromiter((len(g) for g in groups), dtype=np.int64, count=len(groups))
    flat = np.fromiter((i for g in groups for i in g), dtype=np.int64, count=int(lengths.sum()))
    if not len(flat):
        return out
    filled = np.flatnonzero(lengths)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))[filled]
    out[filled] = np.add.reduceat(table[flat], offsets, axis=0)
    return out
