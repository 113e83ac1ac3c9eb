"""Static sentence embeddings: the mean of word-piece vectors distilled from all-MiniLM-L6-v2.

`bot/data/embeddings.npz` (tools/build_embeddings.py) holds one int8 row and a float32 scale
per WordPiece token. A text is split the way BERT's uncased tokenizer splits it (BasicTokenizer,
then greedy longest-match WordPiece), and its vector is the mean of its pieces' rows,
L2-normalised, so a dot product of two vectors is their cosine. numpy only: no torch, no
tokenizers, no network.
"""

from __future__ import annotations

import json
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "embeddings.npz"
CONTINUATION = "##"
# BERT's WordPiece gives up on longer words ([UNK]); they are noise here too.
MAX_WORD_CHARS = 100


def _is_cjk(code: int) -> bool:
    """The CJK ideograph blocks BERT puts spaces around (not Hangul, kana)."""
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


def _is_punctuation(char: str) -> bool:
    """BERT's punctuation: every ASCII non-alphanumeric symbol, and Unicode's P* categories."""
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _clean(text: str) -> str:
    """Control characters dropped, whitespace made spaces, CJK ideographs spaced apart."""
    out = []
    for char in text:
        code = ord(char)
        category = unicodedata.category(char)
        if char in " \t\n\r" or category == "Zs":
            out.append(" ")
        elif code in (0, 0xFFFD) or category in ("Cc", "Cf"):
            continue
        elif _is_cjk(code):
            out.append(f" {char} ")
        else:
            out.append(char)
    return "".join(out)


def _strip_accents(word: str) -> str:
    """NFD, then the combining marks (Mn) dropped: "café" -> "cafe"."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


def _split_punctuation(word: str) -> list[str]:
    """Each punctuation character its own token: "don't" -> ["don", "'", "t"]."""
    pieces: list[str] = []
    current = ""
    for char in word:
        if _is_punctuation(char):
            if current:
                pieces.append(current)
            pieces.append(char)
            current = ""
        else:
            current += char
    if current:
        pieces.append(current)
    return pieces


def basic_tokens(text: str) -> list[str]:
    """BERT's BasicTokenizer, uncased: lower-case, strip accents, split on space and punctuation."""
    tokens: list[str] = []
    for word in _clean(text).split():
        tokens.extend(_split_punctuation(_strip_accents(word.lower())))
    return tokens


class WordPiece:
    """Greedy longest-match-first WordPiece over a vocabulary of pieces ("##" continues a word)."""

    def __init__(self, vocab: dict[str, int]) -> None:
        self.vocab = vocab
        # A cache per instance: questions repeat their words, and a word's pieces never change.
        self.pieces = lru_cache(maxsize=65536)(self._pieces)

    def _pieces(self, word: str) -> tuple[int, ...]:
        """The word's piece ids, or () when it cannot be spelt from the vocabulary ([UNK])."""
        if len(word) > MAX_WORD_CHARS:
            return ()
        ids = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else CONTINUATION + word[start:end]
                found = self.vocab.get(piece)
                if found is not None:
                    ids.append(found)
                    break
                end -= 1
            else:
                return ()  # BERT turns the whole word into [UNK], which is dropped
            start = end
        return tuple(ids)

    def ids(self, text: str) -> list[int]:
        """The ids of the text's pieces, unknown words left out."""
        out: list[int] = []
        for token in basic_tokens(text):
            out.extend(self.pieces(token))
        return out

    def tokens(self, text: str, names: list[str]) -> list[str]:
        """The pieces as strings (`names` is the id -> piece list), for tests and debugging."""
        return [names[i] for i in self.ids(text)]


class StaticEmbedder:
    """Text -> unit vector, the mean of its word pieces' distilled rows."""

    def __init__(self, vectors: np.ndarray, scales: np.ndarray, vocab: list[str], meta: dict):
        if vectors.shape[0] != len(vocab) or scales.shape[0] != len(vocab):
            raise ValueError("embeddings: vectors, scales and vocab disagree in length")
        self.vectors = vectors
        self.scales = scales
        self.vocab = vocab
        self.meta = meta
        self.wordpiece = WordPiece({token: i for i, token in enumerate(vocab)})

    @property
    def dims(self) -> int:
        """The vectors' length."""
        return int(self.vectors.shape[1])

    @classmethod
    def load(cls, path: Path | str = DATA) -> StaticEmbedder:
        """Read a bundle written by tools/build_embeddings.py (no pickles are loaded)."""
        with np.load(path, allow_pickle=False) as data:
            vectors = data["vectors"]
            scales = data["scales"]
            vocab = data["vocab"].tobytes().decode("utf-8").split("\n")
            meta = json.loads(data["meta"].tobytes().decode("utf-8"))
        return cls(vectors, scales, vocab, meta)

    def tokens(self, text: str) -> list[str]:
        """The word pieces the text is embedded from."""
        return self.wordpiece.tokens(text, self.vocab)

    def embed(self, text: str) -> np.ndarray:
        """The text's unit vector (float32); all zeros when no word piece is known."""
        ids = self.wordpiece.ids(text)
        if not ids:
            return np.zeros(self.dims, dtype=np.float32)
        rows = self.vectors[ids].astype(np.float32) * self.scales[ids, None]
        mean = rows.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        return mean / norm if norm > 0 else np.zeros(self.dims, dtype=np.float32)

    def embed_many(self, texts: list[str]) -> np.ndarray:
        """One unit row per text (zero rows for texts without a known piece), float32."""
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self.embed(text)
        return out


@cache
def default_embedder() -> StaticEmbedder:
    """The bundled embedder, read once on first use."""
    return StaticEmbedder.load(DATA)
