"""Tests for `bot.parsing`: the digest format, the Markdown form, and loading whole folders."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from bot.content import CORE_VIEWPOINT, Article
from bot.parsing import (
    ArticleError,
    LoadResult,
    Problem,
    is_article_file,
    load_folder,
    parse_article_bytes,
    read_article,
)
from tests.conftest import SEED_ID, SEEDS, SHARED

SEED_PATH = SEEDS / f"{SEED_ID}.txt"
SEED_HEADLINE = "全球\u201cAll in AI\u201d 中国科技巨头生态\u201c攻守\u201d"
SEED_SOURCE = "2 1 Shi Ji Jing Ji Bao Dao"
SEED_PUBLISHED = datetime(2025, 5, 29, 14, 12)
SEED_SECTIONS = [
    "AI Development and Scaling Law",
    "Historical Context and Cloud Computing",
    "Competitive Strategies of Major Players",
    "Market Dynamics and Challenges",
]
SEED_BULLET_CITATIONS = [(3, 12), (3, 12), (4, 5), (7,), (9, 10), (12,), (13,), (13,)]
MAKE_CORPUS = SHARED / "tools" / "make_corpus.py"

CITATION_AT_END = re.compile(r"\[\s*\d+\s*\]\W*$")
PROSE = b"Markets were calm on Tuesday.\nInvestors waited for the central bank.\n"

MARKDOWN = """\
# 全球\u201cAll in AI\u201d 中国科技巨头生态\u201c攻守\u201d
Source: 2 1 Shi Ji Jing Ji Bao Dao \u00b7 2025-05-29 14:12

## Core Viewpoint

The article discusses the competitive landscape of AI in China,
driven by the need for computational power [2][10]

## AI Development and Scaling Law

- The emergence of AI technologies is tied to computational power [3][12].
- Even advanced AI models like DeepSeek still require
  significant computational resources [3][12].

## Group 2: Market Dynamics and Challenges

- The rise of open-source models created a competitive environment [13].
"""


# --- helpers -------------------------------------------------------------------------------


def seed_bytes() -> bytes:
    return SEED_PATH.read_bytes()


def seed_lines() -> list[str]:
    """The seed's three lines: body, headline, source."""
    lines = seed_bytes().decode("utf-8").splitlines()
    assert len(lines) == 3
    return lines


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def load_one(folder: Path) -> tuple[Article, LoadResult]:
    result = load_folder(folder)
    assert result.rejected == ()
    assert len(result.articles) == 1
    return result.articles[0], result


def seed_article() -> Article:
    article, warnings = read_article(SEED_PATH)
    assert warnings == []
    return article


def drop_group_bullets(body: str, group: int) -> str:
    """The seed body with every bullet of `Group <group>` removed (its title kept)."""
    start = body.index(f"Group {group}:")
    following = body.find(f"Group {group + 1}:")
    end = following if following != -1 else len(body)
    title = SEED_SECTIONS[group - 1]
    tail = " " + body[end:] if following != -1 else ""
    return body[:start] + f"Group {group}: {title}" + tail


# --- 1. the seed ----------------------------------------------------------------------------


def test_seed_folder_loads_cleanly() -> None:
    result = load_folder(SEEDS)
    assert result.rejected == ()
    assert result.warnings == ()
    assert [a.id for a in result.articles] == [SEED_ID]


def test_seed_read_article_matches_load_folder() -> None:
    article, warnings = read_article(SEED_PATH)
    assert warnings == []
    assert article == load_folder(SEEDS).articles[0]
    assert article.id == SEED_ID
    assert article.path == str(SEED_PATH)


def test_seed_core_viewpoint() -> None:
    core = seed_article().core_viewpoint
    assert core.id == f"{SEED_ID}#0"
    assert core.number == 0
    assert core.section == CORE_VIEWPOINT == "Core Viewpoint"
    assert core.citations == (2, 10)
    assert core.text.startswith("The article discusses the competitive landscape of AI in China")
    assert core.text.endswith(
        "driven by the need for computational power and ecosystem integration."
    )


