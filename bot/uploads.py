"""Files sent by an admin: a safe name, the same validation as a load, an atomic write.

`accept_upload` checks an uploaded article (`.txt`/`.md`), glossary (`aliases.toml`) or
source names (`sources.toml`) with the parsers the folder load uses and writes it into
`SEEDS_DIR` through a temporary file and a rename, so a reload never sees half a file.
Every refusal raises `UploadRefused` before anything on disk changes; nothing can be
written outside the folder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bot.content import Article
from bot.glossary import Glossary, parse_glossary
from bot.parsing import (
    ARTICLE_SUFFIXES,
    DEFAULT_LIMITS,
    GLOSSARY_NAME,
    PARSER_ERRORS,
    ArticleError,
    ContentLimits,
    Problem,
    describe,
    is_article_file,
    parse_article_bytes,
)
from bot.sources import SOURCES_NAME, Sources, parse_sources

T = TypeVar("T")

MAX_UPLOAD_BYTES = DEFAULT_LIMITS.max_bytes  # 1 MB unless CONTENT_MAX_BYTES says otherwise
MAX_NAME_BYTES = 200  # room for the temporary name's prefix within the usual 255
ARTICLE = "article"
GLOSSARY = "glossary"
SOURCES = "sources"
_TEMP_PREFIX = ".upload-"  # hidden, so a load running meanwhile never reads it

# One upload at a time checks the folder and writes: two uploads of "x.md" and "x.txt" at
# once cannot both pass the duplicate-id check.
_write_lock = threading.Lock()


class UploadRefused(ValueError):
    """An upload was refused; nothing on disk changed. `line` is 1-based, or None."""

    def __init__(self, name: str, reason: str, line: int | None = None) -> None:
        self.name = name
        self.reason = reason
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"Refused {display_name(self.name)}: {self.reason}{where}"


@dataclass(frozen=True)
class UploadResult:
    """What an accepted upload did: the file's name in SEEDS_DIR, added or replaced."""

    name: str
    kind: str  # ARTICLE, GLOSSARY or SOURCES
    replaced: bool
    article: Article | None = None
    glossary: Glossary | None = None
    warnings: tuple[Problem, ...] = ()
    sources: Sources | None = None

    def describe(self) -> str:
        """'Added x.md (article "Headline", 5 passages)', as plain text."""
        verb = "Replaced" if self.replaced else "Added"
        if self.article is not None:
            what = (
                f"article {self.article.id!r}, “{self.article.title}”, "
                f"{len(self.article.passages)} passages"
            )
        elif self.sources is not None:
            what = f"source names: {len(self.sources)}"
        else:
            what = f"glossary, {len(self.glossary or ())} aliases"
        return f"{verb} {self.name} ({what})"


def display_name(name: str, limit: int = 80) -> str:
    """A name as it can be shown: control and format characters visible, long names cut."""
    shown = "".join(
        ch.encode("unicode_escape").decode("ascii") if _is_control(ch) else ch for ch in name
    )
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _is_control(ch: str) -> bool:
    # Cc: \x00, \n...; Cf: invisible format characters such as U+202E (right-to-left
    # override, which makes "evil\u202etxt.md" look like "evildm.txt"); Cs, Co, Cn: not text.
    return unicodedata.category(ch)[0] == "C"


def sanitise_name(name: str | None) -> str:
    """The name an upload gets in SEEDS_DIR, or `UploadRefused` saying why it cannot have one.

    A plain file name (Unicode letters welcome) ending in `.txt` or `.md`, the glossary
    `aliases.toml` or `sources.toml`: no path separator, no `..`, not hidden, no control
    characters.
    """
    raw = name or ""
    cleaned = unicodedata.normalize("NFC", raw.strip())
    if not cleaned:
        raise UploadRefused(raw, "the file has no name")
    if any(_is_control(ch) for ch in cleaned):
        raise UploadRefused(raw, "the name contains control or invisible characters")
    if "/" in cleaned or "\\" in cleaned:
        raise UploadRefused(raw, "the name contains a path separator (/ or \\)")
    if ".." in cleaned:
        raise UploadRefused(raw, "the name contains '..'")
    if cleaned.startswith("."):
        raise UploadRefused(raw, "hidden files (a name starting with '.') are not loaded")
    if len(cleaned.encode("utf-8")) > MAX_NAME_BYTES:
        raise UploadRefused(raw, f"the name is longer than {MAX_NAME_BYTES} bytes")
    if cleaned.lower() == GLOSSARY_NAME:
        return GLOSSARY_NAME  # the name load_glossary reads, whatever the case sent
    if cleaned.lower() == SOURCES_NAME:
        return SOURCES_NAME  # the name load_sources reads
    path = Path(cleaned)
    if path.suffix.lower() not in ARTICLE_SUFFIXES:
        raise UploadRefused(
            raw, f"only .txt or .md articles and the glossary {GLOSSARY_NAME} are accepted"
        )
    if not path.stem.strip():
        raise UploadRefused(raw, "the name has nothing before its extension")
    if not is_article_file(path):
        raise UploadRefused(raw, "README files are not loaded as articles")
    return cleaned


