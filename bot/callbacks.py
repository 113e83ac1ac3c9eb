"""Button payloads (Telegram's callback_data): short, versioned, at most 64 bytes.

A button names a passage or an article by a short hash of its id, plus a short hash of
its content. After a reload or restart that changed the content, the version no longer
matches and the press is answered "expired" instead of showing something else. Hashes,
not counters, so a restart cannot hand out the same version for different content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.content import Article, Passage

MAX_CALLBACK_BYTES = 64
KEY_LENGTH = 10  # hex digits naming a passage or an article
VERSION_LENGTH = 6  # hex digits of its content hash

PICK = "p"  # show a suggested passage as a full answer
SUMMARY = "s"  # send an article's full summary
FEEDBACK = "f"  # 👍 / 👎 on an answer (by query id)
EXAMPLE = "e"  # ask one of /start's example questions
SECTION = "c"  # reply with one section's bullets (a group summary's section buttons)


@dataclass(frozen=True)
class Action:
    """A decoded button press."""

    kind: str
    key: str
    version: str = ""
    helpful: bool | None = None
    number: int | None = None  # a section's number (1 is the first), for SECTION


def _digest(*parts: str, length: int) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()[:length]


def passage_key(passage: Passage) -> str:
    return _digest("passage", passage.id, length=KEY_LENGTH)


def passage_version(passage: Passage, article: Article) -> str:
    """Changes when anything shown with the passage changes (text, section, citation).

    Not cached: one hash of one passage is microseconds, while a cache keyed on the
    article would hash the whole frozen Article, every passage of it, at each lookup.
    """
    return _digest(
        passage.text,
        passage.section,
        ",".join(map(str, passage.citations)),
        article.title,
        article.source,
        article.published_text,
        length=VERSION_LENGTH,
    )


def article_key(article: Article) -> str:
    return _digest("article", article.id, length=KEY_LENGTH)


# Where article_version keeps its result: in the Article object's own __dict__, as a
# cached_property would (Article is frozen, so not through setattr). The memo lives and
# dies with that object and costs no hashing: the lru_cache it replaces hashed the frozen
# Article by value, every passage of it, at each lookup, once per passage (quadratic).
_VERSION_ATTRIBUTE = "_callback_version"


def article_version(article: Article) -> str:
    """Changes when any of its passages' versions does; computed once per Article object.

    `ButtonKeys.of` computes it for every article while loading (in a thread), so a button
    press finds it ready. The same content gives the same version after any restart.
    """
    memo = vars(article)
    version = memo.get(_VERSION_ATTRIBUTE)
    if version is None:
        version = _digest(
            *(passage_version(p, article) for p in article.passages), length=VERSION_LENGTH
        )
        memo[_VERSION_ATTRIBUTE] = version
    return version


@dataclass(frozen=True)
class ButtonKeys:
    """What the buttons of some content name: passage and article ids by their short keys.

    Built with the content, in the thread that loads it (at start, /reload, upload): for
    10,000 articles the tables and the articles' versions take about a second, which a
    press on the event loop must not pay. Swapped in together with the library.
    """

    passages: Mapping[str, str] = field(default_factory=dict)  # key -> passage id
    articles: Mapping[str, str] = field(default_factory=dict)  # key -> article id
    # Language -> its example questions (bot/examples.py), and key -> question.
    examples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    questions: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls, articles: Iterable[Article], examples: Mapping[str, tuple[str, ...]] | None = None
    ) -> ButtonKeys:
        """The keys of these articles and their passages (their versions computed too), and
        of the example questions of each language."""
        passages: dict[str, str] = {}
        by_article: dict[str, str] = {}
        for article in articles:
            by_article[article_key(article)] = article.id
            passages.update((passage_key(p), p.id) for p in article.passages)
            article_version(article)
        examples = dict(examples or {})
        questions = {example_key(q): q for shown in examples.values() for q in shown}
        return cls(passages, by_article, examples, questions)

    def passage_id(self, key: str) -> str | None:
        return self.passages.get(key)

    def article_id(self, key: str) -> str | None:
        return self.articles.get(key)

    def question(self, key: str) -> str | None:
        """The example question a button's key names (None: not one of today's)."""
        return self.questions.get(key)

    def examples_for(self, language: str) -> tuple[str, ...]:
        return self.examples.get(language, ())


def pick_data(passage: Passage, article: Article) -> str:
    return _checked(f"{PICK}:{passage_key(passage)}:{passage_version(passage, article)}")


def summary_data(article: Article) -> str:
    return _checked(f"{SUMMARY}:{article_key(article)}:{article_version(article)}")


def section_data(article: Article, number: int) -> str:
    """Section `number` (1 is the first) of `article`: its key, its version and the number,
    `c:<key>:<version>.<n>`, 24 bytes at most whatever the section's title."""
    return _checked(f"{SECTION}:{article_key(article)}:{article_version(article)}.{number}")


def feedback_data(query_id: str, helpful: bool) -> str:
    return _checked(f"{FEEDBACK}:{query_id}:{int(helpful)}")


def example_key(question: str) -> str:
    return _digest("example", question, length=KEY_LENGTH)


def example_data(question: str) -> str:
    """An example question's button: its key (the question itself can be long, and in
    Chinese three bytes a character) and a version of its text."""
    return _checked(f"{EXAMPLE}:{example_key(question)}:{example_version(question)}")


def example_version(question: str) -> str:
    return _digest(question, length=VERSION_LENGTH)


# "🔔 Tell me when answered" (handlers/follows.py): the reply's query id; the question is the
# one the chat's state remembers for that reply. Not a short key: nothing of the content.
WATCH_PREFIX = "watch:"


def watch_data(query_id: str) -> str:
    return _checked(f"{WATCH_PREFIX}{query_id}")


def decode(data: str | None) -> Action | None:
    """The action a button's data asks for, or None for data this module did not make."""
    parts = (data or "").split(":")
    if len(parts) != 3 or not all(parts):
        return None
    kind, key, last = parts
    if kind in (PICK, SUMMARY, EXAMPLE):
        return Action(kind, key, version=last)
    if kind == SECTION:
        version, _, number = last.partition(".")
        if version and number.isascii() and number.isdigit() and len(number) <= 3:
            return Action(kind, key, version=version, number=int(number))
        return None
    if kind == FEEDBACK and last in ("0", "1"):
        return Action(kind, key, helpful=last == "1")
    return None


def _checked(data: str) -> str:
    # Telegram refuses the whole message when one button's data is over 64 bytes.
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback_data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data
