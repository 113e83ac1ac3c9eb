"""Property-based: the parser and the matcher never raise, whatever text they are given."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answers import Outcome
from bot.library import Library
from bot.parsing import ArticleError, parse_article, parse_article_bytes

# Text biased towards the shapes the parser looks for, so it gets past the first checks.
FRAGMENTS = st.sampled_from(
    [
        "Core Viewpoint - ",
        "Group 1: ",
        "Group 2: Title",
        " - ",
        "[3]",
        "[3][12].",
        ". ",
        "\n",
        "\r\n",
        "·2025-05-29 14:12",
        "# ",
        "## ",
        "## Core Viewpoint\n",
        "Source: X · 2025-01-01\n",
        "- ",
        "阿里云",
        "\ufeff",
        "medium-sized",
    ]
)
ARTICLE_TEXT = st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(ARTICLE_TEXT)
def test_parser_returns_an_article_or_a_located_rejection(text: str) -> None:
    try:
        article, warnings = parse_article(text, "x", "x.txt")
    except ArticleError as error:
        assert error.problem.file == "x.txt"
        assert error.problem.line >= 0
        assert error.problem.reason
        return
    assert article.core_viewpoint.id == "x#0"
    assert [p.number for p in article.passages] == list(range(len(article.passages)))
    assert all(section.bullets for section in article.sections)
    assert all(w.file == "x.txt" for w in warnings)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_parser_never_raises_on_bytes(data: bytes) -> None:
    with contextlib.suppress(ArticleError):
        parse_article_bytes(data, "x", "x.txt")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_matcher_never_raises_and_scores_stay_in_range(library: Library, question: str) -> None:
    answer = library.ask(question)
    assert answer.outcome in set(Outcome)
    assert len(answer.matches) <= 3
    assert all(0.0 <= m.score <= 1.0 for m in answer.matches)
    assert (answer.outcome is Outcome.UNANSWERED) == (not answer.matches)
