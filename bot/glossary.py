"""The alias glossary (`SEEDS_DIR/aliases.toml`): other names for the words the articles use.

Readers ask about "Aliyun", "capex" or "腾讯"; the articles say "Alibaba Cloud", "capital
expenditure" and "Tencent". The glossary rewrites a question's aliases into the articles'
words, after the same normalisation as the question, before matching.

    [aliases]
    "Alibaba Cloud" = ["Aliyun", "阿里云"]
    "capital expenditure" = ["capex", "资本开支"]
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.parsing import (
    DEFAULT_LIMITS,
    PARSER_ERRORS,
    ArticleError,
    ContentLimits,
    Problem,
    describe,
    read_limited,
)
from bot.text import CJK_RE, normalise

_TOML_POSITION_RE = re.compile(r"\(at line (\d+), column \d+\)")
# The glossary needs two levels of brackets ("[aliases]", a list of aliases; an inline
# table and its lists make three). tomllib parses nesting by recursion, so a value nested
# thousands deep would raise RecursionError; the depth is checked before parsing.
MAX_TOML_DEPTH = 8
# Where the depth scan stops: a quote, a comment, a bracket, a brace.
_TOML_SPECIAL_RE = re.compile(r"[\"'#\[\]{}]")
_BASIC_STRING_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"')


@dataclass(frozen=True)
class Glossary:
    """Alias -> the articles' term, both normalised; applied longest alias first."""

    aliases: dict[str, str] = field(default_factory=dict)
    path: str = ""

    def __post_init__(self) -> None:
        # Longest alias first, so "阿里云" wins over "阿里" and "capital expenditure" is
        # not rewritten twice. The aliases are compiled as tries (one regex branch per
        # shared prefix): a plain alternation of hundreds of aliases made every question
        # try each alias at each position, which cost more than the matching itself.
        object.__setattr__(self, "_pattern", _aliases_pattern(tuple(sorted(self.aliases))))

    def __len__(self) -> int:
        return len(self.aliases)

    def segments(self, normalised_question: str) -> list[tuple[str, str | None]]:
        """The question cut at its aliases: (text, None) for the reader's own words and
        (alias, the articles' term) for each alias, in order."""
        pattern: re.Pattern[str] | None = self._pattern  # type: ignore[attr-defined]
        if pattern is None:
            return [(normalised_question, None)]
        pieces: list[tuple[str, str | None]] = []
        position = 0
        for found in pattern.finditer(normalised_question):
            if found.start() > position:
                pieces.append((normalised_question[position : found.start()], None))
            pieces.append((found.group(0), self.aliases[found.group(0)]))
            position = found.end()
        if position < len(normalised_question):
            pieces.append((normalised_question[position:], None))
        return pieces

    def apply(self, normalised_question: str) -> str:
        """Replace each alias in an already-normalised question by the articles' term."""
        pattern: re.Pattern[str] | None = self._pattern  # type: ignore[attr-defined]
        if pattern is None:
            return normalised_question
        return pattern.sub(lambda m: f" {self.aliases[m.group(0)]} ", normalised_question)


def _trie_pattern(aliases: list[str], word_end: str) -> str:
    """A regex matching any of `aliases`, longest first, built as a trie of their prefixes."""
    trie: dict[str, dict] = {}
    for alias in aliases:
        node = trie
        for character in alias:
            node = node.setdefault(character, {})
        node[""] = {}  # an alias ends here
    return _trie_regex(trie, word_end)


def _trie_regex(trie: dict[str, dict], word_end: str) -> str:
    """The trie as one regex: each node's continuations, longer ones first, then its end.

    Post-order with an explicit stack, not recursion: an alias is a chain of one node per
    character, and a long one would be deeper than Python's recursion limit.
    """
    # Each frame: the node, its remaining children's characters, the options made so far.
    stack: list[tuple[dict[str, dict], list[str], list[str]]] = [(trie, _children(trie), [])]
    leading: list[str] = []  # the character that leads to each frame but the root's
    while True:
        node, children, options = stack[-1]
        if children:
            character = children.pop()
            stack.append((node[character], _children(node[character]), []))
            leading.append(character)
            continue
        stack.pop()
        if "" in node:
            options.append(word_end)  # ending here is the last resort
        pattern = options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"
        if not stack:
            return pattern
        stack[-1][2].append(re.escape(leading.pop()) + pattern)