def test_seed_sections() -> None:
    article = seed_article()
    assert [s.title for s in article.sections] == SEED_SECTIONS
    assert [s.number for s in article.sections] == [1, 2, 3, 4]
    assert [len(s.bullets) for s in article.sections] == [2, 2, 2, 2]
    for section in article.sections:
        assert all(b.section == section.title for b in section.bullets)


def test_seed_bullets_numbered_in_order_with_citations() -> None:
    article = seed_article()
    bullets = [b for s in article.sections for b in s.bullets]
    assert len(bullets) == 8
    assert [b.id for b in bullets] == [f"{SEED_ID}#{n}" for n in range(1, 9)]
    assert [b.number for b in bullets] == list(range(1, 9))
    assert [b.citations for b in bullets] == SEED_BULLET_CITATIONS
    assert article.passages == (article.core_viewpoint, *bullets)
    assert [p.id for p in article.passages] == [f"{SEED_ID}#{n}" for n in range(9)]


def test_seed_passage_texts_lose_markers_and_keep_final_period() -> None:
    for passage in seed_article().passages:
        assert not CITATION_AT_END.search(passage.text), passage.text
        assert "[" not in passage.text and "]" not in passage.text, passage.text
        assert passage.text.endswith("."), passage.text
        assert not passage.text.endswith(".."), passage.text
        assert not passage.text.startswith(("-", " ")), passage.text
        assert "Group " not in passage.text, passage.text


def test_seed_exact_bullet_text() -> None:
    bullets = [b for s in seed_article().sections for b in s.bullets]
    assert bullets[3].text == (
        "Alibaba Cloud has grown to become the largest cloud service provider in China, "
        "serving 4 million customers and reaching 47 million small and medium-sized "
        "enterprises globally, with projected revenues of $6.513 billion in 2024."
    )
    assert bullets[0].text.startswith("The emergence of AI technologies, particularly DeepSeek")


def test_seed_in_word_hyphens_do_not_split_bullets() -> None:
    bullets = [b for s in seed_article().sections for b in s.bullets]
    assert "small and medium-sized enterprises" in bullets[3].text
    assert "open-source models like DeepSeek" in bullets[6].text
    assert not any(b.text.startswith(("sized", "source")) for b in bullets)


def test_seed_headline_source_published() -> None:
    article = seed_article()
    assert article.headline == SEED_HEADLINE
    assert article.title == SEED_HEADLINE
    assert article.source == SEED_SOURCE
    assert article.published == SEED_PUBLISHED
    assert article.published_text == "2025-05-29 14:12"


# --- 2. tolerance ---------------------------------------------------------------------------


def _bom(data: bytes) -> bytes:
    return b"\xef\xbb\xbf" + data


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n")


