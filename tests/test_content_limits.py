"""Content limits and hostile files: every one is a refusal with a file, a line and a reason.

Articles (passages per article, characters per passage, bytes per file), the glossary
(nesting depth, aliases, characters per alias), any error a parser raises, and the work a
button press does on the event loop, which must not grow faster than the content.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

import bot.glossary
import bot.parsing
from bot.callbacks import _digest, article_version, passage_version, summary_data
from bot.config import (
    DEFAULT_ARTICLE_MAX_PASSAGE_CHARS,
    DEFAULT_ARTICLE_MAX_PASSAGES,
    Settings,
    load_settings,
)
from bot.glossary import MAX_TOML_DEPTH, check_depth, load_glossary, parse_glossary
from bot.library import Library, load_library
from bot.parsing import (
    DEFAULT_LIMITS,
    MAX_LABEL_CHARS,
    ArticleError,
    ContentLimits,
    load_folder,
    parse_article,
    parse_article_bytes,
)
from bot.text import normalise
from bot.uploads import UploadRefused, accept_upload
from tests.conftest import ROOT, ROVER, SEEDS

MAKE_CORPUS = ROOT.parent / "shared" / "tools" / "make_corpus.py"
SMALL = ContentLimits(max_passages=5, max_passage_chars=100, max_aliases=3, max_alias_chars=10)
# A hostile file must be refused (or loaded) in well under this, even on a slow machine.
QUICK_SECONDS = 3.0


def digest(bullets: int, text: str = "A point about cloud capex") -> str:
    """A digest-format article with a core viewpoint and `bullets` bullets in one section."""
    body = " - ".join(f"{text} {i} [1]." for i in range(bullets))
    trailer = "Headline\nDesk·2025-06-01 10:00\n"
    return f"Core Viewpoint - The gist [1]. Group 1: Points - {body}\n{trailer}"


def markdown(bullets: int, text: str = "A point") -> str:
    """A Markdown article with `bullets` bullets (line 6 is the first)."""
    lines = ["# Headline", "Source: Desk · 2025-06-01 10:00", "## Core Viewpoint", "The gist."]
    lines += ["## Points", *(f"- {text} {i} [2]." for i in range(bullets))]
    return "\n".join(lines) + "\n"


def one_line_megabyte() -> str:
    """The operator's file: 1 MB of one line, 16,329 passages (just under 1 MB here)."""
    bullets = " - ".join(
        f"Point {i} about cloud capital expenditure growth [{i % 9 + 1}]." for i in range(16_328)
    )
    return f"Core Viewpoint - Big. Group 1: All - {bullets}\nOne line\nX·2025-06-01 10:00\n"


def refusal(text: str, limits: ContentLimits = DEFAULT_LIMITS) -> bot.parsing.Problem:
    with pytest.raises(ArticleError) as raised:
        parse_article(text, "x", "x.txt", limits)
    return raised.value.problem


# --- articles -------------------------------------------------------------------------------


def test_the_passage_limit_counts_the_core_viewpoint() -> None:
    article, _ = parse_article(digest(4), "x", "x.txt", SMALL)
    assert len(article.passages) == 5
    problem = refusal(digest(5), SMALL)
    assert (problem.line, problem.reason) == (
        1,
        "too many passages: more than 5 (ARTICLE_MAX_PASSAGES; the core viewpoint counts as one)",
    )


def test_markdown_past_the_passage_limit_names_the_first_bullet_too_many() -> None:
    assert len(parse_article(markdown(4), "x", "x.md", SMALL)[0].passages) == 5
    problem = refusal(markdown(9), SMALL)
    assert problem.line == 10  # bullets start on line 6: the fifth bullet is the sixth passage
    assert problem.reason.startswith("too many passages: more than 5")