@lru_cache(maxsize=8)
def _aliases_pattern(aliases: tuple[str, ...]) -> re.Pattern[str] | None:
    """The aliases as one regex of tries, made once for the same aliases: building and
    compiling it is most of a glossary's load, and a reload usually finds it unchanged."""
    chinese = [a for a in aliases if CJK_RE.search(a)]
    latin = [a for a in aliases if not CJK_RE.search(a)]
    parts = []
    if chinese:  # Chinese has no word boundaries: these match anywhere
        parts.append(_trie_pattern(chinese, word_end=""))
    if latin:  # whole words only: "ali" must not fire inside "alibaba"
        parts.append(r"(?<![a-z0-9])" + _trie_pattern(latin, word_end=r"(?![a-z0-9])"))
    return re.compile("|".join(parts)) if parts else None


def _children(node: dict[str, dict]) -> list[str]:
    """A node's continuation characters, reversed so that pop() gives them in sorted order."""
    return sorted((c for c in node if c), reverse=True)


def load_glossary(path: Path, limits: ContentLimits = DEFAULT_LIMITS) -> Glossary:
    """Read `aliases.toml`; a missing file is an empty glossary. Raises `ArticleError`."""
    if not path.is_file():
        return Glossary()
    return parse_glossary(read_toml_text(path, limits), str(path), limits)


def read_toml_text(path: Path, limits: ContentLimits = DEFAULT_LIMITS) -> str:
    """A TOML file's text (UTF-8, a BOM is fine) within the byte limit; raises `ArticleError`."""
    data = read_limited(path, limits.max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ArticleError(Problem(str(path), line, f"not UTF-8 ({error.reason})")) from None


def parse_glossary(
    text: str, name: str = "aliases.toml", limits: ContentLimits = DEFAULT_LIMITS
) -> Glossary:
    """Parse the glossary's TOML; every problem names the file, line and reason.

    Within the limits (nesting, aliases, characters per alias); any other error of the
    TOML parser or of compiling the aliases is an `ArticleError` with a reason too. The
    same text is read once: a reload that finds the glossary unchanged reuses its aliases.
    """
    try:
        aliases = _aliases_of(text, limits)
    except ArticleError as error:  # found without the file's name: put it in
        raise ArticleError(replace(error.problem, file=name)) from None
    return Glossary(aliases, name)


@lru_cache(maxsize=4)
def _aliases_of(text: str, limits: ContentLimits) -> dict[str, str]:
    """The glossary's aliases (alias -> term, normalised), kept for the same text; raises
    `ArticleError` naming no file. Never changed by its callers (a Glossary is frozen)."""
    check_depth(text, "")
    try:
        return _parse_glossary(text, "", limits)
    except ArticleError:
        raise
    except (*PARSER_ERRORS, re.error) as error:
        raise ArticleError(Problem("", 0, f"cannot be parsed: {describe(error)}")) from None


def check_depth(
    text: str, name: str, limit: int = MAX_TOML_DEPTH, needs: str = "the glossary needs 2"
) -> None:
    """Refuse TOML whose brackets and braces nest deeper than `limit`, before tomllib does
    (`needs` says how deep the file's own format goes, for the reason).

    A linear scan that skips strings and comments; it stops at the first bracket too deep.
    """
    depth, position = 0, 0
    while found := _TOML_SPECIAL_RE.search(text, position):
        character, position = found.group(), found.end()
        if character in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, found.start()) + 1
                raise ArticleError(Problem(name, line, f"nested more than {limit} deep ({needs})"))
        elif character in "]}":
            depth = max(0, depth - 1)
        else:
            position = _after_string_or_comment(text, found.start())


