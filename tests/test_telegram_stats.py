"""What the bot logs as each kind of row, and /stats as an admin's phone shows it (in process)."""

from __future__ import annotations

from tests.inprocess import InProcessBot, query_log_rows
from tests.telegram_harness import ADMIN, buttons, text_of


async def test_questions_summaries_and_picks_are_logged_apart(
    bot: InProcessBot, suggested_question: str
) -> None:
    call = await bot.private(ADMIN, suggested_question)
    mark = bot.telegram.mark()
    await bot.press(ADMIN, call.result, buttons(call)[0]["callback_data"])
    assert [c.method for c in bot.telegram.calls[mark:] if c.ok] == [
        "answerCallbackQuery",
        "editMessageText",  # the pick was shown
    ]
    await bot.private(ADMIN, "/summary 1")
    await bot.private(ADMIN, "Huawei strategy")
    kinds = await query_log_rows(
        bot.database,
        "SELECT via, question, kind FROM queries ORDER BY ts",
        until=lambda rows: len(rows) >= 4,
    )
    assert sorted(kinds) == sorted(
        [
            ("private", suggested_question, "question"),
            ("callback", suggested_question, "pick"),
            ("private", "/summary 1", "summary"),
            ("private", "Huawei strategy", "question"),
        ]
    )

    text = text_of(await bot.private(ADMIN, "/stats 7"))
    assert "2 questions" in text and "1 summary" in text and "1 pick" in text
    # Passages by the article's headline and their section, not by id.
    assert "Competitive Strategies" in text and "#" not in text
