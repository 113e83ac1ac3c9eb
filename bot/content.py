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
class Article:
    """A digest of one news article."""

    id: str
    headline: str
    source: str
    published: datetime | None
    core_viewpoint: Passage
    sections: tuple[Section, ...]
    path: str = field(default="", compare=False)

    @property
    def title(self) -> str:
        """What to call the article: its headline, or its id when the file had none."""
        return self.headline or self.id

    @cached_property
    def passages(self) -> tuple[Passage, ...]:
        """The core viewpoint, then every bullet in order."""
        return (self.core_viewpoint, *(b for s in self.sections for b in s.bullets))

    @cached_property
    def published_text(self) -> str:
        """The publication date as the digest wrote it, or an empty string."""
        return self.published.strftime("%Y-%m-%d %H:%M") if self.published else ""


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