def _cr(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r")


def _blank_lines(data: bytes) -> bytes:
    return b"\n\n" + data.replace(b"\n", b"\n\n\n") + b"\n\n"


def _trailing_spaces(data: bytes) -> bytes:
    return data.replace(b"\n", b"   \t\n") + b"  \n"


def _everything(data: bytes) -> bytes:
    return _bom(_crlf(_trailing_spaces(_blank_lines(data))))


@pytest.mark.parametrize(
    "variant",
    [_bom, _crlf, _cr, _blank_lines, _trailing_spaces, _everything],
    ids=["bom", "crlf", "cr", "blank-lines", "trailing-spaces", "all-at-once"],
)
def test_tolerated_variants_parse_identically(
    tmp_path: Path, variant: Callable[[bytes], bytes]
) -> None:
    data = variant(seed_bytes())
    assert data != seed_bytes()
    write(tmp_path, f"{SEED_ID}.txt", data)
    article, result = load_one(tmp_path)
    assert result.warnings == ()
    assert article.passages == seed_article().passages
    assert article == seed_article()


def test_missing_headline_warns_and_title_falls_back_to_id(tmp_path: Path) -> None:
    body, _headline, source = seed_lines()
    path = write(tmp_path, "nohead.txt", f"{body}\n{source}\n")
    article, result = load_one(tmp_path)
    assert article.headline == ""
    assert article.title == "nohead"
    assert article.source == SEED_SOURCE
    assert article.published == SEED_PUBLISHED
    assert len(article.passages) == 9
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert warning.file == str(path)
    assert warning.line == 2
    assert "headline" in warning.reason


def test_missing_source_warns(tmp_path: Path) -> None:
    body, headline, _source = seed_lines()
    path = write(tmp_path, "nosource.txt", f"{body}\n{headline}\n")
    article, result = load_one(tmp_path)
    assert article.headline == SEED_HEADLINE
    assert article.source == ""
    assert article.published is None
    assert article.published_text == ""
    assert len(article.passages) == 9
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert warning.file == str(path)
    assert "source" in warning.reason


def test_body_only_warns_twice(tmp_path: Path) -> None:
    body = seed_lines()[0]
    write(tmp_path, "bodyonly.txt", body + "\n")
    article, result = load_one(tmp_path)
    assert article.title == "bodyonly"
    assert article.source == ""
    reasons = " | ".join(w.reason for w in result.warnings)
    assert len(result.warnings) == 2
    assert "headline" in reasons and "source" in reasons


def test_passages_without_markers_have_no_citations(tmp_path: Path) -> None:
    text = MARKDOWN.replace(" [13].", ".").replace(" [2][10]", "")
    write(tmp_path, "m.md", text)
    article, _ = load_one(tmp_path)
    assert article.core_viewpoint.citations == ()
    assert article.core_viewpoint.text.endswith("driven by the need for computational power")
    last = article.sections[-1].bullets[-1]
    assert last.citations == ()
    assert last.text == "The rise of open-source models created a competitive environment."
    assert article.sections[0].bullets[0].citations == (3, 12)


# --- 3. rejections --------------------------------------------------------------------------


def _latin1_on_line_2() -> bytes:
    body, _headline, source = seed_lines()
    return (
        body.encode()
        + b"\n"
        + "Caf\u00e9 soci\u00e9t\u00e9".encode("latin-1")
        + b"\n"
        + source.encode()
    )


def _latin1_on_line_3_crlf() -> bytes:
    body, headline, _source = seed_lines()
    return (
        body.encode()
        + b"\r\n"
        + headline.encode()
        + b"\r\n"
        + "Le Monde \u00b7 2025-05-29".encode("latin-1")
    )


def _digest_last_section_without_bullets() -> bytes:
    return "\n".join([drop_group_bullets(seed_lines()[0], 4), *seed_lines()[1:]]).encode()


def _digest_without_bullets_on_line_2() -> bytes:
    return b"\n" + _digest_last_section_without_bullets()


def _markdown_section_without_bullets() -> bytes:
    # An empty "## Empty Section" (line 15) between two sections that have bullets.
    text = MARKDOWN.replace(
        "## Group 2: Market Dynamics and Challenges\n",
        "## Empty Section\n\n## Group 2: Market Dynamics and Challenges\n",
    )
    assert text.splitlines()[14] == "## Empty Section"
    return text.encode()


REJECTIONS = [
    # (file name, bytes, expected line, phrase in reason)
    ("latin1.txt", _latin1_on_line_2(), 2, "not utf-8"),
    ("latin1crlf.txt", _latin1_on_line_3_crlf(), 3, "not utf-8"),
    ("empty.txt", b"", 1, "empty"),
    ("blank.txt", b"   \n\t\r\n  \n", 1, "empty"),
    ("bom-only.md", b"\xef\xbb\xbf\n", 1, "empty"),
    ("prose.txt", PROSE, 1, "no recognisable structure"),
    ("prose-late.txt", b"\n\n" + PROSE, 3, "no recognisable structure"),
    ("nobullets.txt", _digest_last_section_without_bullets(), 1, "no bullets"),
    ("nobullets2.txt", _digest_without_bullets_on_line_2(), 2, "no bullets"),
    ("nobullets.md", _markdown_section_without_bullets(), 15, "no bullets"),
]


@pytest.mark.parametrize(
    ("name", "data", "line", "phrase"), REJECTIONS, ids=[r[0] for r in REJECTIONS]
)
def test_rejection(tmp_path: Path, name: str, data: bytes, line: int, phrase: str) -> None:
    path = write(tmp_path, name, data)
    result = load_folder(tmp_path)
    assert result.articles == ()
    assert result.warnings == ()
    assert len(result.rejected) == 1
    problem = result.rejected[0]
    assert problem.file == str(path)
    assert problem.line == line
    assert phrase in problem.reason.lower(), problem.reason
    assert str(problem) == f"{path}:{line}: {problem.reason}"


@pytest.mark.parametrize(
    ("name", "data", "line", "phrase"), REJECTIONS, ids=[r[0] for r in REJECTIONS]
)
def test_read_article_raises_article_error(
    tmp_path: Path, name: str, data: bytes, line: int, phrase: str
) -> None:
    path = write(tmp_path, name, data)
    with pytest.raises(ArticleError) as caught:
        read_article(path)
    assert caught.value.problem.file == str(path)
    assert caught.value.problem.line == line
    assert phrase in caught.value.problem.reason.lower()
    assert isinstance(caught.value, ValueError)


def test_digest_middle_section_without_bullets_is_rejected(tmp_path: Path) -> None:
    """A bullet-less 'Group 3:' in the middle must be rejected, not merged into 'Group 4'."""
    body, headline, source = seed_lines()
    broken = drop_group_bullets(body, 3)
    assert "Group 3: Competitive Strategies of Major Players Group 4:" in broken
    path = write(tmp_path, "middle.txt", f"{broken}\n{headline}\n{source}\n")
    result = load_folder(tmp_path)
    loaded = [[s.title for s in a.sections] for a in result.articles]
    assert result.articles == (), f"loaded with sections {loaded}"
    assert len(result.rejected) == 1
    assert result.rejected[0].file == str(path)
    assert result.rejected[0].line == 1
    assert "no bullets" in result.rejected[0].reason


def test_duplicate_id_across_extensions(tmp_path: Path) -> None:
    txt = write(tmp_path, "x.txt", seed_bytes())
    md = write(tmp_path, "x.md", MARKDOWN)
    result = load_folder(tmp_path)
    assert len(result.articles) == 1
    assert result.articles[0].id == "x"
    assert len(result.rejected) == 1
    problem = result.rejected[0]
    assert {result.articles[0].path, problem.file} == {str(txt), str(md)}
    assert "duplicate" in problem.reason.lower()
    assert "'x'" in problem.reason
    assert problem.line == 1


def test_broken_files_never_stop_the_others(tmp_path: Path) -> None:
    write(tmp_path, f"{SEED_ID}.txt", seed_bytes())
    broken = {  # names sort both before and after the seed
        "000_0latin1.txt": _latin1_on_line_2(),
        "000_0empty.txt": b"",
        "aaa_prose.md": PROSE,
        "zzz_nobullets.txt": _digest_last_section_without_bullets(),
        "zzz_nobullets.md": _markdown_section_without_bullets(),
    }
    for name, data in broken.items():
        write(tmp_path, name, data)
    result = load_folder(tmp_path)
    assert [a.id for a in result.articles] == [SEED_ID]
    assert result.articles[0] == seed_article()
    assert sorted(Path(p.file).name for p in result.rejected) == sorted(broken)
    assert result.warnings == ()
    assert result.passage_count == 9


# --- 4. files that are not articles ---------------------------------------------------------


SKIPPED = ["aliases.toml", "README.md", "readme.txt", ".draft.txt", "notes.csv", "README"]


@pytest.mark.parametrize("name", SKIPPED)
def test_is_article_file_rejects_non_articles(name: str) -> None:
    assert not is_article_file(Path(name))


@pytest.mark.parametrize("name", ["a.txt", "a.md", "B.TXT", "x.MD", f"{SEED_ID}.txt"])
def test_is_article_file_accepts_articles(name: str) -> None:
    assert is_article_file(Path(name))


def test_non_article_files_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, f"{SEED_ID}.txt", seed_bytes())
    for name in SKIPPED:
        # Broken content: if any were read, it would show up as a rejection.
        write(tmp_path, name, PROSE)
    (tmp_path / "sub.txt").mkdir()
    write(tmp_path / "sub.txt", "nested.txt", PROSE)
    result = load_folder(tmp_path)
    assert [a.id for a in result.articles] == [SEED_ID]
    assert result.rejected == ()
    assert result.warnings == ()


