"""Reading article digests: the three-line digest format, the Markdown form, and whole folders.

Every problem is reported as a `Problem` with file, line and reason; a broken file is
rejected on its own and never stops the others from loading.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from bot.config import (
    DEFAULT_ARTICLE_MAX_PASSAGE_CHARS,
    DEFAULT_ARTICLE_MAX_PASSAGES,
    DEFAULT_CONTENT_MAX_BYTES,
    DEFAULT_GLOSSARY_MAX_ALIAS_CHARS,
    DEFAULT_GLOSSARY_MAX_ALIASES,
    Settings,
)
from bot.content import CORE_VIEWPOINT, Article, Passage, Section

ARTICLE_SUFFIXES = (".txt", ".md")
GLOSSARY_NAME = "aliases.toml"

# "<source>·<YYYY-MM-DD HH:MM>"; the Markdown form also accepts "|" for keyboards without "·".
_SOURCE_RE = re.compile(
    r"^(?P<source>.*?)\s*[·|]\s*(?P<date>\d{4}-\d{2}-\d{2})(?:[ T](?P<time>\d{1,2}:\d{2}))?\s*$"
)
_CORE_PREFIX_RE = re.compile(r"^\s*core\s+viewpoint\s*[-–—:]\s*", re.IGNORECASE)  # noqa: RUF001
# "Group N:" opens a section after the end of a sentence or citation, or when it is the next
# number (a section without bullets ends in its title, not a full stop); a "Group 7:" quoted
# mid-sentence stays text.
_GROUP_RE = re.compile(r"(?<!\S)Group\s+(\d+)\s*:\s*")
_SENTENCE_ENDS = (".", "!", "?", "。")
# What may end the text before "Group N:" (empty: the start of the body).
_GROUP_OPENERS = {"", *_SENTENCE_ENDS, "]", "”", '"', "'", ")"}
# A bullet starts at " - " after the end of a sentence, never at a hyphen inside a word
# ("medium-sized") or a dash inside a sentence.
_BULLET_SPLIT_RE = re.compile(r"(?<=[.!?。\]”\")])\s+-\s+")
_TITLE_SPLIT_RE = re.compile(r"\s+-\s+")
_MD_BULLET_RE = re.compile(r"^[-*+]\s+(.*)$")
_MD_GROUP_PREFIX_RE = re.compile(r"^Group\s+\d+\s*:\s*", re.IGNORECASE)
# The Markdown form's optional front matter besides "Source:": how to show the source, the
# English title, the original article's address. Key (lower case) -> how it is written,
# the Article field it fills.
FRONT_MATTER = {
    "source-name": ("Source-Name", "source_name"),
    "title-en": ("Title-En", "english_title"),
    "link": ("Link", "link"),
}
_FRONT_MATTER_RE = re.compile(r"^(source-name|title-en|link)\s*:\s*(.*)$", re.IGNORECASE)
# What a link may not contain besides spaces and control characters: they would have to be
# percent-encoded in an address, and may end an HTML attribute.
_NOT_IN_LINKS = frozenset('"<>\\^`{|}')
# A headline, source line or section title is shown with every answer: 300 characters
# (the seed's longest is 48) keep an answer in one message. Checked before any regex sees
# the line, so a megabyte of one line never reaches the source-line pattern.
MAX_LABEL_CHARS = 300
# Paragraph numbers: "[1234567890]" is not one (and int() refuses over 4,300 digits).
_MAX_CITATION_DIGITS = 6
# What a parser can raise on hostile input besides ArticleError: too deep (RecursionError),
# a bad character (UnicodeError, a ValueError), out of memory for one file (MemoryError).
PARSER_ERRORS = (RecursionError, ValueError, MemoryError)


@dataclass(frozen=True)
class ContentLimits:
    """How big an article or the glossary may be; past a limit the file is refused."""

    max_passages: int = DEFAULT_ARTICLE_MAX_PASSAGES
    max_passage_chars: int = DEFAULT_ARTICLE_MAX_PASSAGE_CHARS
    max_bytes: int = DEFAULT_CONTENT_MAX_BYTES
    max_aliases: int = DEFAULT_GLOSSARY_MAX_ALIASES
    max_alias_chars: int = DEFAULT_GLOSSARY_MAX_ALIAS_CHARS

    @classmethod
    def of(cls, settings: Settings) -> ContentLimits:
        """The limits the settings give."""
        return cls(
            max_passages=settings.article_max_passages,
            max_passage_chars=settings.article_max_passage_chars,
            max_bytes=settings.content_max_bytes,
            max_aliases=settings.glossary_max_aliases,
            max_alias_chars=settings.glossary_max_alias_chars,
        )


DEFAULT_LIMITS = ContentLimits()


@dataclass(frozen=True)
class Problem:
    """Why a file was rejected (or loaded with a warning): file, 1-based line, reason."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class ArticleError(ValueError):
    """A file is not a usable article; `problem` says where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class LoadResult:
    """What loading a folder gave: the articles, the rejected files, and warnings."""

    articles: tuple[Article, ...]
    rejected: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()

    @property
    def passage_count(self) -> int:
        return sum(len(a.passages) for a in self.articles)


def is_article_file(path: Path) -> bool:
    """True for `.txt`/`.md` files that are not hidden, a README, or the glossary."""
    name = path.name
    return (
        path.suffix.lower() in ARTICLE_SUFFIXES
        and not name.startswith(".")
        and not name.upper().startswith("README")
        and name.lower() != GLOSSARY_NAME
    )


def load_folder(folder: Path, limits: ContentLimits = DEFAULT_LIMITS) -> LoadResult:
    """Load every article file in `folder` (not recursive), collecting rejections."""
    if not folder.is_dir():
        return LoadResult((), (Problem(str(folder), 0, "not a folder (check SEEDS_DIR)"),))
    articles: list[Article] = []
    rejected: list[Problem] = []
    warnings: list[Problem] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not path.is_file() or not is_article_file(path):
            continue
        try:
            article, file_warnings = read_article(path, limits)
        except ArticleError as error:
            rejected.append(error.problem)
            continue
        if article.id in seen:
            rejected.append(
                Problem(
                    str(path),
                    1,
                    f"duplicate article id {article.id!r} (already in {seen[article.id]})",
                )
            )
            continue
        seen[article.id] = path.name
        articles.append(article)
        warnings.extend(file_warnings)
    return LoadResult(tuple(articles), tuple(rejected), tuple(warnings))


def read_article(
    path: Path, limits: ContentLimits = DEFAULT_LIMITS
) -> tuple[Article, list[Problem]]:
    """Read and parse one article file; raises `ArticleError`."""
    data = read_limited(path, limits.max_bytes)
    return parse_article_bytes(data, path.stem, str(path), limits)


def read_limited(path: Path, max_bytes: int) -> bytes:
    """A file's bytes, or `ArticleError` when it cannot be read or is over `max_bytes`.

    Reads at most one byte past the limit, so a huge file is refused without reading it whole.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise ArticleError(Problem(str(path), 0, f"cannot read: {error.strerror}")) from None
    if len(data) > max_bytes:
        raise ArticleError(Problem(str(path), 0, too_big(max_bytes)))
    return data


