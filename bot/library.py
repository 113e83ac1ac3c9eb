"""The library: the loaded articles and the matcher over them, answering questions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from bot.answers import Answer, Match
from bot.config import Settings
from bot.content import Article, Passage, newest_first
from bot.glossary import Glossary, load_glossary
from bot.matcher_config import MatcherConfig
from bot.matching import Matcher
from bot.parsing import (
    GLOSSARY_NAME,
    PARSER_ERRORS,
    ArticleError,
    ContentLimits,
    LoadResult,
    Problem,
    describe,
    load_folder,
)
from bot.sources import SOURCES_NAME, Sources, load_sources
from bot.text import normalise

T = TypeVar("T")


class Library:
    """Articles (newest first) with an index over their passages. Immutable once built:

    a reload builds a new Library and swaps it in, so questions in flight finish on the old one.
    """

    def __init__(
        self,
        articles: Iterable[Article],
        config: MatcherConfig | None = None,
        glossary: Glossary | None = None,
        sources: Sources | None = None,
    ) -> None:
        self.sources = sources or Sources()
        # Each article gets its source's entry of sources.toml (or none, when it has none).
        shown = self.sources.apply(articles)
        self.articles: tuple[Article, ...] = tuple(newest_first(shown))
        self.glossary = glossary or Glossary()
        self._by_id = {a.id: a for a in self.articles}
        self._passages = {p.id: p for a in self.articles for p in a.passages}
        self.matcher = Matcher(
            self._passages.values(),
            config=config,
            glossary=self.glossary,
            headlines={a.id: a.headline for a in self.articles},
        )

    @property
    def passage_count(self) -> int:
        return len(self._passages)

    def article(self, article_id: str) -> Article | None:
        return self._by_id.get(article_id)

    def passage(self, passage_id: str) -> Match | None:
        """A passage by its stable id, as a full-score match (a reader picked it)."""
        passage = self._passages.get(passage_id)
        if passage is None:
            return None
        return Match(passage, self._by_id[passage.article_id], 1.0)

    def ask(
        self,
        question: str,
        article_id: str | None = None,
        prefer_article: str | None = None,
        about_article: str | None = None,
    ) -> Answer:
        """Answer a question: only from `article_id` if given; `prefer_article` (the chat's
        current article) wins ties. `about_article` is the article of the message the reader
        replied to: "and the profit?" under an answer about a bank asks about that bank, so
        it wins ties before the current article does (a passage of another article that
        answers clearly better still wins)."""
        if about_article is not None and about_article in self._by_id:
            prefer_article = about_article
        result = self.matcher.match(question, article_id, prefer_article)
        matches = tuple(self._match(s.passage, s.score) for s in result.matches)
        return Answer(question, result.outcome, matches)

    def find_article(self, reference: str) -> Article | None:
        """The article a reader means by a number from /articles, an id, or a topic."""
        reference = reference.strip()
        if not reference:
            return self.articles[0] if self.articles else None
        if reference.isdigit():
            number = int(reference)
            return self.articles[number - 1] if 1 <= number <= len(self.articles) else None
        if reference in self._by_id:
            return self._by_id[reference]
        wanted = normalise(reference)
        for article in self.articles:
            if wanted in normalise(article.headline):
                return article
        found = self.candidates(reference, limit=1)
        return found[0].article if found else None

    def candidates(self, question: str, limit: int) -> list[Match]:
        """Up to `limit` passages for the question, best first, none below the suggest bar."""
        return [
            self._match(s.passage, s.score)
            for s in self.matcher.search(question, limit=limit)
            if s.score >= self.matcher.suggest_threshold
        ]

    def answering(self, question: str, article_ids: Iterable[str]) -> list[Match]:
        """Every passage of those articles that answers the question by the matcher's answer
        bar, best first (`Matcher.answering`: what a followed topic pushes)."""
        return [
            self._match(s.passage, s.score) for s in self.matcher.answering(question, article_ids)
        ]

    def _match(self, passage: Passage, score: float) -> Match:
        return Match(passage, self._by_id[passage.article_id], score)


def load_library(
    settings: Settings, previous: Library | None = None, config: MatcherConfig | None = None
) -> tuple[Library, LoadResult]:
    """Read SEEDS_DIR, its glossary and its sources.toml and index them (`config`: the
    matcher's, by default the settings' bars and the defaults of everything else).

    With `previous` (a reload), nothing good is lost: a file that now fails keeps its last
    good version, a broken glossary or sources.toml keeps the previous one, and a folder
    that yields no article at all keeps the previous articles. Without `previous`, a broken
    glossary or sources.toml is rejected and the articles load without it.
    """
    limits = ContentLimits.of(settings)
    loaded = load_folder(settings.seeds_dir, limits)
    rejected = list(loaded.rejected)
    warnings = list(loaded.warnings)
    articles = list(loaded.articles)
    glossary = _load_or_keep(
        settings.seeds_dir / GLOSSARY_NAME,
        lambda path: load_glossary(path, limits),
        previous.glossary if previous else Glossary(),
        rejected,
    )
    sources = _load_or_keep(
        settings.seeds_dir / SOURCES_NAME,
        lambda path: load_sources(path, limits),
        previous.sources if previous else Sources(),
        rejected,
    )
    if previous is not None:
        articles = _keep_last_good(articles, rejected, previous, warnings)
    library = Library(
        articles,
        config=config or matcher_config(settings),
        glossary=glossary,
        sources=sources,
    )
    return library, replace(
        loaded, articles=library.articles, rejected=tuple(rejected), warnings=tuple(warnings)
    )


def _keep_last_good(
    articles: list[Article], rejected: list[Problem], previous: Library, warnings: list[Problem]
) -> list[Article]:
    if not articles and previous.articles:
        warnings.append(
            Problem("", 0, f"no article loaded; keeping the {len(previous.articles)} loaded before")
        )
        return list(previous.articles)
    loaded_ids = {a.id for a in articles}
    for problem in rejected:
        kept = previous.article(Path(problem.file).stem)
        if kept is not None and kept.id not in loaded_ids:
            articles.append(kept)
            loaded_ids.add(kept.id)
            warnings.append(Problem(problem.file, 0, "kept its last good version"))
    return articles


def matcher_config(settings: Settings) -> MatcherConfig:
    """The matcher's configuration: the settings' bars, the defaults of everything else."""
    return MatcherConfig(
        answer_threshold=settings.match_answer_threshold,
        suggest_threshold=settings.match_suggest_threshold,
    )


def _load_or_keep(path: Path, load: Callable[[Path], T], kept: T, rejected: list[Problem]) -> T:
    """A TOML file of SEEDS_DIR (the glossary, sources.toml) loaded, or, when it is broken,
    `kept` (the last good one, or an empty one) with the file's problem in `rejected`."""
    try:
        return load(path)
    except ArticleError as error:
        rejected.append(error.problem)
    except PARSER_ERRORS as error:  # the loaders turn these into ArticleError already
        rejected.append(Problem(str(path), 0, f"cannot be parsed: {describe(error)}"))
    return kept
