"""Chinese questions: Traditional -> Simplified, word segmentation, English terms.

The passages are English, so a Chinese question is met through English words:
`english_terms` converts it to Simplified Chinese (OpenCC, t2s), segments it (jieba, by the
rjieba binding) and looks each word up in `bot/data/zh_en.tsv`, glosses from CC-CEDICT
(tools/build_zh_lexicon.py). Everything is loaded on first use and kept.

OpenCC and rjieba are wheels with no dependencies. Should either fail to import, this module
still works, worse: without OpenCC, Traditional characters are looked up as they are; without
rjieba, a run of Chinese is split greedily into the longest words the lexicon knows.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left
from collections.abc import Callable
from functools import cache
from pathlib import Path

from bot.text import (
    CHINESE_STOP_RE,
    CHINESE_STOPWORDS,
    CJK,
    CJK_RE,
    STOPWORDS,
    sorted_lines,
)

log = logging.getLogger(__name__)

LEXICON = Path(__file__).resolve().parent / "data" / "zh_en.tsv"
_RUN_RE = re.compile(f"[{CJK}]+|[A-Za-z0-9]+(?:[.\\-'][A-Za-z0-9]+)*")
_GLOSS_WORD_RE = re.compile(r"[a-z0-9]+(?:[.\-'][a-z0-9]+)*")
# Glosses taken from each character of a word the lexicon lacks.
CHAR_GLOSSES = 2
# The lexicon's longest headword (tools/build_zh_lexicon.py MAX_HEADWORD).
_LONGEST_WORD = 6


@cache
def _converter() -> Callable[[str], str] | None:
    """OpenCC's Traditional -> Simplified conversion, or None (with a warning) without OpenCC."""
    try:
        import opencc
    except ImportError as error:
        log.warning("opencc is not importable (%s): Traditional Chinese is not converted", error)
        return None
    return opencc.OpenCC("t2s").convert


@cache
def _cutter() -> Callable[[str], list[str]] | None:
    """rjieba's `cut`, or None (with a warning) without rjieba."""
    try:
        import rjieba
    except ImportError as error:
        log.warning("rjieba is not importable (%s): Chinese is split by the lexicon", error)
        return None
    return rjieba.cut


class Lexicon:
    """zh_en.tsv's lines, kept as UTF-8 bytes and looked up by bisection.

    The file is sorted by word, and UTF-8 bytes sort as the code points do, so no line is
    decoded until it is asked for: loading is a read and a split (a dict of the 90k entries
    took ~170 ms to build, decoded lines ~70 ms).
    """

    def __init__(self, data: bytes) -> None:
        # "word<TAB>glosses" lines sort as their words do: a tab sorts before any character.
        self.lines = sorted_lines(data)

    def __len__(self) -> int:
        return len(self.lines)

    def get(self, word: str) -> str | None:
        """The word's glosses as one "gloss; gloss" string, or None."""
        # surrogatepass: a lone surrogate (not valid text) is simply not found, never an error.
        key = word.encode("utf-8", "surrogatepass") + b"\t"
        i = bisect_left(self.lines, key)
        if i < len(self.lines) and self.lines[i].startswith(key):
            return self.lines[i][len(key) :].decode("utf-8")
        return None

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.get(word) is not None


@cache
def lexicon() -> Lexicon:
    """The Chinese-English lexicon, `bot/data/zh_en.tsv`."""
    return Lexicon(LEXICON.read_bytes())


def glosses(word: str) -> list[str]:
    """The lexicon's English glosses of a Simplified word ([] when it has none)."""
    found = lexicon().get(word)
    return found.split("; ") if found else []


def prepare() -> None:
    """Load OpenCC, jieba's dictionary and the lexicon now (about 0.2 s, while loading),
    not on the first reader's Chinese question."""
    segment(to_simplified("中文"))
    lexicon()


def word_glosses(word: str) -> list[str]:
    """What a Chinese word may mean in English: its glosses, else (a word the lexicon
    lacks) the first glosses of each of its characters."""
    if found := glosses(word):
        return found
    return [gloss for char in word for gloss in glosses(char)[:CHAR_GLOSSES]]


