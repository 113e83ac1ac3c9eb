"""Display names of sources (`SEEDS_DIR/sources.toml`): how a digest's source line is shown.

The digests write their source in transliteration ("2 1 Shi Ji Jing Ji Bao Dao"); this
file names it for readers, in English and in Chinese, with its home page:

    [sources."2 1 Shi Ji Jing Ji Bao Dao"]
    name = "21st Century Business Herald"
    name_zh = "21世纪经济报道"
    home = "https://www.21jingji.com/"

Read, limited and refused like the glossary (bot/glossary.py): the same byte limit and
nesting check before `tomllib`, every problem a `Problem` with file, line and reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.content import Article, SourceInfo
from bot.glossary import check_depth, parse_toml, read_toml_text, short_repr
from bot.parsing import (
    DEFAULT_LIMITS,
    MAX_LABEL_CHARS,
    PARSER_ERRORS,
    ArticleError,
    ContentLimits,
    Problem,
    describe,
    is_web_link,
)

SOURCES_NAME = "sources.toml"
TABLE = "sources"
# An entry's fields: the display name (required), the source's own name, its home page.
FIELDS = ("name", "name_zh", "home")

Refuse = Callable[[int, str], ArticleError]  # line, reason -> the error to raise


def source_key(raw: str) -> str:
    """How a source line is looked up: NFKC, case and spacing ignored."""
    return " ".join(unicodedata.normalize("NFKC", raw).casefold().split())


@dataclass(frozen=True)
class Sources:
    """Source line (as `source_key` normalises it) -> how to show that source."""

    names: Mapping[str, SourceInfo] = field(default_factory=dict)
    path: str = ""

    def __len__(self) -> int:
        return len(self.names)

    def lookup(self, raw_source: str) -> SourceInfo | None:
        """The entry for a source line as an article writes it, if the file has one."""
        return self.names.get(source_key(raw_source)) if raw_source else None

    def apply(self, articles: Iterable[Article]) -> list[Article]:
        """The articles with their sources' entries (`Article.source_info`); an article
        whose entry did not change is the same object (its computed versions kept)."""
        shown = []
        for article in articles:
            info = self.lookup(article.source)
            shown.append(
                article if info == article.source_info else replace(article, source_info=info)
            )
        return shown


def load_sources(path: Path, limits: ContentLimits = DEFAULT_LIMITS) -> Sources:
    """Read `sources.toml`; a missing file names no source. Raises `ArticleError`."""
    if not path.is_file():
        return Sources()
    return parse_sources(read_toml_text(path, limits), str(path), limits)


def parse_sources(
    text: str, name: str = SOURCES_NAME, limits: ContentLimits = DEFAULT_LIMITS
) -> Sources:
    """Parse `sources.toml`; every problem names the file, line and reason.

    Within the glossary's limits: its nesting depth, at most GLOSSARY_MAX_ALIASES sources,
    and every string at most MAX_LABEL_CHARS (the limit of the source line it stands for).
    Any other error of the TOML parser is an `ArticleError` with a reason too.
    """
    check_depth(text, name, needs=f"{SOURCES_NAME} needs 2")
    try:
        return _parse_sources(text, name, limits)
    except ArticleError:
        raise
    except (*PARSER_ERRORS, re.error) as error:
        raise ArticleError(Problem(name, 0, f"cannot be parsed: {describe(error)}")) from None


class _Lines:
    """Where a key is written, for a reason's line (tomllib's values carry no position)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def of(self, key: str, after: int = 0) -> int:
        """The first line after line `after` writing `key` as a key (bare or quoted, before
        '=' or ending a [table.header]), else the first holding it at all, else `after`."""
        forms = (f'"{key}"', f"'{key}'", key)
        for number, line in enumerate(self.lines[after:], after + 1):
            text = line.strip()
            for form in forms:
                if text.startswith(form) and text[len(form) :].lstrip().startswith("="):
                    return number
                if text.startswith("[") and text.rstrip("] ").endswith(form):
                    return number
        for number, line in enumerate(self.lines[after:], after + 1):
            if key[:40] in line:
                return number
        return max(after, 1)


