"""Example questions for /start and small talk: from the newest articles, and answered.

Each language gets its own examples, since the question's words around the topic are the
reader's language ("What about X?", "关于 X"). A candidate is kept only when the
library answers it (Outcome.ANSWERED) from the very section it was made from, so a tapped
example never gets "not found", suggestions, or another section's passage. Computed with
the content, in the thread that loads it (bot/state.py `load_content`).

No Telegram import, like the rest of the domain.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from bot.answers import Outcome
from bot.content import Article
from bot.i18n import N_, Translator
from bot.library import Library

EXAMPLE_COUNT = 3
# Candidates tried per language before giving up: each is one question to the matcher.
MAX_CANDIDATES = 30
# TRANSLATORS: an example question on /start's buttons; {topic} is a section title of an
# article, as written (often English). Keep it short: the bot checks that it is answered.
EXAMPLE_TEMPLATE = N_("What about {topic}?")


def example_questions(
    library: Library, translator: Translator, count: int = EXAMPLE_COUNT
) -> tuple[str, ...]:
    """Up to `count` questions in the translator's language, from the newest articles'
    section titles (one article after another, so three articles give one each), each one
    answered by `library` from the section it names."""
    template = translator.gettext(EXAMPLE_TEMPLATE)
    found: list[str] = []
    for tried, (article, topic) in enumerate(_topics(library.articles)):
        if len(found) >= count or tried >= MAX_CANDIDATES:
            break
        question = template.format(topic=topic)
        if question not in found and _answered_from(library, question, article, topic):
            found.append(question)
    return tuple(found)


def _topics(articles: Sequence[Article]) -> Iterator[tuple[Article, str]]:
    """Section titles, newest article first, taking turns: the first section of each
    article, then the second of each..."""
    depth = max((len(a.sections) for a in articles), default=0)
    for index in range(depth):
        for article in articles:
            if index < len(article.sections):
                yield article, article.sections[index].title


def _answered_from(library: Library, question: str, article: Article, topic: str) -> bool:
    answer = library.ask(question)
    best = answer.best
    return (
        answer.outcome is Outcome.ANSWERED
        and best is not None
        and best.article.id == article.id
        and best.passage.section == topic
    )
