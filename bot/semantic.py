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


def tokens(text: str) -> list[str]:
    """BERT's basic tokens of a text; a fast path for ASCII, the full tokenizer otherwise."""
    if text.isascii():
        return _ASCII_TOKEN_RE.findall(text.lower())
    return basic_tokens(text)


class SemanticIndex:
    """Unit vectors of the passages' texts; `similarities` of a question to all of them."""

    def __init__(self, texts: Sequence[str], embedder: StaticEmbedder | None = None) -> None:
        self.embedder = embedder or default_embedder()
        self.vectors = self._embed_all(texts)

    def _embed_all(self, texts: Sequence[str]) -> np.ndarray:
        embedder = self.embedder
        word_index: dict[str, int] = {}
        word_sums: list[np.ndarray] = []
        zero = np.zeros(embedder.dims, dtype=np.float32)
        passage_words: list[list[int]] = []
        for text in texts:
            found = []
            for token in tokens(text):
                index = word_index.get(token)
                if index is None:
                    pieces = list(embedder.wordpiece.pieces(token))
                    index = len(word_sums)
                    word_index[token] = index
                    word_sums.append(
                        (
                            embedder.vectors[pieces].astype(np.float32)
                            * embedder.scales[pieces, None]
                        ).sum(axis=0)
                        if pieces
                        else zero
                    )
                found.append(index)
            passage_words.append(found)
        table = np.vstack(word_sums) if word_sums else np.zeros((0, embedder.dims), np.float32)
        vectors = np.zeros((len(texts), embedder.dims), dtype=np.float32)
        for start in range(0, len(texts), CHUNK):
            chunk = passage_words[start : start + CHUNK]
            lengths = np.array([len(words) for words in chunk])
            flat = np.fromiter((i for words in chunk for i in words), dtype=np.int64)
            if not len(flat):
                continue
            rows = np.flatnonzero(lengths)  # passages with at least one word
            offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))[rows]
            vectors[start + rows] = np.add.reduceat(table[flat], offsets, axis=0)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        return vectors

    def embed(self, text: str) -> np.ndarray:
        """A question's unit vector (zeros when none of its words is known)."""
        return self.embedder.embed(text)

    def similarities(self, question_vector: np.ndarray) -> np.ndarray:
        """The cosine of the question with every passage."""
        return self.vectors @ question_vector
