"""Context: a reply to the bot's answer or summary asks about that article (in process)."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.fake_telegram import Call
from tests.inprocess import InProcessBot
from tests.telegram_harness import BOT, GROUP, READER, text_of

ARTICLES = ROOT / "tests" / "data" / "articles"
BANK = "102_e14b6d02a9c7f358"  # the fourth newest: /summary 4

pytestmark = pytest.mark.bot(
    env={"SUMMARY_COOLDOWN_SECONDS": "0"},
    files={article.name: article for article in sorted(ARTICLES.iterdir())},
)


async def ask(bot: InProcessBot, text: str, reply_to: int | None = None) -> Call:
    return await bot.group(GROUP, READER, text, reply_to_message=reply_to)


async def test_a_reply_to_a_summary_asks_about_its_article(bot: InProcessBot) -> None:
    summary = await ask(bot, f"/summary@{BOT} 4")
    assert "Industrial and Commercial Bank of China" in text_of(summary)
    # The chat's current article is now the phones one...
    phones = await ask(bot, f"/ask@{BOT} Xiaomi smartphone shipments market share")
    assert "AI phone" in text_of(phones) or "smartphone" in text_of(phones).lower()
    # ...where "how many users?" would go; a reply to the bank's summary asks the bank.
    answer = await ask(bot, "how many users?", reply_to=summary.result["message_id"])
    assert "570 million registered users" in text_of(answer)


async def test_a_reply_to_an_answer_asks_about_its_article(bot: InProcessBot) -> None:
    first = await ask(bot, f"/ask@{BOT} Industrial and Commercial Bank of China technology")
    assert "工商银行年报透视" in text_of(first)  # the bank's article (its headline)
    await ask(bot, f"/ask@{BOT} How much are food delivery platforms losing?")  # now current
    follow_up = await ask(bot, "and the profit?", reply_to=first.result["message_id"])
    assert "366.7 billion yuan" in text_of(follow_up)
