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
from dataclasses import dataclass, field
from pathlib import Path

from bot.parsing import ArticleError, Problem
from bot.text import normalise

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TOML_POSITION_RE = re.compile(r"\(at line (\d+), column \d+\)")


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
        chinese = [a for a in self.aliases if _CJK_RE.search(a)]
        latin = [a for a in self.aliases if not _CJK_RE.search(a)]
        parts = []
        if chinese:  # Chinese has no word boundaries: these match anywhere
            parts.append(_trie_pattern(chinese, word_end=""))
        if latin:  # whole words only: "ali" must not fire inside "alibaba"
            parts.append(r"(?<![a-z0-9])" + _trie_pattern(latin, word_end=r"(?![a-z0-9])"))
        pattern = re.compile("|".join(parts)) if parts else None
        object.__setattr__(self, "_pattern", pattern)

    def __len__(self) -> int:
        return len(self.aliases)

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

    def branch(node: dict[str, dict]) -> str:
        # Longer continuations first; ending here is the last resort.
        options = [re.escape(c) + branch(child) for c, child in sorted(node.items()) if c]
        if "" in node:
            options.append(word_end)
        if len(options) == 1:
            return options[0]
        return "(?:" + "|".join(options) + ")"

    return branch(trie)


def load_glossary(path: Path) -> Glossary:
    """Read `aliases.toml`; a missing file is an empty glossary. Raises `ArticleError`."""
    if not path.is_file():
        return Glossary()
    name = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ArticleError(Problem(name, 1, f"not UTF-8 ({error.reason})")) from None
    except OSError as error:
        raise ArticleError(Problem(name, 0, f"cannot read: {error.strerror}")) from None
    return parse_glossary(text, name)


def parse_glossary(text: str, name: str = "aliases.toml") -> Glossary:
    """Parse the glossary's TOML; every problem names the file, line and reason."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        position = _TOML_POSITION_RE.search(message)
        # "(at end of document)" comes with an unclosed array or string: point at the end.
        last_line = max(1, len(text.rstrip().splitlines()))
        line = int(position.group(1)) if position else last_line
        reason = _TOML_POSITION_RE.sub("", message).replace("(at end of document)", "").strip()
        raise ArticleError(Problem(name, line, f"not valid TOML: {reason}")) from None
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
    for term, names in table.items():
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ArticleError(
                Problem(name, line_of(term), f"{term!r} must map to a list of strings")
            )
        target = " ".join(normalise(term).split())
        if not target:
            raise ArticleError(Problem(name, line_of(term), "an empty term"))
        for alias in names:
            key = " ".join(normalise(alias).split())
            if not key:
                raise ArticleError(Problem(name, line_of(term), f"an empty alias for {term!r}"))
            if key in aliases and aliases[key] != target:
                raise ArticleError(
                    Problem(
                        name,
                        line_of(alias),
                        f"alias {alias!r} is given for both {aliases[key]!r} and {target!r}",
                    )
                )
            aliases[key] = target
    return Glossary(aliases, name)
