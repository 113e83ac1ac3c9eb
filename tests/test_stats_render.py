"""render_stats for a phone: plurals through ngettext, votes as 👍 / 👎, short lines."""

from __future__ import annotations

import gettext as gettext_module
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.stats import (
    Counted,
    Day,
    Stats,
    UnhelpfulAnswer,
    display_width,
    english_ngettext,
    render_stats,
    shorten,
)


def figures(**overrides: Any) -> Stats:
    """One day's figures; the keyword arguments replace any of them."""
    base = Stats(
        days=1, since="2025-06-07T00:00:00.000+00:00", until="2025-06-07T18:30:00.000+00:00",
        questions=1, outcomes={"answered": 1, "suggested": 0, "unanswered": 0},
        distinct_users=1, top_questions=(Counted("Huawei strategy", 1),), top_unanswered=(),
        top_passages=(Counted("a#5", 1),), votes=0, helpful=0, unhelpful_answers=(),
        latency_p50_ms=4.25, latency_p95_ms=4.25, dropped_rows=0, per_day=(Day("2025-06-07", 1),),
        kinds={"question": 1, "summary": 0, "pick": 0, "small_talk": 0},
    )  # fmt: skip
    return replace(base, **overrides)


def test_one_of_each_is_singular_and_no_count_says_s_in_brackets() -> None:
    text = render_stats(figures())
    assert text.splitlines()[:3] == ["Last 1 day (UTC)", "2025-06-07", "1 question · 1 reader"]
    assert "(s)" not in text
    many = render_stats(figures(days=7, questions=5, distinct_users=2))
    assert "Last 7 days (UTC)" in many and "5 questions · 2 readers" in many


def test_votes_show_as_thumbs_and_not_at_all_without_votes() -> None:
    assert "👍" not in render_stats(figures()) and "vote" not in render_stats(figures())
    text = render_stats(figures(votes=4, helpful=3))
    assert "👍 3 · 👎 1" in text.splitlines()
    unhelpful = render_stats(figures(votes=1, unhelpful_answers=(UnhelpfulAnswer("a#5", 1, 1),)))
    assert "  👎 1 of 1 vote  a#5" in unhelpful.splitlines()


def test_summaries_picks_and_small_talk_are_counted_apart_from_questions() -> None:
    kinds = {"question": 1, "summary": 2, "pick": 1, "small_talk": 3}
    text = render_stats(figures(kinds=kinds))
    assert "1 question · 1 reader" in text
    assert "Also: 2 summaries · 1 pick · 3 small-talk messages" in text.splitlines()
    assert "Also" not in render_stats(figures())  # nothing else happened


def test_health_figures_show_only_when_something_went_wrong() -> None:
    quiet = render_stats(figures())
    assert "dropped" not in quiet and "delivered" not in quiet
    text = render_stats(figures(dropped_rows=1, undelivered=3))
    assert "1 log row dropped" in text and "3 replies not delivered" in text


def test_passages_are_named_by_the_label_lookup_else_by_id() -> None:
    labels = {"a#5": "China's AI race · Tencent's spending"}
    stats = figures(
        top_passages=(Counted("a#5", 2), Counted("gone#1", 1)),
        votes=2,
        unhelpful_answers=(UnhelpfulAnswer("a#5", 1, 2),),
    )
    text = render_stats(stats, labels.get)
    assert "  2  China's AI race · Tencent's spending" in text
    assert "  1  gone#1" in text  # no longer loaded: its id
    assert "👎 1 of 2 votes  China's AI race · Tencent's spending" in text
    assert "a#5" not in text


