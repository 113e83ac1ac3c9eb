"""Readable citations, the data side: display sources, English titles, links.

The Markdown form's front matter (`Source-Name:`, `Title-En:`, `Link:`), `sources.toml`
naming the sources digests write in transliteration, and the `Citation` built from them.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.content import CORE_VIEWPOINT, Article, Passage, SourceInfo, citation
from bot.parsing import is_article_file, is_web_link, parse_article

MARKDOWN = """# 阿里云季度业绩
Source: 2 1 Shi Ji Jing Ji Bao Dao · 2025-05-29 14:12
Source-Name: 21st Century Business Herald
Title-En: Alibaba Cloud's quarter
Link: https://www.21jingji.com/article/20250529/alibaba.html

## Core Viewpoint
Alibaba Cloud's growth is driven by AI demand [1][2].

## Revenue
- Cloud revenue rose 18% year on year [3].
"""


def article_of(text: str) -> tuple[Article, list[str]]:
    article, warnings = parse_article(text, "x", "x.md")
    return article, [f"{w.line}: {w.reason}" for w in warnings]


# --- the Markdown form's front matter ------------------------------------------------------


def test_front_matter_gives_display_source_english_title_and_link() -> None:
    article, warnings = article_of(MARKDOWN)
    assert warnings == []
    assert article.source == "2 1 Shi Ji Jing Ji Bao Dao"  # as written, still
    assert article.source_name == "21st Century Business Herald"
    assert article.display_source == "21st Century Business Herald"
    assert article.english_title == "Alibaba Cloud's quarter"
    assert article.link == "https://www.21jingji.com/article/20250529/alibaba.html"
    assert article.headline == "阿里云季度业绩"
    assert article.published == datetime(2025, 5, 29, 14, 12)
    assert [p.citations for p in article.passages] == [(1, 2), (3,)]


def test_front_matter_is_optional_and_the_source_stands_in() -> None:
    text = "\n".join(
        line for line in MARKDOWN.splitlines() if not line.startswith(("Source-", "Title", "Link"))
    )
    article, warnings = article_of(text)
    assert warnings == []
    assert (article.source_name, article.english_title, article.link) == (None, None, None)
    assert article.display_source == "2 1 Shi Ji Jing Ji Bao Dao"


def test_front_matter_keys_any_case_any_order_even_first() -> None:
    text = "link:https://example.com/a\nTITLE-EN :  Quarter \n# 阿里云\nSource: Wire · 2025-01-02\n"
    article, warnings = article_of(text + "## Core Viewpoint\nA [1].\n")
    assert warnings == []
    assert (article.english_title, article.link) == ("Quarter", "https://example.com/a")
    assert (article.headline, article.display_source) == ("阿里云", "Wire")


def front_matter(*lines: str) -> str:
    return "# 阿里云\nSource: Wire · 2025-01-02\n" + "\n".join(lines) + "\n## Core Viewpoint\nA.\n"


@pytest.mark.parametrize(
    ("line", "warning"),
    [
        ("Link: javascript:alert(1)", "'Link:' is not an http(s) address, ignored"),
        ("Link: www.21jingji.com", "'Link:' is not an http(s) address, ignored"),
        ('Link: https://a.com/"><b>x', "'Link:' is not an http(s) address, ignored"),
        ("Link: https://a.com/a b", "'Link:' is not an http(s) address, ignored"),
        ("Title-En:", "an empty 'Title-En:' line ignored"),
        ("Source-Name:   ", "an empty 'Source-Name:' line ignored"),
    ],
)
def test_a_bad_front_matter_line_is_a_warning_and_ignored(line: str, warning: str) -> None:
    article, warnings = article_of(front_matter(line))
    assert len(warnings) == 1 and warnings[0].startswith(f"3: {warning}"), warnings
    assert (article.source_name, article.english_title, article.link) == (None, None, None)


def test_a_second_front_matter_line_is_a_warning_and_the_first_kept() -> None:
    article, warnings = article_of(front_matter("Title-En: One", "title-en: Two"))
    assert warnings == ["4: a second 'Title-En:' line ignored"]
    assert article.english_title == "One"


def test_an_oversized_front_matter_line_is_refused_with_its_line() -> None:
    from bot.parsing import ArticleError

    text = MARKDOWN.replace("Title-En: Alibaba Cloud's quarter", "Title-En: " + "q" * 400)
    with pytest.raises(ArticleError) as caught:
        parse_article(text, "x", "x.md")
    problem = caught.value.problem
    assert (problem.file, problem.line) == ("x.md", 4)
    assert problem.reason.startswith("a 'Title-En:' line of 410 characters: at most 300")


def test_front_matter_after_the_first_section_is_not_front_matter() -> None:
    from bot.parsing import ArticleError

    with pytest.raises(ArticleError, match="expected a '- ' bullet, got 'Link: https"):
        parse_article(MARKDOWN + "\nLink: https://example.com/\n", "x", "x.md")


@pytest.mark.parametrize(
    ("link", "good"),
    [
        ("https://www.21jingji.com/", True),
        ("http://example.com/a?b=c&d=e#f", True),
        ("HTTPS://EXAMPLE.COM", True),
        ("https://例子.中国/新闻", True),
        ("ftp://example.com/", False),
        ("https:///path", False),
        ("//example.com", False),
        ("https://[::1", False),  # urlsplit raises
        ("https://a.com/\u202etxt", False),
        ("https://a.com/<script>", False),
        ("https://a.com/" + "a" * 300, False),
        ("", False),
    ],
)
def test_is_web_link(link: str, good: bool) -> None:
    assert is_web_link(link) is good


def test_sources_toml_is_not_an_article() -> None:
    from pathlib import Path

    assert not is_article_file(Path("sources.toml"))


# --- the citation -------------------------------------------------------------------------


def passage(number: int = 1, citations: tuple[int, ...] = (3, 12)) -> Passage:
    return Passage("x", number, "Revenue", "Cloud revenue rose.", citations)


def article(
    source_name: str | None = None,
    english_title: str | None = None,
    link: str | None = None,
    source_info: SourceInfo | None = None,
) -> Article:
    core = Passage("x", 0, CORE_VIEWPOINT, "Core.", (1,))
    published = datetime(2025, 5, 29, 14, 12)
    return Article(
        "x",
        "阿里云",
        "2 1 Shi Ji Jing Ji Bao Dao",
        published,
        core,
        (),
        source_name=source_name,
        english_title=english_title,
        link=link,
        source_info=source_info,
    )


def test_citation_of_a_bare_article_is_what_it_wrote() -> None:
    cited = citation(article(), passage())
    assert cited.source == "2 1 Shi Ji Jing Ji Bao Dao"
    assert (cited.date, cited.paragraphs, cited.headline) == ("2025-05-29 14:12", (3, 12), "阿里云")
    assert (cited.english_title, cited.link, cited.source_zh, cited.source_home) == (
        None,
        None,
        None,
        None,
    )


def test_citation_uses_the_display_source_and_english_title() -> None:
    info = SourceInfo("21st Century Business Herald", "21世纪经济报道", "https://www.21jingji.com/")
    cited = citation(
        article(source_info=info, english_title="Cloud quarter", link="https://a.com/x"),
        passage(),
    )
    assert cited.source == "21st Century Business Herald"
    assert cited.source_zh == "21世纪经济报道"
    assert cited.source_home == "https://www.21jingji.com/"
    assert (cited.english_title, cited.link) == ("Cloud quarter", "https://a.com/x")


def test_the_articles_own_source_name_wins_over_sources_toml() -> None:
    info = SourceInfo("21st Century Business Herald")
    assert article(source_info=info, source_name="21CBH").display_source == "21CBH"
    assert citation(article(source_info=info, source_name="21CBH"), passage()).source == "21CBH"


def test_an_english_title_equal_to_the_headline_is_not_repeated() -> None:
    cited = citation(article(english_title="阿里云"), passage())
    assert cited.english_title is None


def test_citation_of_an_undated_article_without_headline() -> None:
    core = Passage("bare", 0, CORE_VIEWPOINT, "Core.")
    cited = citation(Article("bare", "", "", None, core, ()), core)
    assert (cited.source, cited.date, cited.paragraphs, cited.headline) == ("", "", (), "bare")
