"""Readable citations, the data side: display sources, English titles, links.

The Markdown form's front matter (`Source-Name:`, `Title-En:`, `Link:`), `sources.toml`
naming the sources digests write in transliteration, and the `Citation` built from them.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from bot.answers import Match
from bot.cli import check
from bot.config import Settings
from bot.content import CORE_VIEWPOINT, Article, Citation, Passage, SourceInfo, citation
from bot.library import load_library
from bot.parsing import ArticleError, ContentLimits, is_article_file, is_web_link, parse_article
from bot.rendering import (
    HTML,
    PLAIN,
    render_answer,
    render_article_list,
    render_match,
    render_summary,
)
from bot.sources import Sources, load_sources, parse_sources, source_key
from bot.uploads import SOURCES, UploadRefused, accept_upload, sanitise_name
from tests.conftest import ROOT, SEEDS

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
    text = MARKDOWN.replace("Title-En: Alibaba Cloud's quarter", "Title-En: " + "q" * 400)
    with pytest.raises(ArticleError) as caught:
        parse_article(text, "x", "x.md")
    problem = caught.value.problem
    assert (problem.file, problem.line) == ("x.md", 4)
    assert problem.reason.startswith("a 'Title-En:' line of 410 characters: at most 300")


def test_front_matter_after_the_first_section_is_not_front_matter() -> None:
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


# --- sources.toml ---------------------------------------------------------------------------

SEED_TOML = SEEDS / "sources.toml"
TEST_TOML = ROOT / "tests" / "data" / "sources.toml"
HERALD = SourceInfo("21st Century Business Herald", "21世纪经济报道", "https://www.21jingji.com/")


def test_the_bundled_sources_name_the_seeds_source() -> None:
    sources = load_sources(SEED_TOML)
    assert len(sources) == 1
    assert sources.lookup("2 1 Shi Ji Jing Ji Bao Dao") == HERALD
    # As the digest writes it, give or take case, spacing and full-width characters.
    assert sources.lookup("2 1 shi ji  jing ji BAO DAO") == HERALD
    assert sources.lookup("２１ Shi Ji Jing Ji Bao Dao") is None  # "21" is not "2 1"
    assert sources.lookup("２ １ Shi Ji Jing Ji Bao Dao") == HERALD
    assert sources.lookup("") is None and sources.lookup("Cai Xin") is None


def test_the_seeds_citation_shows_the_herald() -> None:
    library, loaded = load_library(Settings(seeds_dir=SEEDS))
    assert loaded.rejected == ()
    (article,) = library.articles
    assert article.source == "2 1 Shi Ji Jing Ji Bao Dao"
    assert article.display_source == "21st Century Business Herald"
    answer = library.ask("How many customers does Alibaba Cloud serve?")
    assert answer.best is not None
    cited = citation(answer.best.article, answer.best.passage)
    assert cited == Citation(
        source="21st Century Business Herald",
        date="2025-05-29 14:12",
        paragraphs=(7,),
        headline="全球“All in AI” 中国科技巨头生态“攻守”",
        source_zh="21世纪经济报道",
        source_home="https://www.21jingji.com/",
    )
    for markup in (PLAIN, HTML):
        shown = render_answer(answer, markup)
        assert "21st Century Business Herald · 2025-05-29 14:12 · paragraph 7" in shown
        assert "Shi Ji" not in shown
    summary = render_summary(article, PLAIN)
    assert summary.startswith(f"{article.headline}\n21st Century Business Herald · 2025-05-29")
    assert "— 21st Century Business Herald · 2025-05-29 14:12" in render_article_list([article])


def test_the_english_title_follows_the_headline_in_the_citation() -> None:
    article, _ = article_of(MARKDOWN)
    html = render_match(Match(article.passages[1], article, 1.0), HTML)
    assert html.endswith(
        "📰 <i>阿里云季度业绩</i> (<i>Alibaba Cloud's quarter</i>)\n"
        "21st Century Business Herald · 2025-05-29 14:12 · paragraph 3"
    )
    plain = render_match(Match(article.passages[1], article, 1.0), PLAIN)
    assert plain.endswith(
        "📰 阿里云季度业绩 (Alibaba Cloud's quarter)\n"
        "21st Century Business Herald · 2025-05-29 14:12 · paragraph 3"
    )


def test_every_test_digests_source_has_a_name(tmp_path: Path) -> None:
    digests = sorted((ROOT / "tests" / "data").glob("articles*/*.txt"))
    assert len(digests) >= 6
    for digest in digests:
        shutil.copy(digest, tmp_path / digest.name)
    shutil.copy(TEST_TOML, tmp_path / "sources.toml")
    library, loaded = load_library(Settings(seeds_dir=tmp_path))
    assert loaded.rejected == () and len(library.articles) == len(digests)
    shown = {a.source: a.display_source for a in library.articles}
    assert shown == {
        "Di Yi Cai Jing": "Yicai",
        "Jin Rong Shi Bao": "Financial News",
        "Jie Mian Xin Wen": "Jiemian",
        "Cai Xin": "Caixin",
        "Zheng Quan Shi Bao": "Securities Times",
        "Jing Ji Guan Cha Wang": "The Economic Observer",
        "Mei Ri Jing Ji Xin Wen": "National Business Daily",
        "Ke Chuang Ban Ri Bao": "STAR Market Daily",
        "Tai Mei Ti": "TMTPost",
        "Bei Jing Shang Bao": "Beijing Business Today",
        "Hua Xia Shi Bao": "China Times",
        "Zhong Guo Jing Ying Bao": "China Business Journal",
        "Zhong Guo Yin Hang Bao Xian Bao": "China Banking and Insurance News",
        "Xian Dai Wu Liu Bao": "Modern Logistics News",
    }
    for article in library.articles:
        assert article.source_info is not None
        assert article.source_info.name_zh and is_web_link(article.source_info.home or "")


def test_a_display_name_alone_may_be_a_string() -> None:
    sources = parse_sources('[sources]\n"Cai Xin" = "Caixin"\n"Wire" = { name = "The Wire" }\n')
    assert sources.lookup("cai xin") == SourceInfo("Caixin")
    assert sources.lookup("wire") == SourceInfo("The Wire")
    assert len(parse_sources("")) == 0 and len(parse_sources("[sources]\n")) == 0


def test_applying_sources_keeps_unchanged_articles_as_they_are() -> None:
    bare = article()
    sources = parse_sources('[sources]\n"Cai Xin" = "Caixin"\n')
    assert sources.apply([bare])[0] is bare
    (named,) = load_sources(SEED_TOML).apply([bare])
    assert named == replace(bare, source_info=HERALD)
    assert named.display_source == "21st Century Business Herald"
    assert Sources().apply([named]) == [bare]  # the entry is gone: so is its name


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('[sources]\n"a" = "A"\n"b" = ["B"\n', 3, "not valid TOML"),
        ('[sources]\n"a" = "A"\n[names]\n"b" = "B"\n', 3, "unknown table 'names'; use [sources]"),
        ('sources = "x"\n', 1, "'sources' must be a table"),
        ('[sources]\n"a" = "A"\n"b" = 3\n', 3, "'b' must be a table (name, name_zh, home)"),
        ('[sources."a"]\nname_zh = "甲"\n', 1, "'a' has no display name"),
        ('[sources."a"]\nname = "  "\n', 2, "'a' has no display name"),
        (
            '[sources."a"]\nname = "A"\nhome_page = "https://a.com/"\n',
            3,
            "unknown field 'home_page'",
        ),
        ('[sources."a"]\nname = "A"\nname_zh = 1\n', 3, "name_zh of 'a' must be a string"),
        ('[sources."a"]\nname = "A"\nhome = "a.com"\n', 3, "home of 'a' is not an http(s) address"),
        (
            '[sources]\n"Cai Xin" = "A"\n"cai  xin" = "B"\n',
            3,
            "'cai  xin' is the same source line as 'Cai Xin'",
        ),
        ('[sources]\n"  " = "A"\n', 2, "an empty source line"),
        (
            '[sources]\n"a" = "' + "n" * 301 + '"\n',
            2,
            "name of 'a' has 301 characters: at most 300",
        ),
        (
            '[sources]\n"' + "s" * 301 + '" = "A"\n',
            2,
            "a source line has 301 characters: at most 300",
        ),
        (
            '[sources]\n"a" = "A"\n"b" = ' + "[" * 50 + "]" * 50,
            3,
            "nested more than 8 deep (sources.toml needs 2)",
        ),
    ],
)
def test_a_broken_sources_toml_is_refused_with_line_and_reason(
    text: str, line: int, reason: str
) -> None:
    with pytest.raises(ArticleError) as caught:
        parse_sources(text, "seeds/sources.toml")
    problem = caught.value.problem
    assert (problem.file, problem.line) == ("seeds/sources.toml", line), problem
    assert problem.reason.startswith(reason), problem.reason


def test_sources_toml_keeps_to_the_glossarys_limits(tmp_path: Path) -> None:
    text = '[sources]\n"a" = "A"\n"b" = "B"\n"c" = "C"\n'
    assert len(parse_sources(text, "s.toml", ContentLimits(max_aliases=3))) == 3
    with pytest.raises(ArticleError) as caught:
        parse_sources(text, "s.toml", ContentLimits(max_aliases=2))
    assert str(caught.value.problem) == (
        "s.toml:4: too many sources: more than 2 (GLOSSARY_MAX_ALIASES)"
    )
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ArticleError, match=r"too big: over 20 bytes \(CONTENT_MAX_BYTES\)"):
        load_sources(path, ContentLimits(max_bytes=20))
    path.write_bytes(b'[sources]\n"a" = "\xff"\n')
    with pytest.raises(ArticleError) as caught:
        load_sources(path)
    assert (caught.value.problem.line, caught.value.problem.reason[:9]) == (2, "not UTF-8")
    assert len(load_sources(tmp_path / "missing.toml")) == 0


def seeds_with(tmp_path: Path, sources: str | bytes) -> Path:
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    target = folder / "sources.toml"
    if isinstance(sources, bytes):
        target.write_bytes(sources)
    else:
        target.write_text(sources, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("broken", "line", "reason"),
    [
        ('[sources."2 1 Shi Ji Jing Ji Bao Dao"]\nname = "Herald\n', 2, "not valid TOML"),
        ('[sources]\n"x" = ' + "[" * 5000 + "]" * 5000, 2, "nested more than 8 deep"),
        (b"[sources]\n" + b"#" * 2_000_000, 0, "too big: over 1,048,576 bytes"),
    ],
)
def test_a_broken_sources_toml_never_stops_the_articles(
    tmp_path: Path, broken: str | bytes, line: int, reason: str
) -> None:
    folder = seeds_with(tmp_path, broken)
    library, loaded = load_library(Settings(seeds_dir=folder))
    (problem,) = loaded.rejected
    assert (problem.file, problem.line) == (str(folder / "sources.toml"), line)
    assert problem.reason.startswith(reason)
    (article,) = library.articles  # the articles load, the glossary too, without names
    assert len(library.glossary) > 100
    assert article.display_source == "2 1 Shi Ji Jing Ji Bao Dao"
    assert library.ask("How many customers does Alibaba Cloud serve?").best is not None


def test_a_reload_keeps_the_last_good_sources_and_picks_up_new_ones(tmp_path: Path) -> None:
    folder = seeds_with(tmp_path, SEED_TOML.read_text(encoding="utf-8"))
    settings = Settings(seeds_dir=folder)
    first, _ = load_library(settings)
    assert first.articles[0].display_source == "21st Century Business Herald"
    (folder / "sources.toml").write_text('[sources."2 1 Shi Ji Jing Ji Bao Dao"\n')
    second, loaded = load_library(settings, previous=first)
    assert [p.line for p in loaded.rejected] == [1]
    assert second.sources is first.sources
    assert second.articles[0].display_source == "21st Century Business Herald"
    (folder / "sources.toml").write_text('[sources]\n"2 1 shi ji jing ji bao dao" = "21CBH"\n')
    third, loaded = load_library(settings, previous=second)
    assert loaded.rejected == ()
    assert third.articles[0].display_source == "21CBH"
    (folder / "sources.toml").unlink()
    fourth, _ = load_library(settings, previous=third)
    assert fourth.articles[0].display_source == "2 1 Shi Ji Jing Ji Bao Dao"


def test_check_shows_the_display_source_and_the_line_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = seeds_with(tmp_path, SEED_TOML.read_text(encoding="utf-8"))
    (folder / "quarter.md").write_text(MARKDOWN, encoding="utf-8")
    assert check(Settings(seeds_dir=folder)) == 0
    out = capsys.readouterr().out
    assert "  source:    21st Century Business Herald · 2025-05-29 14:12\n" in out
    assert "  written:   2 1 Shi Ji Jing Ji Bao Dao\n" in out
    assert "  title-en:  Alibaba Cloud's quarter\n" in out
    assert "  link:      https://www.21jingji.com/article/20250529/alibaba.html\n" in out


# --- uploads ------------------------------------------------------------------------------


def test_an_uploaded_sources_toml_is_checked_then_written(tmp_path: Path) -> None:
    folder = seeds_with(tmp_path, SEED_TOML.read_text(encoding="utf-8"))
    before = (folder / "sources.toml").read_bytes()
    for data, reason, line in [
        (b'[sources]\n"a" = "A"\n"b" = {}\n', "'b' has no display name (name = \"...\")", 3),
        (b'[sources]\n"a" = "\xff"\n', "not UTF-8 (byte 0xff)", 2),
        (b"# nothing yet\n", "no sources: an empty file would remove every source's name", None),
        (b"[sources]\n" + b"#" * 2000, "too big: 2,010 bytes, at most 1,000", None),
    ]:
        with pytest.raises(UploadRefused) as caught:
            accept_upload(folder, "sources.toml", data, ContentLimits(max_bytes=1000))
        assert caught.value.reason.startswith(reason) and caught.value.line == line
        assert (folder / "sources.toml").read_bytes() == before
    data = b'[sources]\n"2 1 Shi Ji Jing Ji Bao Dao" = "21CBH"\n"Cai Xin" = "Caixin"\n'
    result = accept_upload(folder, "SOURCES.toml", data)
    assert (result.name, result.kind, result.replaced) == ("sources.toml", SOURCES, True)
    assert result.describe() == "Replaced sources.toml (source names: 2)"
    assert (folder / "sources.toml").read_bytes() == data
    library, loaded = load_library(Settings(seeds_dir=folder))
    assert loaded.rejected == () and library.articles[0].display_source == "21CBH"
    assert sanitise_name("Sources.TOML") == "sources.toml"


# --- the documentation's examples ---------------------------------------------------------

CONTENT_DOC = (ROOT / "docs" / "content.md").read_text(encoding="utf-8")


def doc_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", CONTENT_DOC, flags=re.DOTALL)


def test_the_documented_sources_toml_parses() -> None:
    (example,) = [block for block in doc_blocks("toml") if "[sources" in block]
    sources = parse_sources(example, "docs/content.md")
    assert sources.lookup("2 1 Shi Ji Jing Ji Bao Dao") == HERALD
    assert sources.lookup("Cai Xin") == SourceInfo("Caixin")
    assert parse_sources(SEED_TOML.read_text(encoding="utf-8")).names == {
        source_key("2 1 Shi Ji Jing Ji Bao Dao"): HERALD
    }


def test_the_documented_markdown_front_matter_and_citation() -> None:
    (example,) = doc_blocks("markdown")
    article, warnings = parse_article(example, "example", "example.md")
    assert warnings == []
    assert article.link == "https://example.com/alibaba-cloud-quarter"
    (shown,) = [block for block in doc_blocks("text") if block.startswith("📰")]
    library, _ = load_library(Settings(seeds_dir=SEEDS))
    answer = library.ask("How many customers does Alibaba Cloud serve?")
    assert render_answer(answer, PLAIN).endswith(shown.strip())


def test_any_front_matter_line_may_open_a_markdown_article() -> None:
    for first in ("Title-En : Quarter", "SOURCE-NAME:Wire", "Link:https://example.com/"):
        article, warnings = article_of(f"{first}\n# 阿里云\n\n## Core Viewpoint\nA [1].\n")
        assert article.headline == "阿里云" and article.core_viewpoint.citations == (1,)
        assert warnings == ["1: no 'Source: name · YYYY-MM-DD HH:MM' line"]


def test_a_full_sources_toml_parses_quickly_and_its_last_error_is_found() -> None:
    entries = [
        f'[sources."source {i}"]\nname = "Name {i}"\nname_zh = "名{i}"\nhome = "https://s{i}.cn/"\n'
        for i in range(4_999)
    ]
    text = "".join(entries)
    started = time.perf_counter()
    assert len(parse_sources(text)) == 4_999
    broken = text + '[sources."last"]\nname = "Last"\nhome = "nope"\n'
    with pytest.raises(ArticleError) as caught:
        parse_sources(broken)
    # A key is looked up only for the refusal: 5,000 entries are not 5,000 scans of the file.
    assert time.perf_counter() - started < 5
    assert caught.value.problem.line == 4 * 4_999 + 3
