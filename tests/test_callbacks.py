from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from bot.callbacks import (
    FEEDBACK,
    PICK,
    SECTION,
    SUMMARY,
    ButtonKeys,
    article_version,
    decode,
    feedback_data,
    passage_version,
    pick_data,
    section_data,
    summary_data,
)
from bot.content import CORE_VIEWPOINT, Article, Passage, Section

LONG_ID = "文章" * 40  # a long CJK article id: 240 bytes, never in callback_data


def article(text: str = "Wind turbines got larger.", article_id: str = LONG_ID) -> Article:
    core = Passage(article_id, 0, CORE_VIEWPOINT, "Wind power grows.", (1,))
    bullet = Passage(article_id, 1, "Wind", text, (2,))
    return Article(
        article_id, "风电", "Source", datetime(2025, 1, 1), core, (Section(1, "Wind", (bullet,)),)
    )


def test_data_stays_within_64_bytes_whatever_the_ids() -> None:
    item = article()
    for data in (
        pick_data(item.passages[1], item),
        summary_data(item),
        feedback_data("0123456789ab", True),
        section_data(item, 200),
    ):
        assert len(data.encode()) <= 64


def test_a_section_button_names_its_article_version_and_number() -> None:
    item = article()
    section = decode(section_data(item, 1))
    assert section is not None and section.kind == SECTION
    assert (section.version, section.number) == (article_version(item), 1)
    assert ButtonKeys.of([item]).article_id(section.key) == item.id


def test_round_trip() -> None:
    item = article()
    pick = decode(pick_data(item.passages[1], item))
    assert pick is not None and pick.kind == PICK
    assert pick.version == passage_version(item.passages[1], item)
    summary = decode(summary_data(item))
    assert summary is not None and summary.kind == SUMMARY
    assert summary.version == article_version(item)
    vote = decode(feedback_data("0123456789ab", False))
    assert vote is not None and (vote.kind, vote.key, vote.helpful) == (
        FEEDBACK,
        "0123456789ab",
        False,
    )


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "x",
        "p:a",
        "p::v",
        "q:a:b",
        "f:id:2",
        "forget:yes",
        "c:a:v",
        "c:a:v.",
        "c:a:.1",
        "c:a:v.x",
        "c:a:v.1234",
        "c:a:v.１",
    ],
)
def test_foreign_or_broken_data_decodes_to_none(data: str | None) -> None:
    assert decode(data) is None


def test_versions_change_with_the_content_and_only_then() -> None:
    before, after = article(), article("Wind turbines got much larger.")
    assert passage_version(before.passages[1], before) == passage_version(
        article().passages[1], article()
    )
    assert passage_version(before.passages[1], before) != passage_version(after.passages[1], after)
    assert article_version(before) != article_version(after)
    retitled = replace(before, headline="另一个标题")
    assert passage_version(before.passages[1], before) != passage_version(
        retitled.passages[1], retitled
    )


def test_button_keys_find_passages_and_articles() -> None:
    item = article(article_id="wind")
    keys = ButtonKeys.of([item])
    pick = decode(pick_data(item.passages[1], item))
    summary = decode(summary_data(item))
    assert pick is not None and summary is not None
    assert keys.passage_id(pick.key) == "wind#1"
    assert keys.article_id(summary.key) == "wind"
    assert keys.passage_id("0000000000") is None
    assert keys.article_id(pick.key) is None  # a passage's key names no article
