"""Rendering answers, summaries and article lists for Telegram, and splitting long messages.

Every piece of HTML is checked with `parse_telegram_html`, a strict stand-in for Telegram's
own parser, and lengths are counted as Telegram counts them: UTF-16 code units of the
visible text.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.answers import Answer, Match, Outcome
from bot.content import CORE_VIEWPOINT, Article, Passage, Section
from bot.library import Library
from bot.rendering import (
    HTML,
    PLAIN,
    TELEGRAM_MESSAGE_LIMIT,
    UNANSWERED_TEXT,
    Markup,
    render_answer,
    render_article_list,
    render_match,
    render_summary,
    split_message,
    telegram_length,
)
from tests.telegram_html import parse_telegram_html, utf16_length

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_HEADLINE = "全球“All in AI” 中国科技巨头生态“攻守”"
SEED_SOURCE = "2 1 Shi Ji Jing Ji Bao Dao"
SEED_DATE = "2025-05-29 14:12"
LIMIT = TELEGRAM_MESSAGE_LIMIT

# Everything HTML could choke on, in every field a reader sees.
NASTY = "<b>bold?</b> & <script>alert(1)</script> a < b > c &amp; &#60;"
TAG_RE = re.compile(r"</?[A-Za-z][\w-]*[^>]*>")


@pytest.fixture(scope="module")
def seed_article(library: Library) -> Article:
    (article,) = library.articles
    return article


# --- helpers ---------------------------------------------------------------------------


def squash(text: str) -> str:
    """Text with every run of whitespace made one space (plain indents quotes)."""
    return " ".join(text.split())


def assert_in_order(text: str, needles: list[str]) -> None:
    position = 0
    for needle in needles:
        found = text.find(needle, position)
        assert found >= 0, f"{needle!r} missing (after position {position}) in:\n{text}"
        position = found + len(needle)


def visible_of(text: str, html_mode: bool) -> str:
    return parse_telegram_html(text) if html_mode else text


def assert_valid_split(
    original: str, parts: list[str], limit: int = LIMIT, html_mode: bool = True
) -> list[int]:
    """Check every part and return where each part ends in the original's visible text.

    Each part passes the validator, is within `limit` as Telegram counts, is not blank, and
    is the next stretch of the original's visible text: joined, the parts are the original
    up to whitespace at the cuts.
    """
    source = visible_of(original, html_mode)
    assert parts, "no parts at all"
    position = 0
    ends = []
    for number, part in enumerate(parts):
        shown = visible_of(part, html_mode)
        assert utf16_length(shown) <= limit, f"part {number} is {utf16_length(shown)} > {limit}"
        assert shown.strip(), f"part {number} has no visible text: {part!r}"
        while position < len(source) and source[position].isspace():
            position += 1
        expected = source[position : position + 60]
        assert source.startswith(shown.strip(), position), (
            f"part {number} {shown[:60]!r} does not continue the text at {expected!r}"
        )
        position += len(shown.strip())
        ends.append(position)
    assert not source[position:].strip(), f"text lost after the last part: {source[position:]!r}"
    return ends


def passage(article_id: str, number: int, section: str, text: str, *cites: int) -> Passage:
    return Passage(article_id, number, section, text, tuple(cites))


def make_article(
    article_id: str,
    headline: str,
    source: str,
    sections: list[tuple[str, list[str]]],
    core: str = "The core viewpoint.",
    published: datetime | None = datetime(2025, 1, 2, 3, 4),
) -> Article:
    """An article by hand: each section is (title, bullet texts); bullet n cites n and n+1."""
    built, number = [], 0
    for index, (title, texts) in enumerate(sections, 1):
        bullets = []
        for text in texts:
            number += 1
            bullets.append(passage(article_id, number, title, text, number, number + 1))
        built.append(Section(index, title, tuple(bullets)))
    return Article(
        article_id,
        headline,
        source,
        published,
        passage(article_id, 0, CORE_VIEWPOINT, core, 1),
        tuple(built),
    )


def nasty_article(article_id: str = "nasty-1", text: str = f"Text {NASTY}") -> Article:
    return make_article(
        article_id,
        f"Headline {article_id} {NASTY}",
        f"Source {NASTY}",
        [(f"Section {NASTY}", [text])],
        core=f"Core {NASTY}",
    )


def bullet(article: Article, index: int = 0) -> Passage:
    return [p for s in article.sections for p in s.bullets][index]


def seed_match(library: Library, number: int) -> Match:
    """Passage `number` of the seed (0 the core viewpoint, then bullets 1-8) as a match."""
    match = library.passage(f"{library.articles[0].id}#{number}")
    assert match is not None
    return match


def cited(p: Passage) -> str:
    word = "paragraph" if len(p.citations) == 1 else "paragraphs"
    return f"{word} {', '.join(map(str, p.citations))}"


# --- 1. answers from the seed ----------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "section", "words", "citation"),
    [
        (
            "How many customers does Alibaba Cloud serve?",
            "Historical Context and Cloud Computing",
            "serving 4 million customers and reaching 47 million small and medium-sized",
            "paragraph 7",
        ),
        (
            "What is Huawei's strategy?",
            "Competitive Strategies of Major Players",
            "with Huawei focusing on a fully autonomous technology stack",
            "paragraphs 9, 10",
        ),
        (
            "Tencent capital expenditures",
            "Competitive Strategies of Major Players",
            "Tencent's recent capital expenditures for AI projects",
            "paragraph 12",
        ),
    ],
)
def test_answer_shows_passage_section_and_citation(
    library: Library, question: str, section: str, words: str, citation: str
) -> None:
    answer = library.ask(question)
    assert answer.outcome is Outcome.ANSWERED
    best = answer.best
    assert best is not None
    html = render_answer(answer)
    shown = parse_telegram_html(html)
    assert words in best.passage.text
    assert_in_order(
        shown,
        [section, best.passage.text, SEED_HEADLINE, f"{SEED_SOURCE} · {SEED_DATE} · {citation}"],
    )
    assert f"{citation}," not in shown and f"{citation}0" not in shown  # exactly these
    assert f"<b>{section}</b>" in html
    assert f"<blockquote>{best.passage.text}</blockquote>" in html
    assert f"📰 <i>{SEED_HEADLINE}</i>" in html
    assert utf16_length(shown) <= LIMIT
    assert split_message(html) == [html]

    plain = render_answer(answer, PLAIN)
    assert not TAG_RE.search(plain)
    assert "&" not in plain
    assert squash(plain) == squash(shown)
    assert best.passage.text in plain


def test_answer_for_paragraph_7_names_the_date_and_paragraph(library: Library) -> None:
    shown = parse_telegram_html(render_answer(library.ask("Alibaba Cloud customers")))
    assert "2025-05-29 14:12" in shown
    assert shown.endswith("paragraph 7")


def test_plain_quote_is_indented_and_html_quote_is_a_blockquote(library: Library) -> None:
    match = seed_match(library, 4)
    plain = render_match(match, PLAIN)
    assert f"\n\n  {match.passage.text}\n\n" in plain
    assert f"\n\n<blockquote>{match.passage.text}</blockquote>\n\n" in render_match(match)


# --- 2. escaping -----------------------------------------------------------------------


def test_answer_escapes_every_field() -> None:
    article = nasty_article()
    html = render_answer(Answer("q", Outcome.ANSWERED, (Match(bullet(article), article, 0.9),)))
    shown = parse_telegram_html(html)
    assert_in_order(
        shown,
        [
            f"Section {NASTY}",
            f"Text {NASTY}",
            f"📰 Headline nasty-1 {NASTY}",
            f"Source {NASTY} · 2025-01-02 03:04 · paragraphs 1, 2",
        ],
    )
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&amp;amp;" in html and "&amp;#60;" in html  # escaped again, shown literally
    plain = render_answer(
        Answer("q", Outcome.ANSWERED, (Match(bullet(article), article, 0.9),)), PLAIN
    )
    assert f"Text {NASTY}" in plain and "&lt;" not in plain


def test_summary_escapes_every_field() -> None:
    article = nasty_article()
    html = render_summary(article)
    shown = parse_telegram_html(html)
    assert_in_order(
        shown,
        [
            f"Headline nasty-1 {NASTY}",
            f"Source {NASTY} · 2025-01-02 03:04",
            CORE_VIEWPOINT,
            f"Core {NASTY} (paragraph 1)",
            f"1. Section {NASTY}",
            f"• Text {NASTY} (paragraphs 1, 2)",
        ],
    )
    assert "<script>" not in html
    assert render_summary(article, PLAIN) == shown


def test_article_list_escapes_every_field() -> None:
    articles = [nasty_article("nasty-1"), nasty_article("nasty-2")]
    html = render_article_list(articles)
    shown = parse_telegram_html(html)
    assert_in_order(
        shown,
        [
            "Articles, newest first:",
            f"1. Headline nasty-1 {NASTY} — Source {NASTY} · 2025-01-02 03:04",
            f"2. Headline nasty-2 {NASTY} — Source {NASTY} · 2025-01-02 03:04",
            "/summary N",
        ],
    )
    assert "<script>" not in html
    assert render_article_list(articles, PLAIN) == shown


def test_suggestions_escape_every_field() -> None:
    first, second = nasty_article("nasty-1"), nasty_article("nasty-2")
    matches = (Match(bullet(first), first, 0.6), Match(bullet(second), second, 0.55))
    html = render_answer(Answer("q", Outcome.SUGGESTED, matches))
    shown = parse_telegram_html(html)
    assert_in_order(
        shown,
        [
            f"1. Section {NASTY} — Headline nasty-1 {NASTY}\nText {NASTY}",
            f"2. Section {NASTY} — Headline nasty-2 {NASTY}\nText {NASTY}",
        ],
    )
    assert "<script>" not in html
    assert squash(render_answer(Answer("q", Outcome.SUGGESTED, matches), PLAIN)) == squash(shown)


def test_suggestion_excerpt_is_cut_before_escaping() -> None:
    # Cut at 160 characters of text, so an escaped '&lt;' or '&amp;' is never cut in two.
    text = "x < y & z > w " * 30
    article = nasty_article(text=text)
    html = render_answer(Answer("q", Outcome.SUGGESTED, (Match(bullet(article), article, 0.6),)))
    excerpt = parse_telegram_html(html).split("\n")[-1]
    assert excerpt.endswith("…")
    assert text.startswith(excerpt[:-1])
    assert 100 < len(excerpt) <= 161


def test_unanswered_does_not_echo_the_question() -> None:
    html = render_answer(Answer("<b>?</b> & more", Outcome.UNANSWERED))
    assert parse_telegram_html(html) == UNANSWERED_TEXT
    assert "<b>?" not in html


# --- 3. suggestions and misses --------------------------------------------------------


def test_suggestions_from_one_article_list_sections_without_headline(
    library: Library,
) -> None:
    matches = tuple(seed_match(library, n) for n in (3, 4, 5))
    answer = Answer("cloud?", Outcome.SUGGESTED, matches)
    assert not answer.spans_articles
    html = render_answer(answer)
    shown = parse_telegram_html(html)
    assert shown.startswith("I'm not sure which part you mean. The 3 closest passages:\n\n")
    assert SEED_HEADLINE not in shown
    numbered = re.findall(r"^(\d+)\. (.+)$", shown, flags=re.MULTILINE)
    assert numbered == [
        ("1", "Historical Context and Cloud Computing"),
        ("2", "Historical Context and Cloud Computing"),
        ("3", "Competitive Strategies of Major Players"),
    ]
    assert "<b>Historical Context and Cloud Computing</b>" in html
    for match in matches:
        # Long passages are shortened to an excerpt at a word boundary, marked with "…".
        excerpt = match.passage.text[:150].rsplit(" ", 1)[0]
        assert excerpt in shown
    assert "…" in shown
    assert utf16_length(shown) < len(" ".join(m.passage.text for m in matches))


def test_suggestions_across_articles_name_each_headline(library: Library) -> None:
    other = make_article("other", "Another Headline", "Wire", [("Cloud Wars", ["Short text."])])
    matches = (seed_match(library, 7), Match(bullet(other), other, 0.6))
    answer = Answer("cloud?", Outcome.SUGGESTED, matches)
    assert answer.spans_articles
    shown = parse_telegram_html(render_answer(answer))
    numbered = re.findall(r"^(\d+)\. (.+)$", shown, flags=re.MULTILINE)
    assert numbered == [
        ("1", f"Market Dynamics and Challenges — {SEED_HEADLINE}"),
        ("2", "Cloud Wars — Another Headline"),
    ]
    assert shown.endswith("2. Cloud Wars — Another Headline\nShort text.")


def test_single_suggestion(library: Library) -> None:
    match = seed_match(library, 6)
    shown = parse_telegram_html(render_answer(Answer("q", Outcome.SUGGESTED, (match,))))
    assert re.findall(r"^(\d+)\. ", shown, flags=re.MULTILINE) == ["1"]
    # Worded for one: never "The closest passages:" over a single one.
    assert shown.startswith("I'm not sure this is what you mean. The closest passage:\n\n1. ")


def test_suggestions_name_the_headline_when_the_caller_says_several_articles_are_loaded(
    library: Library,
) -> None:
    answer = Answer("q", Outcome.SUGGESTED, (seed_match(library, 6),))
    assert not answer.spans_articles
    with_headline = parse_telegram_html(render_answer(answer, headlines=True))
    assert f"1. Competitive Strategies of Major Players — {SEED_HEADLINE}\n" in with_headline
    assert SEED_HEADLINE not in parse_telegram_html(render_answer(answer, headlines=False))


@pytest.mark.parametrize("question", ["What's the weather in Paris?", "zzzz qqqq"])
def test_unanswered_is_kind_and_points_to_commands(library: Library, question: str) -> None:
    answer = library.ask(question)
    assert answer.outcome is Outcome.UNANSWERED
    html = render_answer(answer)
    shown = parse_telegram_html(html)
    assert shown == html == render_answer(answer, PLAIN)  # no markup needed
    assert "Sorry" in shown and "couldn't find" in shown
    assert "/summary" in shown and "/articles" in shown


# --- 4. summaries -----------------------------------------------------------------------


def test_summary_lists_everything_in_order(seed_article: Article) -> None:
    html = render_summary(seed_article)
    shown = parse_telegram_html(html)
    core = seed_article.core_viewpoint
    expected = [
        SEED_HEADLINE,
        f"{SEED_SOURCE} · {SEED_DATE}",
        "Core Viewpoint",
        f"{core.text} (paragraphs 2, 10)",
    ]
    for number, section in enumerate(seed_article.sections, 1):
        expected.append(f"{number}. {section.title}")
        expected.extend(f"• {b.text} ({cited(b)})" for b in section.bullets)
    assert len(expected) == 4 + 4 + 8
    assert_in_order(shown, expected)
    assert shown.startswith(f"{SEED_HEADLINE}\n{SEED_SOURCE} · {SEED_DATE}\n\nCore Viewpoint\n")
    assert "4. Market Dynamics and Challenges" in shown and "5. " not in shown
    assert "(paragraph 7)" in shown and "(paragraphs 9, 10)" in shown
    assert shown.count("• ") == 8
    assert f"<b>{SEED_HEADLINE}</b>" in html
    assert f"<i>{SEED_SOURCE} · {SEED_DATE}</i>" in html
    assert "<b>1. AI Development and Scaling Law</b>" in html
    assert render_summary(seed_article, PLAIN) == shown


def test_summary_without_source_date_or_citations() -> None:
    core = passage("bare", 0, CORE_VIEWPOINT, "Core.")
    sections = (Section(1, "Only", (passage("bare", 1, "Only", "One."),)),)
    article = Article("bare", "", "", None, core, sections)
    shown = parse_telegram_html(render_summary(article))
    assert shown == "bare\n\nCore Viewpoint\nCore.\n\n1. Only\n• One."  # id stands in


# --- 5. splitting ----------------------------------------------------------------------


def test_short_messages_are_one_unchanged_part(library: Library) -> None:
    summary = render_summary(library.articles[0])
    answer = render_answer(library.ask("How many customers does Alibaba Cloud serve?"))
    listing = render_article_list(library.articles)
    for text in (summary, answer, listing, "x", "a &lt; b"):
        assert split_message(text) == [text]


@pytest.mark.parametrize(
    ("unit", "fits"),
    [
        ("😀", 2048),  # 2 UTF-16 units each
        ("&amp;", 4096),  # 5 characters of markup, 1 of text
        ("中", 4096),
        ("<b>é</b>", 4096),  # tags count nothing
    ],
)
def test_limit_is_counted_as_telegram_counts(unit: str, fits: int) -> None:
    text = unit * fits
    assert telegram_length(text) == utf16_length(parse_telegram_html(text)) == 4096
    assert split_message(text) == [text]
    longer = text + unit
    parts = split_message(longer)
    assert len(parts) == 2
    assert_valid_split(longer, parts)


def long_article(bullets: int = 60, length: int = 300, per_section: int = 10) -> Article:
    """60 bullets of 300 characters with '&', '<', CJK and 😀: a summary of ~20,000 units."""
    phrase = "Profits & losses <rose> 利润增长 😀 fast; "
    texts = [(f"Bullet {n}: " + phrase * 20)[: length - 1].rstrip() + "." for n in range(bullets)]
    sections = [
        (f"Section {i // per_section + 1} & 章节", texts[i : i + per_section])
        for i in range(0, bullets, per_section)
    ]
    return make_article("long", "A <long> digest & 长文 😀", "Wire & Co", sections)


def test_long_summary_splits_at_paragraphs_within_the_limit() -> None:
    html = render_summary(long_article())
    source = parse_telegram_html(html)
    assert utf16_length(source) > 4 * LIMIT
    assert "&amp;" in html and "&lt;rose&gt;" in html and "😀" in html and "利润" in html
    parts = split_message(html)
    ends = assert_valid_split(html, parts)
    assert len(parts) >= 5
    for end in ends[:-1]:
        assert source.startswith("\n\n", end), f"cut inside a paragraph: {source[end - 30 :]!r}"
    # Greedy: the next paragraph would not have fitted in the part before it.
    for part, following in itertools.pairwise(parts):
        first_paragraph = parse_telegram_html(following).split("\n\n")[0]
        joined = parse_telegram_html(part) + "\n\n" + first_paragraph
        assert utf16_length(joined) > LIMIT
    for part in parts[1:]:
        assert re.match(r"<b>\d+\. Section ", part), part[:40]  # a section title starts it


@pytest.mark.parametrize("tag", ["blockquote", "b"])
def test_long_paragraph_in_a_tag_is_cut_at_spaces_with_the_tag_reopened(tag: str) -> None:
    words = " ".join(f"word{n} & <w> 中文 😀" for n in range(1_000))  # ~19,000 units
    html = f"<b>Title</b>\n\n<{tag}>{HTML.esc(words)}</{tag}>\n\nAfter."
    source = parse_telegram_html(html)
    parts = split_message(html)
    ends = assert_valid_split(html, parts)
    assert parts[0] == "<b>Title</b>"  # the paragraph break comes first
    inside = [p for p in parts if "word" in p]
    assert len(inside) >= 5
    assert all(p.startswith(f"<{tag}>") for p in inside)
    assert all(p.endswith(f"</{tag}>") for p in inside[:-1])
    assert inside[-1].endswith(f"</{tag}>\n\nAfter.")
    for end in ends[:-1]:
        assert source[end].isspace(), f"cut inside a word: {source[end - 10 : end + 10]!r}"
    for part in inside[:-1]:
        assert utf16_length(parse_telegram_html(part)) > LIMIT - 30  # full, not timid


def test_nested_tags_are_closed_and_reopened_in_order() -> None:
    words = " ".join(f"w{n}" for n in range(3_000))
    html = f"<blockquote>intro <b>{words}</b> outro</blockquote>"
    parts = split_message(html)
    assert_valid_split(html, parts)
    assert len(parts) >= 3
    assert parts[0].startswith("<blockquote>intro <b>w0 ")
    assert parts[0].endswith("</b></blockquote>")
    for part in parts[1:-1]:
        assert part.startswith("<blockquote><b>") and part.endswith("</b></blockquote>")
    assert parts[-1].startswith("<blockquote><b>") and parts[-1].endswith("</b> outro</blockquote>")


@pytest.mark.parametrize("unit", ["x", "中", "😀", "&amp;", "&lt;b&gt;"])
def test_text_without_spaces_is_still_split(unit: str) -> None:
    html = unit * 10_000
    parts = split_message(html)
    assert_valid_split(html, parts)
    assert "".join(parse_telegram_html(p) for p in parts) == parse_telegram_html(html)
    units = utf16_length(parse_telegram_html(html))
    assert len(parts) == -(-units // LIMIT)  # as few as possible


def test_text_without_spaces_inside_a_tag_is_split() -> None:
    html = "<b>" + "y" * 10_000 + "</b>"
    parts = split_message(html)
    assert_valid_split(html, parts)
    assert [p[:3] + p[-4:] for p in parts] == ["<b></b>"] * 3


@pytest.mark.parametrize("markup", [HTML, PLAIN])
def test_small_limit_makes_many_cuts(seed_article: Article, markup: Markup) -> None:
    html_mode = markup is HTML
    for text in (
        render_summary(seed_article, markup),
        render_answer(
            Answer("q", Outcome.ANSWERED, (Match(bullet(nasty_article()), nasty_article(), 1),)),
            markup,
        ),
    ):
        parts = split_message(text, limit=50, html_mode=html_mode)
        ends = assert_valid_split(text, parts, limit=50, html_mode=html_mode)
        source = visible_of(text, html_mode)
        assert len(parts) >= utf16_length(source) // 50 > 5
        for end in ends[:-1]:
            assert source[end].isspace(), f"cut inside a word: {source[end - 10 : end + 10]!r}"


def test_plain_mode_counts_markup_characters_as_text() -> None:
    text = "&amp;" * 1_000
    assert split_message(text, limit=100, html_mode=False) == ["&amp;" * 20] * 50
    assert split_message(text, limit=100) == ["&amp;" * 100] * 10
    tags = "a<b>c & " * 300
    parts = split_message(tags, limit=100, html_mode=False)
    assert_valid_split(tags, parts, limit=100, html_mode=False)
    assert all("<b>" in p and "&" in p for p in parts)


def test_plain_summary_keeps_special_characters() -> None:
    plain = render_summary(long_article(), PLAIN)
    parts = split_message(plain, html_mode=False)
    ends = assert_valid_split(plain, parts, html_mode=False)
    assert len(parts) >= 5
    assert all("<rose>" in p and " & " in p for p in parts[1:])
    assert all(plain.startswith("\n\n", end) for end in ends[:-1])


@pytest.mark.parametrize(
    "html",
    [
        # A quote starting with a line break: the first cut falls right after it, inside the
        # tag, and the part is "<blockquote>\n</blockquote>".
        HTML.quote("\n" + "word " * 1_000),
        # A quote ending with a space that exactly fills a message, then a long paragraph:
        # the cut at that space leaves "</blockquote>\n\n" for the next part, which becomes
        # "<blockquote></blockquote>".
        HTML.quote("x " * 2_048) + "\n\n" + "y" * 5_000,
    ],
    ids=["line-break-after-start-tag", "space-before-end-tag"],
)
def test_no_part_is_blank_when_a_tag_holds_whitespace_at_a_cut(html: str) -> None:
    # A part with no visible text is refused by Telegram ("Bad Request: message text is
    # empty"), so the whole reply would fail to send.
    parts = split_message(html)
    assert all(parse_telegram_html(p).strip() for p in parts), [p[:40] for p in parts]
    assert_valid_split(html, parts)


# --- 6. properties ---------------------------------------------------------------------

CHARACTERS = st.one_of(
    st.sampled_from([*"<>&;#\"' \n\t", "&amp;", "&lt;", "中", "文", "😀", "👍🏽", "a", "b"]),
    st.characters(codec="utf-8"),  # what Telegram can carry: no lone surrogates
)
TEXT = st.lists(CHARACTERS, max_size=120).map("".join)


@settings(max_examples=250, deadline=None)
@given(text=TEXT, limit=st.integers(min_value=2, max_value=40))
def test_split_escaped_text_property(text: str, limit: int) -> None:
    assume(text.strip())
    escaped = HTML.esc(text)
    parts = split_message(escaped, limit=limit)
    assert_valid_split(escaped, parts, limit=limit)
    assert "".join("".join(parse_telegram_html(p).split()) for p in parts) == "".join(text.split())


@settings(max_examples=200, deadline=None)
@given(text=TEXT, limit=st.integers(min_value=2, max_value=40), wrap=st.sampled_from("qbi"))
def test_split_tagged_text_property(text: str, limit: int, wrap: str) -> None:
    # Whitespace just inside a tag is left to the blank-part test above.
    assume(text.strip() == text != "")
    tagged = {"q": HTML.quote, "b": HTML.bold, "i": HTML.italic}[wrap](text)
    html = f"<b>Head</b>\n\n{tagged}\n\nTail &amp; end"
    assert_valid_split(html, split_message(html, limit=limit), limit=limit)


@settings(max_examples=100, deadline=None)
@given(text=TEXT, limit=st.integers(min_value=2, max_value=40))
def test_split_plain_text_property(text: str, limit: int) -> None:
    assume(text.strip())
    parts = split_message(text, limit=limit, html_mode=False)
    assert_valid_split(text, parts, limit=limit, html_mode=False)