def test_hidden_file_with_valid_article_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, ".draft.txt", seed_bytes())
    write(tmp_path, "readme.txt", seed_bytes())
    result = load_folder(tmp_path)
    assert result.articles == ()
    assert result.rejected == ()


# --- 5. the Markdown form -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["m.md", "m.txt"])
def test_markdown_form(tmp_path: Path, name: str) -> None:
    write(tmp_path, name, MARKDOWN)
    article, result = load_one(tmp_path)
    assert result.warnings == ()
    assert article.id == "m"
    assert article.headline == SEED_HEADLINE
    assert article.source == SEED_SOURCE
    assert article.published == SEED_PUBLISHED
    assert [p.id for p in article.passages] == ["m#0", "m#1", "m#2", "m#3"]
    core = article.core_viewpoint
    assert core.section == CORE_VIEWPOINT
    assert core.citations == (2, 10)
    assert core.text == (
        "The article discusses the competitive landscape of AI in China, "
        "driven by the need for computational power"
    )
    assert [(s.number, s.title) for s in article.sections] == [
        (1, "AI Development and Scaling Law"),
        (2, "Market Dynamics and Challenges"),
    ]
    bullets = [b for s in article.sections for b in s.bullets]
    assert [b.citations for b in bullets] == [(3, 12), (3, 12), (13,)]
    assert [b.section for b in bullets] == [
        "AI Development and Scaling Law",
        "AI Development and Scaling Law",
        "Market Dynamics and Challenges",
    ]
    assert bullets[0].text == "The emergence of AI technologies is tied to computational power."
    # The bullet continued on the next line is one passage.
    assert bullets[1].text == (
        "Even advanced AI models like DeepSeek still require significant computational resources."
    )
    assert bullets[2].text == "The rise of open-source models created a competitive environment."
    for passage in article.passages:
        assert not CITATION_AT_END.search(passage.text)