def too_big(max_bytes: int) -> str:
    """The reason a file over the byte limit is refused."""
    return f"too big: over {max_bytes:,} bytes (CONTENT_MAX_BYTES)"


def parse_article_bytes(
    data: bytes, article_id: str, filename: str, limits: ContentLimits = DEFAULT_LIMITS
) -> tuple[Article, list[Problem]]:
    """Decode UTF-8 (a BOM is fine) and parse; raises `ArticleError` with the line at fault."""
    if len(data) > limits.max_bytes:
        raise ArticleError(Problem(filename, 0, too_big(limits.max_bytes)))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ArticleError(
            Problem(filename, line, f"not UTF-8 (byte 0x{data[error.start]:02x}); save it as UTF-8")
        ) from None
    return parse_article(text, article_id, filename, limits)


def parse_article(
    text: str, article_id: str, filename: str, limits: ContentLimits = DEFAULT_LIMITS
) -> tuple[Article, list[Problem]]:
    """Parse an article in either format, chosen by its first line; returns it and warnings.

    Any other error a parser meets (too deep, a bad character) is an `ArticleError` too: a
    hostile file is refused with a reason like any broken one, never an exception that
    stops a load or an upload.
    """
    try:
        return _parse(text, article_id, filename, limits)
    except ArticleError:
        raise
    except PARSER_ERRORS as error:
        raise ArticleError(Problem(filename, 0, f"cannot be parsed: {describe(error)}")) from None


def describe(error: BaseException) -> str:
    """An unexpected parser error as a short reason (its kind and first 200 characters)."""
    kinds: dict[type[BaseException], str] = {
        RecursionError: "nested too deep",
        MemoryError: "too large to hold",
    }
    kind = kinds.get(type(error))
    return kind or f"{type(error).__name__}: {str(error)[:200]}"