def to_simplified(text: str) -> str:
    """The text in Simplified Chinese (unchanged when OpenCC is missing)."""
    convert = _converter()
    return convert(text) if convert else text


def _greedy_cut(run: str) -> list[str]:
    """A run of Chinese split into the longest words the lexicon knows (rjieba's stand-in)."""
    known = lexicon()
    out = []
    start = 0
    while start < len(run):
        for end in range(min(len(run), start + _LONGEST_WORD), start, -1):
            if run[start:end] in known or end == start + 1:
                out.append(run[start:end])
                start = end
                break
    return out


def _merge_known(words: list[str]) -> list[str]:
    """Neighbours jieba split that the lexicon knows as one word of 3+ characters, joined.

    jieba's dictionary lacks many names CC-CEDICT has (英伟达 comes out as 英 + 伟达);
    two-character joins are left alone, as jieba's split is then usually the right one.
    """
    known = lexicon()
    out: list[str] = []
    i = 0
    while i < len(words):
        best = 1
        joined = words[i]
        for j in range(i + 1, len(words)):
            joined += words[j]
            if len(joined) > _LONGEST_WORD or not CJK_RE.match(words[j]):
                break
            if len(joined) >= 3 and joined in known:
                best = j - i + 1
        out.append("".join(words[i : i + best]))
        i += best
    return out


def segment(text: str) -> list[str]:
    """The text's words: Chinese segmented, Latin words and numbers whole, punctuation out."""
    cut = _cutter()
    words: list[str] = []
    for match in _RUN_RE.finditer(text):
        run = match.group()
        if not CJK_RE.match(run):
            words.append(run)
        else:
            words.extend(_merge_known(cut(run)) if cut else _greedy_cut(run))
    return words


def dictionary_words(segmented: list[str]) -> list[str]:
    """jieba's words, those the lexicon lacks cut into words it has.

    A word the lexicon lacks is split at the function words inside it (jieba cuts 这篇文章
    into 这 + 篇文章, no word at all), then what is left into the longest words the lexicon
    knows (国产手机 -> 国产 + 手机, 工商银行 -> 工商 + 银行), so each is looked up as a word
    rather than as loose characters. A piece no lexicon word covers stays whole.
    """
    out: list[str] = []
    for word in segmented:
        if len(word) < 2 or not CJK_RE.match(word) or glosses(word):
            out.append(word)
            continue
        for piece in CHINESE_STOP_RE.split(word):
            if len(piece) < 2 or glosses(piece):
                out.extend([piece] if piece else [])
                continue
            cut = _greedy_cut(piece)
            out.extend(cut if any(len(part) > 1 for part in cut) else [piece])
    return out


def _gloss_words(found: list[str]) -> list[str]:
    """The content words of English glosses, lower-cased, stopwords out."""
    return [
        word
        for gloss in found
        for word in _GLOSS_WORD_RE.findall(gloss.lower())
        if word not in STOPWORDS
    ]


def _word_terms(word: str) -> list[str]:
    """English words for one Chinese word: its glosses, else its characters', else itself."""
    if found := glosses(word):
        return _gloss_words(found)
    chars = [char for char in word if char not in CHINESE_STOPWORDS]
    if not chars:
        return []  # function words only (这是)
    # A character has many senses; its first two are the likeliest in a compound.
    terms = [term for char in chars for term in _gloss_words(glosses(char)[:CHAR_GLOSSES])]
    return terms or [word]


def english_terms(text: str) -> list[str]:
    """English words for a (Chinese) question, in order, each once.

    Traditional is converted first; Chinese function words (bot.text.CHINESE_STOPWORDS) are
    skipped; a word the lexicon lacks gives its characters' glosses, or is kept as it is
    (a name the reader typed, an English word, a number).
    """
    terms: list[str] = []
    for word in segment(to_simplified(text)):
        if word in CHINESE_STOPWORDS:
            continue
        if not CJK_RE.search(word):
            found = [word.lower()] if word.lower() not in STOPWORDS else []
        else:
            found = _word_terms(word)
        for term in found:
            if term not in terms:
                terms.append(term)
    return terms