def test_every_message_goes_through_the_translation_functions() -> None:
    singular: list[str] = []
    messages: list[str] = []

    def ngettext(one: str, other: str, n: int) -> str:
        singular.append(one)
        return "[" + english_ngettext(one, other, n) + "]"

    def gettext(message: str) -> str:
        messages.append(message)
        return "[" + message + "]"

    stats = figures(
        days=7, questions=2, distinct_users=2, votes=2, helpful=1, dropped_rows=1, undelivered=1,
        top_unanswered=(Counted("weather", 1),), unhelpful_answers=(UnhelpfulAnswer("a#5", 1, 2),),
        kinds={"question": 2, "summary": 1, "pick": 1, "small_talk": 1},
        outcomes={"answered": 1, "suggested": 0, "unanswered": 1},
    )  # fmt: skip
    text = render_stats(stats, gettext=gettext, ngettext=ngettext)
    assert {
        "Last {days} day (UTC)", "{count} question", "{count} reader", "{count} summary",
        "{count} pick", "{count} small-talk message", "{count} log row dropped",
        "{count} reply not delivered", "👎 {unhelpful} of {count} vote",
    } <= set(singular)  # fmt: skip
    assert "Most asked:" in messages and "answered {share} ({count})" in messages
    # Every line with words was translated: only the lists' own entries, the dates and the
    # thumbs are left as they are.
    for line in text.splitlines():
        words = line.replace("Huawei strategy", "").replace("weather", "").replace("a#5", "")
        if any(c.isalpha() for c in words):
            assert "[" in line, line
    # The standard library's functions fit the parameters as they are.
    catalog = gettext_module.NullTranslations()
    assert render_stats(stats, gettext=catalog.gettext, ngettext=catalog.ngettext) == (
        render_stats(stats)
    )


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("Competitive Strategies of Major Players", 24, "Competitive Strategies…"),
        ("Tencent's spending", 24, "Tencent's spending"),
        ("全球“All in AI” 中国科技巨头生态“攻守”", 20, "全球“All in AI”…"),
        ("中国科技巨头生态攻守全球", 12, "中国科技巨…"),  # no space: cut mid-text
        ("Supercalifragilisticexpialidocious", 10, "Supercali…"),
        ("  spaced \n out  ", 20, "spaced out"),
    ],
)
def test_shorten_fits_display_columns(text: str, width: int, expected: str) -> None:
    assert shorten(text, width) == expected
    assert display_width(shorten(text, width)) <= width


def test_a_long_question_is_shortened_in_the_lists_only() -> None:
    question = "why " * 40
    stats = figures(top_questions=(Counted(question.strip(), 1),))
    (line,) = [line for line in render_stats(stats).splitlines() if "why" in line]
    assert line.endswith("…") and display_width(line) <= 5 + 60
    assert stats.to_json()["top_questions"][0]["question"] == question.strip()


def test_passage_labels_name_the_article_and_section_of_loaded_passages() -> None:
    from bot.parsing import load_folder
    from bot.stats import HEADLINE_WIDTH, SECTION_WIDTH, passage_labels
    from tests.conftest import SEED_ID, SEEDS

    articles = load_folder(SEEDS).articles
    label = passage_labels(articles)
    assert label(f"{SEED_ID}#0") == "全球“All in AI”… · Core Viewpoint"
    assert label(f"{SEED_ID}#8") == "全球“All in AI”… · Market Dynamics and Challenges"
    assert label(f"{SEED_ID}#5") == "全球“All in AI”… · Competitive Strategies of Major…"
    assert label(f"{SEED_ID}#99") is None and label("gone#1") is None
    for passage in articles[0].passages:
        headline, section = (label(passage.id) or "").split(" · ")
        assert display_width(headline) <= HEADLINE_WIDTH
        assert display_width(section) <= SECTION_WIDTH


def test_json_keeps_passage_ids_and_adds_labels_when_asked() -> None:
    stats = figures(votes=1, unhelpful_answers=(UnhelpfulAnswer("a#5", 1, 1),))
    assert stats.to_json()["top_passages"] == [{"passage_id": "a#5", "count": 1}]
    labelled = stats.to_json({"a#5": "A · B"}.get)
    assert labelled["top_passages"] == [{"passage_id": "a#5", "count": 1, "label": "A · B"}]
    assert labelled["unhelpful_answers"] == [
        {"passage_id": "a#5", "unhelpful": 1, "votes": 1, "label": "A · B"}
    ]
    assert stats.to_json(lambda _id: None)["top_passages"][0]["label"] is None


async def test_the_command_line_names_passages_by_the_seeds_articles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import cli
    from bot.config import Settings
    from bot.querylog import QueryLog
    from tests.conftest import SEED_ID, SEEDS

    settings = Settings(database_path=tmp_path / "log.sqlite3", seeds_dir=SEEDS)
    log = await QueryLog.open(settings)
    log.record_query(via="cli", question="Huawei", outcome="answered", passage_id=f"{SEED_ID}#5")
    log.record_query(via="cli", question="old", outcome="answered", passage_id="removed#3")
    await log.close()

    assert await cli.stats(settings, 1, False, None, None) == 0
    text = capsys.readouterr().out
    assert "  1  全球“All in AI”… · Competitive Strategies of Major…" in text
    assert "  1  removed#3" in text and f"{SEED_ID}#5" not in text
    assert await cli.stats(settings, 1, True, None, None) == 0
    document = json.loads(capsys.readouterr().out)
    assert sorted(document["top_passages"], key=lambda p: p["passage_id"]) == [
        {"passage_id": f"{SEED_ID}#5", "count": 1,
         "label": "全球“All in AI”… · Competitive Strategies of Major…"},
        {"passage_id": "removed#3", "count": 1, "label": None},
    ]  # fmt: skip