def _parse(
    text: str, article_id: str, filename: str, limits: ContentLimits
) -> tuple[Article, list[Problem]]:
    lines = [
        (number, line.strip())
        for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1)
    ]
    content = [(n, line) for n, line in lines if line]
    if not content:
        raise ArticleError(Problem(filename, 1, "empty file"))
    first = content[0][1]
    markdown = (
        first.startswith("#")
        or first.lower().startswith("source:")
        or _FRONT_MATTER_RE.match(first) is not None
    )
    parser = _MarkdownParser if markdown else _DigestParser
    return parser(article_id, filename, limits).parse(lines)


def _split_groups(body: str) -> list[str]:
    """'core Group 1: a Group 2: b' -> ['core', '1', 'a', '2', 'b'], like re.split."""
    parts: list[str] = []
    start, last_number = 0, None
    for found in _GROUP_RE.finditer(body):
        if len(found.group(1)) > _MAX_CITATION_DIGITS:
            continue  # "Group 99999999:" is text (and int() refuses thousands of digits)
        number = int(found.group(1))
        # The character before, found by index: slicing `body[start:]` for every "Group N:"
        # that stays text would copy the body each time (quadratic on a hostile file).
        end = found.start()
        while end > start and body[end - 1].isspace():
            end -= 1
        after_sentence = (body[end - 1] if end > start else "") in _GROUP_OPENERS
        if after_sentence or (last_number is not None and number == last_number + 1):
            parts.extend([body[start : found.start()], found.group(1)])
            start, last_number = found.end(), number
    parts.append(body[start:])
    return parts


def _split_citations(raw: str) -> tuple[str, tuple[int, ...]]:
    """'text [3][12].' -> ('text.', (3, 12)): the passage without its trailing markers."""
    raw = raw.strip()
    text, punctuation = raw, ""
    if text[-1:] in _SENTENCE_ENDS:
        text, punctuation = text[:-1].rstrip(), text[-1]
    # Read markers from the end, right to left (a regex anchored at $ would rescan the text),
    # moving an index: cutting the text at each marker would copy it once per marker.
    citations: list[int] = []
    end = len(text)
    while end and text[end - 1] == "]":
        opening = text.rfind("[", 0, end)
        inner = text[opening + 1 : end - 1].strip() if opening >= 0 else ""
        if not (inner.isascii() and inner.isdigit() and len(inner) <= _MAX_CITATION_DIGITS):
            break
        citations.append(int(inner))
        end = opening
        while end and text[end - 1].isspace():
            end -= 1
    if not citations:
        return raw, ()
    text = text[:end]
    if punctuation and not text.endswith(_SENTENCE_ENDS):
        text += punctuation
    return text, tuple(reversed(citations))


def is_web_link(text: str) -> bool:
    """True for an absolute http(s) address (with a host) of at most MAX_LABEL_CHARS,
    without spaces, control characters or characters an address must percent-encode."""
    if not text or len(text) > MAX_LABEL_CHARS:
        return False
    if any(ch in _NOT_IN_LINKS or ch.isspace() or _is_control(ch) for ch in text):
        return False
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host)


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "C"


def _parse_source(line: str) -> tuple[str, datetime | None] | None:
    """'Source · 2025-05-29 14:12' -> ('Source', datetime); None when it has no date."""
    found = _SOURCE_RE.match(line)
    if not found:
        return None
    stamp = found.group("date") + " " + (found.group("time") or "00:00")
    try:
        published = datetime.strptime(stamp, "%Y-%m-%d %H:%M")
    except ValueError:
        return None
    return found.group("source").strip(), published