def check_upload(name: str | None, size: int | None, max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """What can be checked before downloading: the name and the announced size."""
    safe = sanitise_name(name)
    if size is not None and size > max_bytes:
        raise UploadRefused(
            safe, f"too big: {size:,} bytes, at most {max_bytes:,} ({_megabytes(max_bytes)})"
        )
    return safe


def _megabytes(size: int) -> str:
    """1048576 -> '1 MB'; 1500000 -> '1.43 MB'."""
    megabytes = size / (1024 * 1024)
    return f"{megabytes:g} MB" if megabytes == int(megabytes) else f"{megabytes:.2f} MB"


def accept_upload(
    seeds_dir: Path, name: str | None, data: bytes, limits: ContentLimits = DEFAULT_LIMITS
) -> UploadResult:
    """Validate an uploaded file and write it into `seeds_dir`; raises `UploadRefused`.

    An article is parsed as the folder load would (its id is the name without extension),
    a glossary or sources.toml likewise, with the same content limits; an article whose id
    another file already has in the other format (`x.md` beside `x.txt`) is refused. The
    file then replaces any previous one atomically. Slow on a big file (parsing, the glossary's
    regex): call it in a thread.
    """
    safe = check_upload(name, len(data), limits.max_bytes)
    folder = Path(seeds_dir)
    if not folder.is_dir():
        raise UploadRefused(safe, f"SEEDS_DIR {str(folder)!r} is not a folder")
    if safe == GLOSSARY_NAME:
        glossary = _parse_glossary(safe, data, limits)
        with _write_lock:
            replaced = _write_atomically(folder, safe, data)
        return UploadResult(safe, GLOSSARY, replaced, glossary=glossary)
    if safe == SOURCES_NAME:
        sources = _parse_sources(safe, data, limits)
        with _write_lock:
            replaced = _write_atomically(folder, safe, data)
        return UploadResult(safe, SOURCES, replaced, sources=sources)
    article_id = Path(safe).stem
    try:
        article, warnings = parse_article_bytes(data, article_id, safe, limits)
    except ArticleError as error:
        raise UploadRefused(safe, error.problem.reason, error.problem.line) from None
    except PARSER_ERRORS as error:  # parse_article turns these into ArticleError already
        raise UploadRefused(safe, f"cannot be parsed: {describe(error)}") from None
    with _write_lock:
        other = _same_id(folder, safe, article_id)
        if other is not None:
            raise UploadRefused(
                safe,
                f"duplicate article id {article_id!r} (already in {other}); "
                f"send it as {other} to replace that one",
            )
        replaced = _write_atomically(folder, safe, data)
    return UploadResult(safe, ARTICLE, replaced, article=article, warnings=tuple(warnings))


def _parse_glossary(name: str, data: bytes, limits: ContentLimits) -> Glossary:
    glossary = _parse_toml_upload(name, data, lambda text: parse_glossary(text, name, limits))
    if not len(glossary):
        raise UploadRefused(name, "no aliases: an empty glossary would remove them all")
    return glossary


def _parse_sources(name: str, data: bytes, limits: ContentLimits) -> Sources:
    sources = _parse_toml_upload(name, data, lambda text: parse_sources(text, name, limits))
    if not len(sources):
        raise UploadRefused(name, "no sources: an empty file would remove every source's name")
    return sources


def _parse_toml_upload(name: str, data: bytes, parse: Callable[[str], T]) -> T:
    """An uploaded TOML file (the glossary, sources.toml) decoded and parsed, or refused
    with the line and reason."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UploadRefused(name, f"not UTF-8 (byte 0x{data[error.start]:02x})", line) from None
    try:
        return parse(text)
    except ArticleError as error:
        raise UploadRefused(name, error.problem.reason, error.problem.line) from None
    except PARSER_ERRORS as error:  # the parsers turn these into ArticleError already
        raise UploadRefused(name, f"cannot be parsed: {describe(error)}") from None


def _same_id(folder: Path, name: str, article_id: str) -> str | None:
    """Another article file in `folder` with the same id (x.txt for x.md), if any."""
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.name != name and path.stem == article_id and is_article_file(path):
            return path.name
    return None


def _write_atomically(folder: Path, name: str, data: bytes) -> bool:
    """Write `folder/name` via a temporary file, fsync and rename; True if it replaced one."""
    target = folder / name
    # sanitise_name already rules this out; the last line of defence stays anyway.
    if target.parent.resolve() != folder.resolve() or target.name != name:
        raise UploadRefused(name, "the name would leave SEEDS_DIR")
    if target.is_dir():
        raise UploadRefused(name, "a folder of that name is in the way")
    replaced = target.exists() or target.is_symlink()
    try:
        handle, temp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=".tmp", dir=folder)
    except OSError as error:
        raise UploadRefused(name, f"cannot write it: {error.strerror or error}") from None
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        temp.chmod(0o644)  # mkstemp makes it 0600; the folder's other files are readable
        os.replace(temp, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            temp.unlink()
        if isinstance(error, OSError):
            raise UploadRefused(name, f"cannot write it: {error.strerror or error}") from None
        raise
    _fsync_folder(folder)
    return replaced


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (where the platform allows opening a folder)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