def test_markdown_in_txt_with_bom_and_crlf(tmp_path: Path) -> None:
    write(tmp_path, "m.txt", _bom(_crlf(MARKDOWN.encode())))
    article, result = load_one(tmp_path)
    assert result.warnings == ()
    expected, _ = parse_article_bytes(MARKDOWN.encode(), "m", "m.md")
    assert article == expected


def test_digest_in_md_file_is_detected_by_first_line(tmp_path: Path) -> None:
    write(tmp_path, f"{SEED_ID}.md", seed_bytes())
    article, result = load_one(tmp_path)
    assert result.warnings == ()
    assert article == seed_article()


def test_markdown_pipe_separator_in_source(tmp_path: Path) -> None:
    write(tmp_path, "m.md", MARKDOWN.replace("\u00b7", "|"))
    article, _ = load_one(tmp_path)
    assert article.source == SEED_SOURCE
    assert article.published == SEED_PUBLISHED


def test_markdown_missing_source_warns(tmp_path: Path) -> None:
    text = "\n".join(line for line in MARKDOWN.splitlines() if not line.startswith("Source:"))
    write(tmp_path, "m.md", text)
    article, result = load_one(tmp_path)
    assert article.source == ""
    assert article.published is None
    assert len(result.warnings) == 1
    assert "source" in result.warnings[0].reason.lower()