class _Parser:
    """Shared state of the two format parsers: where we are and what went wrong."""

    def __init__(self, article_id: str, filename: str, limits: ContentLimits) -> None:
        self.article_id = article_id
        self.filename = filename
        self.limits = limits
        self.warnings: list[Problem] = []
        self.bullet_count = 0
        self.front_matter: dict[str, str] = {}  # Article field -> value (FRONT_MATTER)

    def fail(self, line: int, reason: str) -> ArticleError:
        return ArticleError(Problem(self.filename, line, reason))

    def warn(self, line: int, reason: str) -> None:
        self.warnings.append(Problem(self.filename, line, reason))

    def bullet(self, section: str, raw: str, line: int) -> Passage:
        """The next bullet's passage; refused past the passage count or length limit."""
        self.bullet_count += 1
        # Counted as they are made, so a file of 16,000 bullets stops at the limit's first.
        if self.bullet_count + 1 > self.limits.max_passages:
            raise self.fail(line, self.too_many_passages())
        text, citations = _split_citations(self.check_length(raw, line, section))
        return Passage(self.article_id, self.bullet_count, section, text, citations)

    def too_many_passages(self) -> str:
        return (
            f"too many passages: more than {self.limits.max_passages:,} "
            "(ARTICLE_MAX_PASSAGES; the core viewpoint counts as one)"
        )

    def check_length(self, raw: str, line: int, where: str) -> str:
        """`raw` if its passage is within the character limit, else the refusal."""
        limit = self.limits.max_passage_chars
        # The limit is on the text shown, markers cut off; the raw text gets as much again
        # for its markers, so a megabyte of "[1][1]..." is refused without being split.
        if len(raw) <= limit:
            return raw
        shown = len(raw) if len(raw) > 2 * limit else len(_split_citations(raw)[0])
        if shown > limit:
            raise self.fail(
                line,
                f"a passage of {shown:,} characters in {where[:40]!r}: at most "
                f"{limit:,} (ARTICLE_MAX_PASSAGE_CHARS)",
            )
        return raw

    def check_label(self, text: str, line: int, what: str) -> str:
        """`text` if a headline, source or section title of at most MAX_LABEL_CHARS."""
        if len(text) > MAX_LABEL_CHARS:
            raise self.fail(
                line, f"{what} of {len(text):,} characters: at most {MAX_LABEL_CHARS:,}"
            )
        return text

    def article(
        self,
        headline: str,
        source: str,
        published: datetime | None,
        core: Passage,
        sections: list[Section],
    ) -> Article:
        return Article(
            self.article_id,
            headline,
            source,
            published,
            core,
            tuple(sections),
            self.filename,
            source_name=self.front_matter.get("source_name"),
            english_title=self.front_matter.get("english_title"),
            link=self.front_matter.get("link"),
        )

    def core(self, raw: str, line: int) -> Passage:
        text, citations = _split_citations(self.check_length(raw, line, CORE_VIEWPOINT))
        return Passage(self.article_id, 0, CORE_VIEWPOINT, text, citations)


class _DigestParser(_Parser):
    """Line 1 'Core Viewpoint - ... Group 1: title - bullet [n]. - ...', headline, source."""

    def parse(self, lines: list[tuple[int, str]]) -> tuple[Article, list[Problem]]:
        content = [(n, line) for n, line in lines if line]
        body_line, body = content[0]
        prefix = _CORE_PREFIX_RE.match(body)
        if not prefix:
            raise self.fail(
                body_line,
                "no recognisable structure: expected 'Core Viewpoint - ...' "
                "(digest format) or a '# headline' (Markdown)",
            )
        parts = _split_groups(body[prefix.end() :])
        core_text = parts[0].strip()
        if not core_text:
            raise self.fail(body_line, "the Core Viewpoint is empty")
        core = self.core(core_text, body_line)
        sections = []
        for number, chunk in zip(parts[1::2], parts[2::2], strict=True):
            pieces = _TITLE_SPLIT_RE.split(chunk.strip(), maxsplit=1)
            title, rest = pieces[0].strip(), (pieces[1].strip() if len(pieces) > 1 else "")
            sections.append(self._section(body_line, int(number), title, rest))
        headline, source, published = self._trailer(content[1:])
        return self.article(headline, source, published, core, sections), self.warnings

    def _section(self, line: int, number: int, title: str, rest: str) -> Section:
        if not title:
            raise self.fail(line, f"Group {number} has no title")
        raws = [r for r in _BULLET_SPLIT_RE.split(rest) if r.strip(" -")] if rest else []
        if not raws:
            raise self.fail(line, f"section 'Group {number}: {title[:40]}' has no bullets")
        self.check_label(title, line, f"the title of Group {number}")
        return Section(number, title, tuple(self.bullet(title, r.strip(" -"), line) for r in raws))

    def _trailer(self, lines: list[tuple[int, str]]) -> tuple[str, str, datetime | None]:
        """The headline and '<source>·<date>' lines after the body; either may be missing."""
        headline, source, published = "", "", None
        rest = list(lines)
        for number, line in rest[:2]:
            self.check_label(line, number, "a headline or source line")
        if rest and _parse_source(rest[0][1]) is None:
            headline = rest.pop(0)[1]
        else:
            self.warn(lines[0][0] if lines else 2, "no headline line; the article id stands in")
        if rest:
            number, line = rest.pop(0)
            parsed = _parse_source(line)
            if parsed:
                source, published = parsed
            else:
                source = line
                self.warn(number, "source line has no '·YYYY-MM-DD HH:MM' date")
        else:
            self.warn(len(lines) + 2, "no '<source>·<date>' line")
        for number, line in rest:
            self.warn(number, f"unexpected text after the source line ignored: {line[:40]!r}")
        return headline, source, published


