"""/summary as readers see it: in a group, one phone screen (the core viewpoint, the
sections as buttons that each open their points, "Show all" for the rest); in private the
full summary; and either says so when the chat's current article is no longer the newest.

The real bot in process against the strict fake (tests/inprocess.py); a fresh bot a test.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ROVER, SEED_ID
from tests.fake_telegram import Call
from tests.inprocess import InProcessBot
from tests.telegram_harness import ADMIN, BOT, buttons, text_of
from tests.telegram_html import utf16_length

pytestmark = pytest.mark.bot(env={"QUESTIONS_PER_WINDOW": "1000", "SUMMARY_COOLDOWN_SECONDS": "0"})

EN_READER, HANS_READER = 5501, 5502
GROUP = -100950
SEED_HEADLINE = "全球“All in AI” 中国科技巨头生态“攻守”"
SECTIONS = [
    "1. AI Development and Scaling Law",
    "2. Historical Context and Cloud Computing",
    "3. Competitive Strategies of Major Players",
    "4. Market Dynamics and Challenges",
]
WORDS = {
    EN_READER: {
        "sections": "4 sections below: tap one to read its points, or “Show all”.",
        "show_all": "📄 Show all",
        "newer": "🆕 A newer article is loaded: /summary 1 shows it.",
        "paragraphs 4, 5, 7": "paragraphs 4, 5, 7",
    },
    HANS_READER: {
        "sections": "下面有 4 个部分：点按一个查看要点，或点按“全部显示”。",
        "show_all": "📄 全部显示",
        "newer": "🆕 有 1 篇更新的文章：发送 /summary 1 查看最新的一篇。",
        "paragraphs 4, 5, 7": "第 4、5、7 段",
    },
}
# Each section's first words, and the paragraphs its points cite (in English).
SECTION_POINTS = [
    ("The emergence of AI technologies", "paragraphs 3, 12"),
    ("The evolution of cloud computing", "paragraphs 4, 5, 7"),
    ("Major players like Huawei and Tencent", "paragraphs 9, 10, 12"),
    ("The rise of open-source models", "paragraph 13"),
]


def readers(bot: InProcessBot) -> None:
    bot.telegram.add_user(EN_READER, language_code="en", started=False)
    bot.telegram.add_user(HANS_READER, language_code="zh-hans", started=False)


async def press_for_reply(bot: InProcessBot, user: int, message: dict[str, Any], data: str) -> Call:
    """Press a button of a group message; the message the bot sends to the group for it."""
    mark = bot.telegram.mark()
    answered = await bot.press(user, message, data)
    assert "show_alert" not in answered.params, answered.params
    sent = [
        c
        for c in bot.telegram.calls[mark:]
        if c.method == "sendMessage" and c.ok and c.params["chat_id"] == GROUP
    ]
    assert len(sent) == 1, sent
    return sent[0]


@pytest.mark.parametrize("reader", [EN_READER, HANS_READER])
async def test_a_group_summary_fits_a_screen_and_its_sections_are_buttons(
    bot: InProcessBot, reader: int
) -> None:
    readers(bot)
    words = WORDS[reader]
    summary = await bot.group(GROUP, reader, f"/summary@{BOT}")
    shown = text_of(summary)
    assert utf16_length(shown) < 1000
    assert shown.startswith(f"{SEED_HEADLINE}\n21st Century Business Herald · 2025-05-29 14:12")
    assert "Core Viewpoint\nThe article discusses the competitive landscape of AI" in shown
    assert shown.endswith(words["sections"])
    assert "•" not in shown  # the points are behind the buttons
    cites = " (paragraphs 2, 10)" if reader == EN_READER else "（第 2、10 段）"
    assert f"ecosystem integration.{cites}" in shown  # the core viewpoint's, and only it
    assert "🆕" not in shown  # the newest article: nothing newer to point to
    keyboard = summary.params["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in keyboard] == [
        *([title] for title in SECTIONS),
        [words["show_all"]],
    ]
    for button in buttons(summary):
        assert len(button["callback_data"].encode()) <= 64
    # Each section button opens that section's points, as a reply to the summary.
    for data, (first_words, paragraphs) in zip(
        [b["callback_data"] for b in buttons(summary)][:4], SECTION_POINTS, strict=True
    ):
        section = await press_for_reply(bot, reader, summary.result, data)
        points = text_of(section)
        title = next(t for t in SECTIONS if points.startswith(t))
        assert points.startswith(f"{title}\n• {first_words}")
        assert points.count("•") == 2  # the section's two points, and nothing else
        # One citation for the section's points: headline, source, date, every paragraph.
        assert f"📰 {SEED_HEADLINE}\n21st Century Business Herald · 2025-05-29 14:12" in points
        assert points.endswith(paragraphs if reader == EN_READER else "段")
        reply = section.params["reply_parameters"]
        assert reply["message_id"] == summary.result["message_id"]
    second = await press_for_reply(
        bot, reader, summary.result, buttons(summary)[1]["callback_data"]
    )
    assert text_of(second).endswith(words["paragraphs 4, 5, 7"])
    # "Show all": the full summary, every section and point.
    full = await press_for_reply(bot, reader, summary.result, buttons(summary)[-1]["callback_data"])
    everything = text_of(full)
    assert all(title in everything for title in SECTIONS)
    assert everything.count("•") == 8


async def test_a_reply_to_a_section_asks_about_its_article(bot: InProcessBot) -> None:
    readers(bot)
    summary = await bot.group(GROUP, EN_READER, f"/summary@{BOT}")
    section = await press_for_reply(
        bot, EN_READER, summary.result, buttons(summary)[2]["callback_data"]
    )
    answer = await bot.group(
        GROUP,
        EN_READER,
        "Tencent capital expenditure",
        reply_to_message=section.result["message_id"],
    )
    assert "Tencent's recent capital expenditures" in text_of(answer)


async def test_in_private_the_summary_is_the_full_one(bot: InProcessBot) -> None:
    readers(bot)
    full = await bot.private(EN_READER, "/summary")
    shown = text_of(full)
    assert all(title in shown for title in SECTIONS) and shown.count("•") == 8
    assert "(paragraph 7)" in shown
    assert buttons(full) == []


async def test_a_stale_section_button_is_expired(bot: InProcessBot) -> None:
    readers(bot)
    summary = await bot.group(GROUP, EN_READER, f"/summary@{BOT}")
    seed = bot.seeds / f"{SEED_ID}.txt"
    seed.write_text(
        seed.read_text(encoding="utf-8").replace("4 million customers", "5 million customers"),
        encoding="utf-8",
    )
    await bot.private(ADMIN, "/reload")
    answered = await bot.press(EN_READER, summary.result, buttons(summary)[0]["callback_data"])
    assert answered.params["text"] == "This button has expired. Please ask again."
    assert answered.params["show_alert"] is True


async def test_after_a_newer_article_lands_the_summary_says_so(bot: InProcessBot) -> None:
    readers(bot)
    await bot.group(GROUP, EN_READER, f"/summary@{BOT}")  # the seed: the chat's article
    await bot.private(EN_READER, "/summary")
    (bot.seeds / "rover.md").write_bytes(ROVER)  # dated 2025-06-02: newer than the seed
    assert "2 articles" in text_of(await bot.private(ADMIN, "/reload"))
    for reader in (EN_READER, HANS_READER):
        again = text_of(await bot.group(GROUP, reader, f"/summary@{BOT}"))
        assert again.startswith(SEED_HEADLINE)  # still the chat's article...
        assert again.endswith(WORDS[reader]["newer"])  # ...saying a newer one is there
        assert utf16_length(again) < 1000
    private = text_of(await bot.private(EN_READER, "/summary"))
    assert private.startswith(SEED_HEADLINE) and private.endswith(WORDS[EN_READER]["newer"])
    # The command is in <code>: a tap copies it whole (a command link would drop the "1").
    latest = await bot.group(GROUP, EN_READER, f"/summary@{BOT}")
    assert "<code>/summary 1</code>" in latest.params["text"]
    newest = text_of(await bot.group(GROUP, EN_READER, "/summary 1"))
    assert newest.startswith("Lunar rover program update") and "🆕" not in newest
    # Asked for by number, an older article is what the reader wants: no pointer.
    second = text_of(await bot.group(GROUP, EN_READER, "/summary 2"))
    assert second.startswith(SEED_HEADLINE) and "🆕" not in second


LONG_CORE = "The harbour authority’s plan " + "widens the channel and dredges the berths, " * 40
MANY_SECTIONS = "\n".join(
    [
        "# Harbour expansion",
        "Source: Port Desk · 2025-07-01 08:00",
        "",
        "## Core Viewpoint",
        f"{LONG_CORE}[1].",
        "",
        *(f"## Berth {n}\n- Berth {n} gets a new crane [{n + 1}].\n" for n in range(1, 15)),
    ]
)
LONG_CHINESE = "\n".join(
    [
        "# 港口扩建计划",
        "Source: 港口新闻 · 2025-07-02 08:00",
        "",
        "## Core Viewpoint",
        "港务局计划拓宽航道并疏浚泊位🚢" * 120 + "[1]。",
        "",
        "## 泊位",
        "- 新泊位将配备新的起重机[2]。",
    ]
)


@pytest.mark.bot(files={"harbour.md": MANY_SECTIONS, "harbour_zh.md": LONG_CHINESE})
async def test_a_long_core_viewpoint_is_cut_to_fit_and_sections_are_capped(
    bot: InProcessBot,
) -> None:
    readers(bot)
    for reference, cut in (("Harbour expansion", "dredges the berths,"), ("港口扩建计划", "🚢")):
        summary = await bot.group(GROUP, EN_READER, f"/summary@{BOT} {reference}")
        shown = text_of(summary)
        assert 900 < utf16_length(shown) < 1000, utf16_length(shown)
        core = shown.split("Core Viewpoint\n", 1)[1].split("\n\n", 1)[0]
        assert core.endswith("… (paragraph 1)") and cut in core
    english = await bot.group(GROUP, EN_READER, f"/summary@{BOT} Harbour expansion")
    labels = [b["text"] for b in buttons(english)]
    assert labels == [*(f"{n}. Berth {n}" for n in range(1, 11)), "📄 Show all"]
    assert text_of(english).endswith(
        "The first 10 of 14 sections below: tap one to read its points, or “Show all”."
    )
