"""Text normalisation shared by the index and the questions, so both meet on the same terms.

normalise -> words -> terms: NFKC and lowercase, possessive 's dropped, Latin words and
numbers kept whole (6.513, open-source), hyphenated words also joined ("opensource"),
stopwords out, a light stem (suffix strip, then the first 6 letters), CJK runs as
character bigrams because Chinese has no spaces to split on.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

STEM_LENGTH = 6

STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can cannot could couldn did didn do does doesn doing
    don down during each either else ever every few for from further get gets got had has hasn
    have haven having he her here hers herself him himself his how however i if in into is isn
    it its itself just least less let like ll many may me might more most much must my myself
    neither no nor not now of off often on once one only or other others otherwise our ours
    ourselves out over own per perhaps quite rather re really s same shall she should so some
    such than that the their theirs them themselves then there these they this those though
    through thus to too under until up upon us ve very was wasn we were weren what whatever
    when where whether which while who whom whose why will with within without won would
    wouldn yet you your yours yourself yourselves
    article articles say says said tell tells told explain describe mention mentions mentioned
    according know knows please thing things anything something kind way ways
    happen happens happened role play plays played use uses used using give gives given
    giving make makes made making change changes changed doing done lot lots differently
    decide decides decided anyone someone whoever whichever whenever wherever
    whats hows whos wheres whys thats alot
    want wants wanted bring brings brought run runs ran going go goes went plan plans planning
    planned matter matters put puts try tries trying seem seems seemed look looks looking
    mean means meant think thinks thought take takes took keep keeps kept come comes came
    become becomes became actually currently basically exactly also else even ever far
    whole big small new old good bad right left next last first second part parts
    piece story report news reader readers author writer
    """.split()
)

# Chinese function words and question words: a CJK run is split at them, so what is left
# are the content words (the glossary has already turned known terms into English).
CHINESE_STOPWORDS = frozenset(
    """
    的 了 是 在 和 与 及 或 有 吗 呢 吧 啊 么 呀 嘛 什么 怎么 怎样 怎么样 如何 为什么 为何 哪 哪里
    哪些 哪个 多少 几 这 那 这个 那个 这些 那些 这篇 那篇 文章 一个 请 请问 还 对 又 也 都 就 被
    把 给 让 从 到 会 能 可以 需要 要 很 非常 谁 是否 有没有 是不是 什么样 有什么 关系 告诉 我 你
    他 她 它 我们 你们 他们 吗 呢 一下 介绍 说 讲 提到 根据 关于 大量 目前 现在
    本文 文中 报道 新闻 读者 作者 认为 觉得 表示 指出 解释 描述 发生 以后 之后 以前 之前 出来 起来
    """.split()
)

# Ordered longest first: the first suffix that leaves a stem of 3+ letters is stripped.
_SUFFIXES = (
    "izations", "isations", "ization", "isation", "ational", "fulness", "iveness",
    "ations", "ation", "ements", "ement", "ments", "ment", "ities", "ity", "ness",
    "ings", "ing", "izes", "ises", "ized", "ised", "ize", "ise", "ies", "ied",
    "ers", "er", "ed", "es", "ly", "al", "s",
)  # fmt: skip

# The CJK ideograph ranges: one definition for every module that tells Chinese apart.
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A Latin word starts and ends with a letter or digit ("ele.me", "open-source", "6.513").
_LATIN_WORD = r"[a-z0-9]+(?:[.\-'][a-z0-9]+)*"
_LATIN_WORD_RE = re.compile(_LATIN_WORD)
_WORD_RE = re.compile(rf"([{CJK}]+)|({_LATIN_WORD})")
CJK_RE = re.compile(rf"[{CJK}]")
_POSSESSIVE_RE = re.compile(r"(?<=[a-z])'s\b")
CHINESE_STOP_RE = re.compile(
    "|".join(re.escape(w) for w in sorted(CHINESE_STOPWORDS, key=len, reverse=True))
)


def normalise(text: str) -> str:
    """NFKC, lowercase, typographic apostrophes made plain, possessive 's dropped."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("`", "'")
    return _POSSESSIVE_RE.sub("", text)


def fold(text: str) -> str:
    """Text as compared for sameness (a followed topic, a question asked again): normalised
    (NFKC, case, punctuation spacing), spaces collapsed."""
    return " ".join(normalise(text).split())


def stem(word: str) -> str:
    """A light stem: computing/computational/compute meet; -ise/-ize spellings meet."""
    if word[0].isdigit():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    # A silent final e goes too, so handle/handling and scale/scaling meet.
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word[:STEM_LENGTH]


def words(text: str) -> list[str]:
    """The content words of already-normalised text, unstemmed; CJK runs split at stopwords."""
    if text.isascii():  # no CJK: one findall of plain strings (most of indexing a corpus)
        return [w for w in _LATIN_WORD_RE.findall(text) if len(w) > 1 and w not in STOPWORDS]
    found: list[str] = []
    for chinese, latin in _WORD_RE.findall(text):
        if chinese:
            found.extend(piece for piece in CHINESE_STOP_RE.split(chinese) if piece)
        elif len(latin) > 1 and latin not in STOPWORDS:
            found.append(latin)
    return found


@lru_cache(maxsize=200_000)
def word_terms(word: str) -> tuple[str, ...]:
    """The index terms of one content word: its stem, or CJK bigrams, plus joined hyphenations.

    Memoised: a corpus repeats its words, and stemming each occurrence anew dominated
    index building.
    """
    if CJK_RE.match(word):
        if len(word) == 1:
            return (word,)
        return tuple(word[i : i + 2] for i in range(len(word) - 1))
    if "-" in word:
        parts = [p for p in word.split("-") if p and p not in STOPWORDS]
        return (stem(word.replace("-", "")), *(stem(p) for p in parts))
    return (stem(word),)


def terms(text: str) -> list[str]:
    """Normalise and tokenise text into index terms, in order, with repeats."""
    return [t for word in words(normalise(text)) for t in word_terms(word)]


def sorted_lines(data: bytes) -> list[bytes]:
    """A bundled sorted data file's lines as UTF-8 bytes, its "#" header (only at the top)
    and the final empty line left out: bytes sort as the code points do, so the lines can
    be searched by bisection with no line decoded and no set or dict built."""
    while data.startswith(b"#"):
        data = data[data.find(b"\n") + 1 if b"\n" in data else len(data) :]
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return lines
