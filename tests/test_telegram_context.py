"""Context over HTTP: a reply to the bot's answer or summary asks about that article."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT, SEEDS
from tests.fake_telegram import Call, FakeTelegram
from tests.telegram_harness import BOT, GROUP, READER, RunningBot, text_of

ARTICLES = ROOT / "tests" / "data" / "articles"
BANK = "102_e14b6d02a9c7f358"  # the fourth newest: /summary 4


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    folder = tmp_path_factory.mktemp("context")
    shutil.copytree(SEEDS, folder / "seeds")
    for article in ARTICLES.iterdir():
        shutil.copy(article, folder / "seeds" / article.name)
    with FakeTelegram(username=BOT) as fake:
        running = RunningBot(fake, folder, SUMMARY_COOLDOWN_SECONDS="0")
        yield running
        running.stop()


def ask(bot: RunningBot, text: str, reply_to: int | None = None) -> Call:
    return bot.reply_to(
        lambda: bot.fake.group_message(GROUP, READER, text, reply_to_message=reply_to), GROUP
    )


def test_a_reply_to_a_summary_asks_about_its_article(bot: RunningBot) -> None:
    summary = ask(bot, f"/summary@{BOT} 4")
    assert "Industrial and Commercial Bank of China" in text_of(summary)
    # The chat's current article is now the phones one...
    phones = ask(bot, f"/ask@{BOT} Xiaomi smartphone shipments market share")
    assert "AI phone" in text_of(phones) or "smartphone" in text_of(phones).lower()
    # ...where "how many users?" would go; a reply to the bank's summary asks the bank.
    answer = ask(bot, "how many users?", reply_to=summary.result["message_id"])
    assert "570 million registered users" in text_of(answer)


def test_a_reply_to_an_answer_asks_about_its_article(bot: RunningBot) -> None:
    first = ask(bot, f"/ask@{BOT} Industrial and Commercial Bank of China technology")
    assert "工商银行年报透视" in text_of(first)  # the bank's article (its headline)
    ask(bot, f"/ask@{BOT} How much are food delivery platforms losing?")  # now the current one
    follow_up = ask(bot, "and the profit?", reply_to=first.result["message_id"])
    assert "366.7 billion yuan" in text_of(follow_up)