def _after_string_or_comment(text: str, start: int) -> int:
    """Where the string or comment starting at `start` ends (the line's end when unclosed)."""
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    opening = text[start : start + 3]
    if opening in ('"""', "'''"):
        close = text.find(opening, start + 3)
        return len(text) if close < 0 else close + 3
    if opening[0] == '"':
        string = _BASIC_STRING_RE.match(text, start, line_end)
        return string.end() if string else line_end
    if opening[0] == "'":
        close = text.find("'", start + 1, line_end)
        return line_end if close < 0 else close + 1
    return line_end  # a comment


def parse_toml(text: str, name: str) -> dict[str, Any]:
    """tomllib's reading of `text`, or `ArticleError` with the line tomllib names.

    Call `check_depth` first: tomllib recurses into nested brackets.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        position = _TOML_POSITION_RE.search(message)
        # "(at end of document)" comes with an unclosed array or string: point at the end.
        last_line = max(1, len(text.rstrip().splitlines()))
        line = int(position.group(1)) if position else last_line
        reason = _TOML_POSITION_RE.sub("", message).replace("(at end of document)", "").strip()
        raise ArticleError(Problem(name, line, f"not valid TOML: {reason}")) from None


def _parse_glossary(text: str, name: str, limits: ContentLimits) -> dict[str, str]:
    """tomllib, then the [aliases] table's checks; raises `ArticleError`."""
    data = parse_toml(text, name)
    lines = text.splitlines()

    def line_of(needle: str) -> int:
        for number, line in enumerate(lines, 1):
            if needle in line:
                return number
        return 1

    unknown = [key for key in data if key != "aliases"]
    if unknown:
        raise ArticleError(
            Problem(name, line_of(unknown[0]), f"unknown table {unknown[0]!r}; use [aliases]")
        )
    table = data.get("aliases", {})
    if not isinstance(table, dict):
        raise ArticleError(Problem(name, line_of("aliases"), "'aliases' must be a table"))
    aliases: dict[str, str] = {}
    count = 0
    for term, names in table.items():
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ArticleError(
                Problem(name, line_of(term), f"{short_repr(term)} must map to a list of strings")
            )
        count += len(names)
        if count > limits.max_aliases:
            raise ArticleError(
                Problem(
                    name,
                    line_of(term),
                    f"too many aliases: more than {limits.max_aliases:,} (GLOSSARY_MAX_ALIASES)",
                )
            )
        target = _checked_length(" ".join(normalise(term).split()), limits, name, line_of, term)
        if not target:
            raise ArticleError(Problem(name, line_of(term), "an empty term"))
        for alias in names:
            key = _checked_length(" ".join(normalise(alias).split()), limits, name, line_of, alias)
            if not key:
                raise ArticleError(
                    Problem(name, line_of(term), f"an empty alias for {short_repr(term)}")
                )
            if key in aliases and aliases[key] != target:
                raise ArticleError(
                    Problem(
                        name,
                        line_of(alias),
                        f"alias {short_repr(alias)} is given for both {aliases[key]!r} "
                        f"and {target!r}",
                    )
                )
            aliases[key] = target
    return aliases


def _checked_length(
    normalised: str, limits: ContentLimits, name: str, line_of: Callable[[str], int], raw: str
) -> str:
    """A normalised term or alias, refused when longer than GLOSSARY_MAX_ALIAS_CHARS."""
    if len(normalised) > limits.max_alias_chars:
        raise ArticleError(
            Problem(
                name,
                line_of(raw[:40]),
                f"{short_repr(raw)} has {len(normalised):,} characters: at most "
                f"{limits.max_alias_chars:,} per term or alias (GLOSSARY_MAX_ALIAS_CHARS)",
            )
        )
    return normalised


def short_repr(text: str, limit: int = 40) -> str:
    """A term or alias as a reason quotes it: repr, cut after `limit` characters."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "…"