@dataclass(frozen=True)
class _Where:
    """Where one entry is written: found only for a refusal, since looking a key up scans
    the file (once per entry would be quadratic on a file of thousands of sources)."""

    lines: _Lines
    raw: str
    inline: bool  # `"raw" = "Name"`: every field is on the entry's line

    def line(self, field: str | None = None) -> int:
        """The entry's line, or the line of one of its fields."""
        entry = self.lines.of(self.raw)
        return entry if field is None or self.inline else self.lines.of(field, entry)


def _parse_sources(text: str, name: str, limits: ContentLimits) -> Sources:
    data = parse_toml(text, name)
    lines = _Lines(text)

    def refuse(line: int, reason: str) -> ArticleError:
        return ArticleError(Problem(name, line, reason))

    unknown = [key for key in data if key != TABLE]
    if unknown:
        raise refuse(lines.of(unknown[0]), f"unknown table {short_repr(unknown[0])}; use [{TABLE}]")
    table = data.get(TABLE, {})
    if not isinstance(table, dict):
        raise refuse(lines.of(TABLE), f"'{TABLE}' must be a table")
    if len(table) > limits.max_aliases:
        raise refuse(
            lines.of(list(table)[limits.max_aliases]),
            f"too many sources: more than {limits.max_aliases:,} (GLOSSARY_MAX_ALIASES)",
        )
    names: dict[str, SourceInfo] = {}
    written: dict[str, str] = {}  # key -> the source line as written, for a duplicate's reason
    for raw, entry in table.items():
        where = _Where(lines, raw, inline=isinstance(entry, str))
        key = source_key(_checked(raw, "a source line", where, None, refuse))
        if not key:
            raise refuse(where.line(), "an empty source line")
        if key in names:
            raise refuse(
                where.line(),
                f"{short_repr(raw)} is the same source line as {short_repr(written[key])} "
                "(case and spacing do not count)",
            )
        names[key] = _entry(raw, {"name": entry} if where.inline else entry, where, refuse)
        written[key] = raw
    return Sources(names, name)


def _entry(raw: str, entry: Any, where: _Where, refuse: Refuse) -> SourceInfo:
    """One source's entry: a table of FIELDS."""
    if not isinstance(entry, dict):
        raise refuse(
            where.line(),
            f"{short_repr(raw)} must be a table (name, name_zh, home) or a display name",
        )
    values: dict[str, str] = {}
    for key, value in entry.items():
        if key not in FIELDS:
            raise refuse(
                where.line(key),
                f"unknown field {short_repr(key)} for {short_repr(raw)}; use name, name_zh, home",
            )
        if not isinstance(value, str):
            raise refuse(where.line(key), f"{key} of {short_repr(raw)} must be a string")
        values[key] = _checked(value.strip(), f"{key} of {short_repr(raw)}", where, key, refuse)
    if not values.get("name"):
        field = "name" if "name" in entry else None
        raise refuse(where.line(field), f'{short_repr(raw)} has no display name (name = "...")')
    home = values.get("home") or None
    if home is not None and not is_web_link(home):
        raise refuse(
            where.line("home"),
            f"home of {short_repr(raw)} is not an http(s) address: {short_repr(home)}",
        )
    return SourceInfo(values["name"], values.get("name_zh") or None, home)


def _checked(text: str, what: str, where: _Where, field: str | None, refuse: Refuse) -> str:
    """`text` when within MAX_LABEL_CHARS, else the refusal."""
    if len(text) > MAX_LABEL_CHARS:
        raise refuse(
            where.line(field), f"{what} has {len(text):,} characters: at most {MAX_LABEL_CHARS:,}"
        )
    return text
