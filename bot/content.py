"""The content model: articles, their sections and the passages readers get as answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

CORE_VIEWPOINT = "Core Viewpoint"


@dataclass(frozen=True)
class Passage:
    """One answerable unit: the core viewpoint (n = 0) or a bullet (n = 1, 2, ...)."""

    article_id: str
    number: int
    section: str
    text: str
    citations: tuple[int, ...] = ()

    @property
    def id(self) -> str:
        """Stable id `<article_id>#<n>`: survives reloads as long as the file keeps its order."""
        return f"{self.article_id}#{self.number}"


@dataclass(frozen=True)
class Section:
    """A titled group of bullets ("Group N: title" in the digest format)."""

    number: int
    title: str
    bullets: tuple[Passage, ...]


@dataclass(frozen=True)
class SourceInfo:
    """How to show a source whose digests write it otherwise (`sources.toml`).

    "2 1 Shi Ji Jing Ji Bao Dao" is shown as `name` "21st Century Business Herald";
    `name_zh` is its own name (21世纪经济报道), `home` its home page.
    """

    name: str
    name_zh: str | None = None
    home: str | None = None


@dataclass(frozen=True)
class Article:
    """A digest of one news article.

    `source` is the source as the file writes it; `source_name` (the Markdown form's
    `Source-Name:`) or `source_info` (the `sources.toml` entry for `source`) say how to show
    it. `english_title` (`Title-En:`) and `link` (`Link:`, the original article) are optional.
    """

    id: str
    headline: str
    source: str
    published: datetime | None
    core_viewpoint: Passage
    sections: tuple[Section, ...]
    path: str = field(default="", compare=False)
    source_name: str | None = field(default=None, kw_only=True)
    english_title: str | None = field(default=None, kw_only=True)
    link: str | None = field(default=None, kw_only=True)
    source_info: SourceInfo | None = field(default=None, kw_only=True)

    @property
    def title(self) -> str:
        """What to call the article: its headline, or its id when the file had none."""
        return self.headline or self.id

    @property
    def display_source(self) -> str:
        """The source as readers see it: the article's own `Source-Name:`, else the name
        `sources.toml` gives its source line, else the source line as written."""
        if self.source_name:
            return self.source_name
        if self.source_info is not None:
            return self.source_info.name
        return self.source

    @cached_property
    def passages(self) -> tuple[Passage, ...]:
        """The core viewpoint, then every bullet in order."""
        return (self.core_viewpoint, *(b for s in self.sections for b in s.bullets))

    @cached_property
    def published_text(self) -> str:
        """The publication date as the digest wrote it, or an empty string."""
        return self.published.strftime("%Y-%m-%d %H:%M") if self.published else ""


@dataclass(frozen=True)
class Citation:
    """Where a passage comes from, as data: rendering (Telegram, the terminal) only formats it.

    `source` is the display source, `date` the publication date as text ("" when unknown),
    `paragraphs` the original article's paragraphs the passage summarises, `headline` the
    article's title, `english_title` its English title when known (and not the headline
    itself), `link` the original article, `source_zh` and `source_home` its source's own
    name and home page (from `sources.toml`).
    """

    source: str
    date: str
    paragraphs: tuple[int, ...]
    headline: str
    english_title: str | None = None
    link: str | None = None
    source_zh: str | None = None
    source_home: str | None = None


def citation(article: Article, passage: Passage) -> Citation:
    """The citation of `passage`, a passage of `article`."""
    info = article.source_info
    english = article.english_title
    return Citation(
        source=article.display_source,
        date=article.published_text,
        paragraphs=passage.citations,
        headline=article.title,
        # A Markdown article written in English may give its headline twice: show it once.
        english_title=english if english and english != article.title else None,
        link=article.link,
        source_zh=info.name_zh if info else None,
        source_home=info.home if info else None,
    )


def format_citations(citations: tuple[int, ...]) -> str:
    """`(3, 12)` -> "paragraphs 3, 12"; `(7,)` -> "paragraph 7"; `()` -> ""."""
    if not citations:
        return ""
    word = "paragraph" if len(citations) == 1 else "paragraphs"
    return f"{word} {', '.join(str(n) for n in citations)}"


def newest_first(articles: list[Article] | tuple[Article, ...]) -> list[Article]:
    """Articles by published date, newest first; undated ones last, then by id."""
    dated = sorted((a for a in articles if a.published), key=lambda a: (a.published, a.id))
    undated = sorted((a for a in articles if not a.published), key=lambda a: a.id)
    return [*reversed(dated), *undated]
