"""Suggestions as readers see them: worded for one or for several, labelled by headline
whenever more than one article is loaded, chosen by button or by typing their number; a
number that is not among them gets a hint, not a search (and is never a content gap).

The real bot in process against the strict fake (tests/inprocess.py); a fresh bot a test.
The answer bar is set at 1.0, which only a passage's own words reach, so these questions
get suggestions (as in tests/test_cli_chat.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ROVER, SEED_ID
from tests.fake_telegram import Call
from tests.inprocess import InProcessBot, query_log_rows
from tests.telegram_harness import BOT, text_of
from tests.telegram_harness import buttons as every_button

pytestmark = pytest.mark.bot(env={"QUESTIONS_PER_WINDOW": "1000", "MATCH_ANSWER_THRESHOLD": "1.0"})

EN_READER, HANS_READER = 5601, 5602
GROUP = -100960
ONE_SUGGESTION = "Huawei chips"
TWO_SUGGESTIONS = "Tencent and Alibaba capex"
SEED_HEADLINE = "全球“All in AI” 中国科技巨头生态“攻守”"
STRATEGIES = "Competitive Strategies of Major Players"
WORDS = {
    EN_READER: {
        "one": "I'm not sure this is what you mean. The closest passage:",
        "two": "I'm not sure which part you mean. The 2 closest passages:",
        "tap one": "Tap it below or type 1 to read it, or ask again in other words.",
        "tap two": (
            "Tap one below or type its number (1-2) to read it, or ask again in other words."
        ),
        "hint one": "There is one suggestion: type 1 to read it, or ask a question.",
        "hint two": "There are 2 suggestions: type 1-2 to read one, or ask a question.",
        "paragraphs": "paragraphs 9, 10",
    },
    HANS_READER: {
        "one": "我不太确定你要找的内容。最接近的 1 个段落：",
        "two": "我不太确定你要找的内容。最接近的 2 个段落：",
        "tap one": "共 1 个建议：点按下面的按钮或输入编号查看，或换个说法再问一次。",
        "tap two": "共 2 个建议：点按下面的按钮或输入编号查看，或换个说法再问一次。",
        "hint one": "共有 1 个建议：输入编号查看，或提一个新问题。",
        "hint two": "共有 2 个建议：输入编号查看，或提一个新问题。",
        "paragraphs": "第 9、10 段",
    },
}


def readers(bot: InProcessBot) -> None:
    bot.telegram.add_user(EN_READER, language_code="en")
    bot.telegram.add_user(HANS_READER, language_code="zh-hans")


def buttons(call: Call) -> list[dict[str, Any]]:
    """The reply's buttons but "🔔 Tell me when answered" (tests/test_telegram_follows.py)."""
    return [b for b in every_button(call) if not b.get("callback_data", "").startswith("watch:")]


async def logged(bot: InProcessBot, until: Any = bool) -> list[tuple[Any, ...]]:
    return await query_log_rows(
        bot.database,
        "SELECT question, kind, passage_id FROM queries ORDER BY ts, rowid",
        until=until,
    )


@pytest.mark.parametrize("reader", [EN_READER, HANS_READER])
async def test_one_suggestion_is_worded_for_one_and_several_for_several(
    bot: InProcessBot, reader: int
) -> None:
    readers(bot)
    words = WORDS[reader]
    one = await bot.private(reader, ONE_SUGGESTION)
    shown = text_of(one)
    assert shown.startswith(f"{words['one']}\n\n1. {STRATEGIES}\n")
    assert "2. " not in shown and "closest passages" not in shown
    assert shown.endswith(f"\n\n{words['tap one']}")
    assert SEED_HEADLINE not in shown  # one article loaded: the section says enough
    assert [b["text"] for b in buttons(one)] == [STRATEGIES]
    two = await bot.private(reader, TWO_SUGGESTIONS)
    shown = text_of(two)
    assert shown.startswith(f"{words['two']}\n\n1. ")
    assert "\n\n2. " in shown and shown.endswith(f"\n\n{words['tap two']}")
    assert len(buttons(two)) == 2


@pytest.mark.parametrize("reader", [EN_READER, HANS_READER])
async def test_a_number_beyond_the_suggestions_gets_a_hint_not_a_search(
    bot: InProcessBot, reader: int
) -> None:
    readers(bot)
    words = WORDS[reader]
    await bot.private(reader, ONE_SUGGESTION)
    for number in ("2", "0", "17"):
        hint = await bot.private(reader, number)
        assert text_of(hint) == words["hint one"]
        assert buttons(hint) == []
    # The suggestion is still there to be chosen: by its number, a full answer.
    chosen = await bot.private(reader, "1")
    shown = text_of(chosen)
    assert shown.startswith(f"{STRATEGIES}\n\n")
    assert shown.endswith(words["paragraphs"])  # with its citation
    assert len(buttons(chosen)) == 4  # Full summary, 👍 / 👎, Share
    # Logged: the question and the pick of its suggestion; the slips, never (no content gap).
    rows = await logged(bot, until=lambda rows: len(rows) >= 2)
    assert rows == [
        (ONE_SUGGESTION, "question", f"{SEED_ID}#5"),
        (ONE_SUGGESTION, "pick", f"{SEED_ID}#5"),
    ]
    # Two suggestions: the hint counts them.
    await bot.private(reader, TWO_SUGGESTIONS)
    assert text_of(await bot.private(reader, "3")) == words["hint two"]


async def test_a_number_chooses_only_right_after_suggestions(bot: InProcessBot) -> None:
    readers(bot)
    # No suggestions pending: a number is a question like any other.
    await bot.private(EN_READER, "2")
    await bot.private(EN_READER, ONE_SUGGESTION)
    # A year is a question, even with suggestions pending; and it replaces them.
    year = await bot.private(EN_READER, "2024")
    assert "There is one suggestion" not in text_of(year)
    rows = await logged(bot, until=lambda rows: len(rows) >= 3)
    assert [(q, kind) for q, kind, _ in rows] == [
        ("2", "question"),
        (ONE_SUGGESTION, "question"),
        ("2024", "question"),
    ]


async def test_in_a_group_a_reply_with_a_number_chooses(bot: InProcessBot) -> None:
    readers(bot)
    suggested = await bot.group(GROUP, HANS_READER, f"/ask@{BOT} {TWO_SUGGESTIONS}")
    message_id = suggested.result["message_id"]
    hint = await bot.group(GROUP, HANS_READER, "5", reply_to_message=message_id)
    assert text_of(hint) == WORDS[HANS_READER]["hint two"]
    chosen = await bot.group(GROUP, EN_READER, "2", reply_to_message=message_id)
    assert "📰" in text_of(chosen) and chosen.params["reply_parameters"]


@pytest.mark.bot(files={"rover.md": ROVER})
@pytest.mark.parametrize("reader", [EN_READER, HANS_READER])
async def test_with_several_articles_loaded_suggestions_name_their_headline(
    bot: InProcessBot, reader: int
) -> None:
    readers(bot)
    one = await bot.private(reader, ONE_SUGGESTION)
    shown = text_of(one)
    # All from one article, but readers cannot know which: the headline says it.
    assert shown.startswith(f"{WORDS[reader]['one']}\n\n1. {STRATEGIES} — {SEED_HEADLINE}\n")
    [label] = [b["text"] for b in buttons(one)]
    assert label.startswith(f"{STRATEGIES} — 全球") and len(label) <= 48