def test_a_passage_over_the_character_limit_is_refused_with_its_line() -> None:
    head = "# H\n## Core Viewpoint\nGist.\n## Points\n"
    exact = parse_article(head + "- " + "x" * 99 + ". [2]\n", "x", "x.md", SMALL)[0]
    assert exact.passages[1].text == "x" * 99 + "."  # 100 characters: at the limit
    over = refusal(head + "- " + "x" * 100 + ". [2]\n", SMALL)
    assert (over.line, over.reason) == (
        5,
        "a passage of 101 characters in 'Points': at most 100 (ARTICLE_MAX_PASSAGE_CHARS)",
    )
    problem = refusal(markdown(2, "y" * 120), SMALL)
    assert problem.line == 6
    assert problem.reason == (
        "a passage of 123 characters in 'Points': at most 100 (ARTICLE_MAX_PASSAGE_CHARS)"
    )
    core = refusal("Core Viewpoint - " + "z" * 200 + "\nH\nD·2025-06-01 10:00\n", SMALL)
    assert core.line == 1 and "in 'Core Viewpoint'" in core.reason


def test_citation_markers_do_not_count_against_the_character_limit() -> None:
    text = "w" * 98 + " [1][2][3][4][5][6][7][8][9][10][11][12]."
    article, _ = parse_article(markdown(1, text)[: -len(" 0 [2].\n")] + "\n", "x", "x.md", SMALL)
    assert article.passages[1].citations == (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
    # ... but a passage of nothing but markers past twice the limit is refused unsplit.
    assert "a passage of" in refusal(markdown(1, "w" + "[1]" * 100), SMALL).reason


def test_a_headline_past_the_label_limit_is_refused() -> None:
    problem = refusal(f"# {'h' * (MAX_LABEL_CHARS + 1)}\n## Core Viewpoint\nGist.\n")
    assert (problem.line, problem.reason) == (1, "a headline of 301 characters: at most 300")
    spaced = "Core Viewpoint - Gist.\nHeadline\nDesk" + " " * 500_000 + "x\n"
    assert refusal(spaced).reason == "a headline or source line of 500,005 characters: at most 300"


def test_invalid_utf8_is_refused_with_its_line() -> None:
    with pytest.raises(ArticleError) as raised:
        parse_article_bytes(b"Core Viewpoint - ok.\nHead\n\xff\xfe\n", "x", "x.txt")
    assert raised.value.problem.line == 3
    assert raised.value.problem.reason == "not UTF-8 (byte 0xff); save it as UTF-8"


def test_a_one_line_megabyte_article_is_refused_quickly() -> None:
    text = one_line_megabyte()
    assert 900_000 < len(text.encode()) <= DEFAULT_LIMITS.max_bytes
    started = time.perf_counter()
    problem = refusal(text)
    assert time.perf_counter() - started < QUICK_SECONDS
    assert (problem.line, problem.reason) == (
        1,
        "too many passages: more than 200 (ARTICLE_MAX_PASSAGES; the core viewpoint counts as one)",
    )


@pytest.mark.parametrize(
    "text",
    [
        "Core Viewpoint - x " + "Group 5: " * 110_000,  # "Group N:" that stays text
        "Core Viewpoint - x" + "[1]" * 330_000,  # a megabyte of citation markers
        "Core Viewpoint - x [" + "9" * 100_000 + "]",  # past int()'s 4,300 digits
        "Core Viewpoint - " + "[" * 400_000 + "1" + "]" * 400_000,
        "# h\n## Core Viewpoint\nx\n## S\n- a\n" + "b\n" * 400_000,  # a bullet's continuations
        "# h\n## Core Viewpoint\nx\n## S\n" + "- a\n" * 250_000,
    ],
    ids=["groups", "markers", "digits", "brackets", "continuations", "bullets"],
)
def test_hostile_megabytes_are_refused_in_linear_time(text: str) -> None:
    started = time.perf_counter()
    problem = refusal(text)
    assert time.perf_counter() - started < QUICK_SECONDS
    assert problem.reason.startswith(("a passage of", "too many passages"))


def test_a_parser_error_becomes_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(body: str) -> list[str]:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(bot.parsing, "_split_groups", explode)
    problem = refusal(digest(1))
    assert (problem.file, problem.line, problem.reason) == (
        "x.txt",
        0,
        "cannot be parsed: nested too deep",
    )


def test_a_file_over_the_byte_limit_is_refused_and_the_others_load(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_bytes(b"x" * 2_000)
    (tmp_path / "rover.md").write_bytes(ROVER)
    (tmp_path / "many.txt").write_text(digest(20), encoding="utf-8")
    result = load_folder(tmp_path, ContentLimits(max_passages=10, max_bytes=1_500))
    assert [a.id for a in result.articles] == ["rover"]
    assert {Path(p.file).name: (p.line, p.reason) for p in result.rejected} == {
        "big.txt": (0, "too big: over 1,500 bytes (CONTENT_MAX_BYTES)"),
        "many.txt": (
            1,
            "too many passages: more than 10 (ARTICLE_MAX_PASSAGES; the core "
            "viewpoint counts as one)",
        ),
    }


def test_the_settings_set_the_limits(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "SEEDS_DIR": str(SEEDS),
            "ARTICLE_MAX_PASSAGES": "5",
            "ARTICLE_MAX_PASSAGE_CHARS": "300",
            "CONTENT_MAX_BYTES": "4096",
            "GLOSSARY_MAX_ALIASES": "10",
            "GLOSSARY_MAX_ALIAS_CHARS": "30",
        },
        env_file=None,
    )
    assert ContentLimits.of(settings) == ContentLimits(5, 300, 4096, 10, 30)
    library, loaded = load_library(settings)
    assert library.articles == ()
    reasons = sorted(p.reason for p in loaded.rejected)
    assert reasons[0].startswith("too big: over 4,096 bytes")  # the bundled glossary
    assert reasons[1].startswith("too many passages: more than 5")
    defaults = load_settings({}, env_file=None)
    assert ContentLimits.of(defaults) == DEFAULT_LIMITS


def test_the_seed_stays_far_inside_the_limits(library: Library) -> None:
    for article in library.articles:
        assert len(article.passages) * 10 <= DEFAULT_ARTICLE_MAX_PASSAGES
        assert max(len(p.text) for p in article.passages) * 5 <= DEFAULT_ARTICLE_MAX_PASSAGE_CHARS
    aliases = tomllib.loads((SEEDS / "aliases.toml").read_text(encoding="utf-8"))["aliases"]
    names = [a for names in aliases.values() for a in names]
    assert len(names) * 10 <= DEFAULT_LIMITS.max_aliases
    assert max(len(normalise(n)) for n in [*names, *aliases]) * 2 <= DEFAULT_LIMITS.max_alias_chars


def test_the_synthetic_corpus_stays_far_inside_the_limits(tmp_path: Path) -> None:
    if not MAKE_CORPUS.is_file():
        pytest.skip(f"{MAKE_CORPUS} is absent")
    out = tmp_path / "corpus"
    subprocess.run(
        [sys.executable, str(MAKE_CORPUS), str(out), "--articles", "1000", "--seed", "1"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    loaded = load_folder(out)
    assert len(loaded.articles) == 1000 and loaded.rejected == ()
    assert max(len(a.passages) for a in loaded.articles) * 10 <= DEFAULT_ARTICLE_MAX_PASSAGES
    longest = max(len(p.text) for a in loaded.articles for p in a.passages)
    assert longest * 5 <= DEFAULT_ARTICLE_MAX_PASSAGE_CHARS


# --- the glossary ---------------------------------------------------------------------------


def glossary_refusal(text: str, limits: ContentLimits = DEFAULT_LIMITS) -> bot.parsing.Problem:
    with pytest.raises(ArticleError) as raised:
        parse_glossary(text, "aliases.toml", limits)
    return raised.value.problem


@pytest.mark.parametrize(
    "value",
    ["[" * 5000 + "]" * 5000, "{a=" * 5000 + "1" + "}" * 5000],
    ids=["arrays", "inline tables"],
)
def test_a_toml_nested_5000_deep_is_refused_with_its_line(value: str) -> None:
    problem = glossary_refusal(f'# deep\n[aliases]\n"x" = {value}\n')
    assert (problem.line, problem.reason) == (3, "nested more than 8 deep (the glossary needs 2)")


def test_brackets_in_strings_and_comments_are_not_nesting() -> None:
    text = (
        '[aliases]  # [[[[[[[[[[[[[[[[[[\n"x" = ["[[[[[[[[[[[[", \'{{{{{{{{{{{\', '
        '"""[[[[[[[[[[\n[[[[[[[[[[[""", "\\"[[[[[[[[[["]\n'
    )
    check_depth(text, "aliases.toml")
    assert len(parse_glossary(text, "aliases.toml", ContentLimits(max_alias_chars=50))) == 4
    assert MAX_TOML_DEPTH == 8


def test_tomllib_recursion_is_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    def deep(text: str) -> dict:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(bot.glossary.tomllib, "loads", deep)
    problem = glossary_refusal('[aliases]\n"x" = ["y"]\n')
    assert (problem.line, problem.reason) == (0, "cannot be parsed: nested too deep")


def test_a_value_error_of_the_toml_parser_is_a_refusal() -> None:
    problem = glossary_refusal("[aliases]\nx = " + "9" * 5000 + "\n")
    assert problem.reason.startswith("cannot be parsed: ValueError: Exceeds the limit")


def test_an_alias_of_5000_characters_is_refused_with_its_line() -> None:
    problem = glossary_refusal('[aliases]\n"Tencent" = ["腾讯",\n  "' + "a" * 5000 + '"]\n')
    assert problem.line == 3
    assert problem.reason == (
        f"'{'a' * 40}'… has 5,000 characters: at most 100 per term or alias "
        "(GLOSSARY_MAX_ALIAS_CHARS)"
    )
    term = glossary_refusal(f'[aliases]\n"{"t" * 101}" = ["x"]\n')
    assert term.line == 2 and "has 101 characters" in term.reason


def test_too_many_aliases_are_refused() -> None:
    text = "[aliases]\n" + "".join(f'"t{i}" = ["a{i}", "b{i}"]\n' for i in range(2))
    problem = glossary_refusal(text, SMALL)
    assert (problem.line, problem.reason) == (
        3,
        "too many aliases: more than 3 (GLOSSARY_MAX_ALIASES)",
    )


def test_the_trie_takes_aliases_of_any_length_without_recursion() -> None:
    # Past the recursion limit, when the settings allow such aliases.
    long = "b" * 5000
    text = f'[aliases]\n"beta" = ["{long}", "{long[:-1]}c"]\n"alpha" = ["{long}x"]\n'
    glossary = parse_glossary(text, "aliases.toml", ContentLimits(max_alias_chars=6000))
    assert glossary.apply(f"a {long} z").split() == ["a", "beta", "z"]
    assert glossary.apply(f"{long}x").split() == ["alpha"]


def _recursive_trie(aliases: list[str], word_end: str) -> str:
    """The former recursive trie, as the reference the iterative one must equal."""
    trie: dict[str, dict] = {}
    for alias in aliases:
        node = trie
        for character in alias:
            node = node.setdefault(character, {})
        node[""] = {}

    def branch(node: dict[str, dict]) -> str:
        options = [re.escape(c) + branch(child) for c, child in sorted(node.items()) if c]
        if "" in node:
            options.append(word_end)
        return options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"

    return branch(trie)


def test_the_iterative_trie_equals_the_recursive_one() -> None:
    aliases = list(load_glossary(SEEDS / "aliases.toml").aliases)
    for subset in (aliases, aliases[:1], ["a", "ab", "abc", "b"], ["x"]):
        for word_end in ("", r"(?![a-z0-9])"):
            assert bot.glossary._trie_pattern(subset, word_end) == _recursive_trie(subset, word_end)


def test_a_glossary_over_the_byte_limit_or_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "aliases.toml"
    path.write_bytes(b'[aliases]\n"x" = ["y"]\n' + b"#" * 100)
    with pytest.raises(ArticleError, match=r"too big: over 50 bytes"):
        load_glossary(path, ContentLimits(max_bytes=50))
    path.write_bytes(b'[aliases]\n"x" = ["\xff"]\n')
    with pytest.raises(ArticleError) as raised:
        load_glossary(path)
    assert raised.value.problem.line == 2
    assert raised.value.problem.reason.startswith("not UTF-8")


def test_a_bad_glossary_at_load_is_rejected_and_the_articles_still_load(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "rover.md").write_bytes(ROVER)
    (seeds / "aliases.toml").write_text("[aliases]\nx = " + "[" * 5000 + "]" * 5000)
    settings = load_settings({"SEEDS_DIR": str(seeds)}, env_file=None)
    library, loaded = load_library(settings)
    assert [a.id for a in library.articles] == ["rover"]
    assert len(library.glossary) == 0
    assert [str(p) for p in loaded.rejected] == [
        f"{seeds / 'aliases.toml'}:2: nested more than 8 deep (the glossary needs 2)"
    ]
    # A reload keeps the glossary it had.
    (seeds / "aliases.toml").write_text('[aliases]\n"rover" = ["月球车"]\n', encoding="utf-8")
    good, _ = load_library(settings)
    (seeds / "aliases.toml").write_text('[aliases]\n"x" = ["' + "a" * 5000 + '"]\n')
    again, loaded = load_library(settings, previous=good)
    assert again.glossary is good.glossary
    assert "GLOSSARY_MAX_ALIAS_CHARS" in loaded.rejected[0].reason


# --- uploads --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "line", "reason"),
    [
        ("aliases.toml", b'[aliases]\n"x" = ' + b"[" * 5000 + b"]" * 5000, 2, "nested more than 8"),
        ("aliases.toml", b'[aliases]\n"x" = ["' + b"a" * 5000 + b'"]', 2, "has 5,000 characters"),
        ("big.txt", one_line_megabyte().encode(), 1, "too many passages: more than 200"),
        ("long.md", markdown(1, "w" * 3000).encode(), 6, "a passage of 3,003 characters"),
        ("bad.txt", b"Core Viewpoint - \xff", 1, "not UTF-8 (byte 0xff)"),
    ],
)
def test_uploads_past_a_limit_are_refused_and_nothing_is_written(
    tmp_path: Path, name: str, data: bytes, line: int, reason: str
) -> None:
    with pytest.raises(UploadRefused) as refused:
        accept_upload(tmp_path, name, data)
    assert refused.value.line == line
    assert reason in refused.value.reason
    assert list(tmp_path.iterdir()) == []


def test_an_upload_uses_the_limits_given(tmp_path: Path) -> None:
    with pytest.raises(UploadRefused, match=r"too big: 1,000 bytes, at most 999 \(0.00 MB\)"):
        accept_upload(tmp_path, "x.txt", b"x" * 1000, ContentLimits(max_bytes=999))
    with pytest.raises(UploadRefused, match="more than 5"):
        accept_upload(tmp_path, "x.txt", digest(5).encode(), SMALL)
    assert accept_upload(tmp_path, "x.txt", digest(4).encode(), SMALL).article is not None


# --- versions: linear, stable ---------------------------------------------------------------


def test_article_version_is_linear_and_memoised_per_object() -> None:
    text = digest(DEFAULT_ARTICLE_MAX_PASSAGES * 80)  # 16,000 passages, past the limit
    article, _ = parse_article(text, "x", "x.txt", ContentLimits(max_passages=20_000))
    started = time.perf_counter()
    version = article_version(article)
    assert time.perf_counter() - started < 1.0  # was 46 s: quadratic
    assert summary_data(article).endswith(f":{version}")
    assert vars(article)["_callback_version"] == version  # the memo lives on the object
    # The same value as before the memo: a digest of every passage's version.
    expected = _digest(*(passage_version(p, article) for p in article.passages), length=6)
    assert version == expected


def test_versions_are_stable_across_loads() -> None:
    first = load_folder(SEEDS).articles[0]
    second = load_folder(SEEDS).articles[0]
    assert first is not second
    assert article_version(first) == article_version(second) == "547e00"  # as before the memo
    assert passage_version(first.passages[3], first) == passage_version(second.passages[3], second)


def test_loading_builds_button_tables_and_versions() -> None:
    from bot.state import load_content

    library, keys, _ = load_content(Settings(seeds_dir=SEEDS))
    assert "_callback_version" in vars(library.articles[0])
    assert len(keys.passages) == library.passage_count
    assert len(keys.articles) == len(library.articles)