class _MarkdownParser(_Parser):
    """'# headline', 'Source: name · date', '## Core Viewpoint', '## section', '- bullet [n]'.

    Before the first '##', 'Source-Name:', 'Title-En:' and 'Link:' lines may say how to show
    the source, the English title and the original article's address (FRONT_MATTER).
    """

    def read_front_matter(self, found: re.Match[str], number: int) -> None:
        """'Source-Name: ...', 'Title-En: ...' or 'Link: ...': a value that is missing, a
        second time, or not an http(s) address for 'Link:', is a warning and ignored."""
        key, value = found.group(1).lower(), found.group(2).strip()
        name, field_name = FRONT_MATTER[key]
        self.check_label(found.group(0), number, f"a '{name}:' line")
        if not value:
            self.warn(number, f"an empty '{name}:' line ignored")
        elif field_name in self.front_matter:
            self.warn(number, f"a second '{name}:' line ignored")
        elif key == "link" and not is_web_link(value):
            self.warn(number, f"'Link:' is not an http(s) address, ignored: {value[:40]!r}")
        else:
            self.front_matter[field_name] = value

    def parse(self, lines: list[tuple[int, str]]) -> tuple[Article, list[Problem]]:
        headline, source, published = "", "", None
        core_parts: list[str] = []
        core_line = 0
        # Each section: (line, title, bullets); a bullet is its line and its lines' texts (it
        # may continue on the next lines; joined once at the end, never one line at a time).
        sections: list[tuple[int, str, list[tuple[int, list[str]]]]] = []
        current: str | None = None  # "core", "section", or None before the first "##"
        last_was_bullet = False
        bullets_seen = 0
        for number, line in lines:
            if not line:
                last_was_bullet = False
                continue
            if line.startswith("## ") or line == "##":
                title = _MD_GROUP_PREFIX_RE.sub("", line.lstrip("#").strip())
                if not title:
                    raise self.fail(number, "a '##' heading without a title")
                self.check_label(title, number, "a section title")
                if title.lower() == CORE_VIEWPOINT.lower():
                    if core_line:
                        raise self.fail(number, "a second '## Core Viewpoint'")
                    current, core_line = "core", number
                else:
                    current = "section"
                    sections.append((number, title, []))
                last_was_bullet = False
            elif line.startswith("# "):
                if headline or current:
                    raise self.fail(number, "a second '# ' headline: one article per file")
                headline = self.check_label(line[2:].strip(), number, "a headline")
            elif current is None and (front := _FRONT_MATTER_RE.match(line)):
                self.read_front_matter(front, number)
            elif current is None and line.lower().startswith("source:"):
                self.check_label(line, number, "a source line")
                parsed = _parse_source(line[len("source:") :].strip())
                if parsed:
                    source, published = parsed
                else:
                    source = line[len("source:") :].strip()
                    self.warn(number, "source line has no '· YYYY-MM-DD HH:MM' date")
            elif current == "core":
                bullet = _MD_BULLET_RE.match(line)
                core_parts.append(bullet.group(1) if bullet else line)
            elif current == "section":
                bullet = _MD_BULLET_RE.match(line)
                if bullet:
                    # Refused here, at the first bullet past the limit: the count in
                    # bullet() would come after collecting every line of a huge file.
                    bullets_seen += 1
                    if bullets_seen + 1 > self.limits.max_passages:
                        raise self.fail(number, self.too_many_passages())
                    sections[-1][2].append((number, [bullet.group(1)]))
                    last_was_bullet = True
                elif last_was_bullet:
                    sections[-1][2][-1][1].append(line)
                else:
                    raise self.fail(number, f"expected a '- ' bullet, got {line[:40]!r}")
            else:
                raise self.fail(
                    number,
                    f"unexpected text before the first '## ' section: {line[:40]!r} "
                    "(expected '# headline' or 'Source: name · date')",
                )
        if not core_line:
            raise self.fail(sections[0][0] if sections else 1, "no '## Core Viewpoint' section")
        if not core_parts:
            raise self.fail(core_line, "the Core Viewpoint is empty")
        if not headline:
            self.warn(1, "no '# headline' line; the article id stands in")
        if not source:
            self.warn(1, "no 'Source: name · YYYY-MM-DD HH:MM' line")
        core = self.core(" ".join(core_parts), core_line)
        built = []
        for index, (number, title, raws) in enumerate(sections, 1):
            if not raws:
                raise self.fail(number, f"section {title!r} has no bullets")
            bullets = tuple(self.bullet(title, " ".join(parts), line) for line, parts in raws)
            built.append(Section(index, title, bullets))
        return self.article(headline, source, published, core, built), self.warnings