def test_markdown_missing_headline_warns(tmp_path: Path) -> None:
    text = "## Core Viewpoint\n" + MARKDOWN.split("## Core Viewpoint\n", 1)[1]
    write(tmp_path, "m.md", text)
    article, result = load_one(tmp_path)
    assert article.headline == ""
    assert article.title == "m"
    assert len(article.passages) == 4
    reasons = [w.reason.lower() for w in result.warnings]
    assert any("headline" in r for r in reasons), reasons


def test_markdown_starting_with_source_line_is_markdown(tmp_path: Path) -> None:
    text = MARKDOWN.split("\n", 1)[1].lstrip("\n")  # drop the '# headline' line
    assert text.startswith("Source:")
    write(tmp_path, "m.txt", text)
    article, result = load_one(tmp_path)
    assert article.headline == ""
    assert article.published is not None
    assert len(article.passages) == 4
    assert [w.reason for w in result.warnings if "headline" in w.reason.lower()]


# --- 6. whole-folder result -----------------------------------------------------------------


def test_passage_count(tmp_path: Path) -> None:
    write(tmp_path, f"{SEED_ID}.txt", seed_bytes())
    write(tmp_path, "m.md", MARKDOWN)
    result = load_folder(tmp_path)
    assert result.rejected == ()
    assert len(result.articles) == 2
    assert result.passage_count == 9 + 4
    assert load_folder(SEEDS).passage_count == 9


def test_empty_folder(tmp_path: Path) -> None:
    result = load_folder(tmp_path)
    assert result == LoadResult(())
    assert result.passage_count == 0


def test_missing_folder_is_one_rejection(tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist"
    result = load_folder(missing)
    assert result.articles == ()
    assert result.warnings == ()
    assert result.passage_count == 0
    assert len(result.rejected) == 1
    assert isinstance(result.rejected[0], Problem)
    assert result.rejected[0].file == str(missing)
    assert "not a folder" in result.rejected[0].reason


def test_file_instead_of_folder_is_one_rejection() -> None:
    result = load_folder(SEED_PATH)
    assert result.articles == ()
    assert len(result.rejected) == 1
    assert result.rejected[0].file == str(SEED_PATH)


# --- 7. the synthetic corpus ----------------------------------------------------------------


@pytest.mark.needs_shared
def test_synthetic_corpus_loads_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    subprocess.run(
        [sys.executable, str(MAKE_CORPUS), str(out), "--articles", "50", "--seed", "1"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    files = sorted(p for p in out.iterdir() if p.suffix == ".txt")
    assert len(files) == 50
    result = load_folder(out)
    assert result.rejected == ()
    assert result.warnings == ()
    assert sorted(a.id for a in result.articles) == [p.stem for p in files]
    group_marker = re.compile(r" Group \d+\s*:")
    for article in result.articles:
        assert article.core_viewpoint.text
        assert article.core_viewpoint.number == 0
        assert len(article.sections) >= 1
        assert article.headline
        assert article.source
        assert article.published is not None
        for section in article.sections:
            assert section.bullets, section.title
            assert not group_marker.search(" " + section.title), section.title
        for passage in article.passages:
            assert not group_marker.search(passage.text), passage.id
            assert not CITATION_AT_END.search(passage.text), passage.id
            assert passage.citations, passage.id
    assert result.passage_count == sum(len(a.passages) for a in result.articles)
    assert result.passage_count > 100
