"""Inline mode: `@bot question` end to end (in process), and its pure helpers.

The fake validates every answerInlineQuery as Telegram does (result ids, message texts as
Telegram HTML within 4,096 characters); the query log is read from its SQLite file. A typed
query is logged once the reader stops typing: `fast_forward` runs that job at once.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.answers import Match, Outcome
from bot.content import Article, Passage, Section
from bot.deeplinks import question_payload
from bot.library import Library
from bot.matcher_config import MatcherConfig
from bot.parsing import load_folder
from bot.rendering import HTML, UNANSWERED_TEXT, render_summary, telegram_length
from handlers.inline import (
    NOTHING_FOUND,
    RESULT_LIMIT,
    fit_message,
    inline_matches,
    outcome_of,
    page_bounds,
    result_id,
    result_labels,
    summary_message,
)
from tests.conftest import SEED_ID, SEEDS
from tests.inprocess import InProcessBot, query_log_rows
from tests.telegram_html import parse_telegram_html, utf16_length

SEED_HEADLINE = "全球“All in AI” 中国科技巨头生态“攻守”"
SOLAR_HEADLINE = "Solar exports & the grid's <storage> gap 🌞"
COFFEE_HEADLINE = "Coffee harvest outlook"
# A newer article whose summary is far over one message, and an older short one.
SOLAR_MD = "\n".join(
    [
        f"# {SOLAR_HEADLINE}",
        "Source: Energy Desk · 2025-06-10 10:00",
        "",
        "## Core Viewpoint",
        "Panel makers ship more than the grids can store [1].",
        "",
        "## Factories",
        *(
            f"- Plant {n} in the eastern province doubled its wafer output & cut its costs "
            f"by <{n}%> while the regional grid kept curtailing daytime supply 🔋 [{n}]."
            for n in range(2, 42)
        ),
    ]
)
COFFEE_MD = """# Coffee harvest outlook
Source: Commodity Wire · 2024-01-15 08:30

## Core Viewpoint
Dry weather trims the arabica harvest [1].

## Prices
- Futures rose as growers held back beans [2].
"""
# Longer than the bot waits after a keystroke before it logs the typed query (LOG_DELAY).
TYPING_PAUSE = 10.0

pytestmark = pytest.mark.bot(
    # Raw reader ids, so the test can find each reader's rows in the log.
    env={"QUERY_LOG_USERS": "raw"},
    files={"solar.md": SOLAR_MD, "coffee.md": COFFEE_MD},
)


def logged(database: Path, user_id: int) -> list[tuple]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT via, question, outcome, passage_id FROM queries WHERE user_ref = ? "
            "ORDER BY ts, rowid",
            (str(user_id),),
        ).fetchall()


async def rows_of(bot: InProcessBot, user_id: int, until: Callable[[list], bool]) -> list[tuple]:
    """The reader's rows once `until(rows)` holds (the log's writer batches)."""
    return await query_log_rows(
        bot.database,
        "SELECT via, question, outcome, passage_id FROM queries WHERE user_ref = ? "
        "ORDER BY ts, rowid",
        str(user_id),
        until=until,
    )


# -- end to end ---------------------------------------------------------------------------


async def test_a_question_offers_up_to_five_cited_passages(bot: InProcessBot) -> None:
    call = await bot.inline(3001, "AI")
    results = call.params["results"]
    assert len(results) == RESULT_LIMIT  # more passages than that mention AI
    assert call.params["cache_time"] == 5
    assert call.params["is_personal"] is False
    assert "button" not in call.params
    ids = [r["id"] for r in results]
    assert len(set(ids)) == len(ids) and all(len(i.encode()) <= 64 for i in ids)
    for result in results:
        content = result["input_message_content"]
        assert content["parse_mode"] == "HTML"
        text = parse_telegram_html(content["message_text"])
        assert result["type"] == "article"
        assert text.startswith(result["title"] + "\n\n")  # titled by the section heading it
        assert f"📰 {SEED_HEADLINE}\n21st Century Business Herald · 2025-05-29 14:12 · para" in text


async def test_the_answer_is_the_passage_with_its_citation(bot: InProcessBot) -> None:
    call = await bot.inline(3002, "How many customers does Alibaba Cloud serve?")
    best = call.params["results"][0]
    text = parse_telegram_html(best["input_message_content"]["message_text"])
    assert best["title"] == "Historical Context and Cloud Computing"
    assert best["description"] == (
        "Alibaba Cloud has grown to become the largest cloud service provider in China, serving 4…"
    )
    assert "serving 4 million customers" in text
    assert text.endswith("21st Century Business Herald · 2025-05-29 14:12 · paragraph 7")


@pytest.mark.parametrize(("language", "share"), [("en", "↗️ Share"), ("zh-hans", "↗️ 分享")])
async def test_results_are_titled_by_section_described_by_first_words_and_distinct(
    bot: InProcessBot, language: str, share: str
) -> None:
    reader = 3010
    bot.telegram.add_user(reader, language_code=language)
    results = (await bot.inline(reader, "AI computational power Scaling Law")).params["results"]
    assert len(results) >= 3
    labels = [(r["title"], r["description"]) for r in results]
    assert len(set(labels)) == len(labels)  # no two results alike
    sections = [r["title"] for r in results]
    assert sections[:2] == ["AI Development and Scaling Law"] * 2  # the same section twice...
    assert results[0]["description"] != results[1]["description"]  # ...told apart by its words
    for result in results:
        text = parse_telegram_html(result["input_message_content"]["message_text"])
        section, passage = text.split("\n\n")[:2]
        assert result["title"] == section  # content: the same in every language
        description = result["description"]
        assert passage.startswith(description.removesuffix("…"))
        assert len(description) <= 90 and description.endswith("…")
        labels_of_buttons = [
            b["text"] for row in result["reply_markup"]["inline_keyboard"] for b in row
        ]
        assert labels_of_buttons[-1] == share


async def test_an_empty_query_lists_the_articles_newest_first(bot: InProcessBot) -> None:
    call = await bot.inline(3003, "")
    results = call.params["results"]
    assert [r["title"] for r in results] == [SOLAR_HEADLINE, SEED_HEADLINE, COFFEE_HEADLINE]
    assert [r["description"] for r in results] == [
        "Energy Desk · 2025-06-10 10:00",
        "21st Century Business Herald · 2025-05-29 14:12",
        "Commodity Wire · 2024-01-15 08:30",
    ]
    assert "next_offset" not in call.params  # one page holds them all
    texts = [parse_telegram_html(r["input_message_content"]["message_text"]) for r in results]
    solar, seed, coffee = texts
    # The long summary is cut within the limit (the fake refuses more) and says where the rest is.
    assert solar.startswith(SOLAR_HEADLINE) and "Plant 2 in the eastern province" in solar
    assert solar.endswith("… /summary 1 for the rest") and "Plant 41 " not in solar
    assert utf16_length(solar) <= 4096
    assert "4. Market Dynamics and Challenges" in seed and "/summary" not in seed
    assert "Futures rose as growers held back beans" in coffee


async def test_an_off_topic_question_gets_no_results_and_the_private_chat_button(
    bot: InProcessBot,
) -> None:
    call = await bot.inline(3004, "sourdough bread recipe")
    assert call.params["results"] == []
    payload = question_payload("sourdough bread recipe")
    assert call.params["button"] == {"text": NOTHING_FOUND, "start_parameter": payload}
    assert call.params["cache_time"] == 5
    # The button opens the private chat with "/start <payload>": the question is answered.
    start = await bot.private(3004, f"/start {payload}")
    assert parse_telegram_html(start.params["text"]) == UNANSWERED_TEXT
    # An older button's "/start inline" gets the welcome.
    start = await bot.private(3004, "/start inline")
    assert "/summary" in parse_telegram_html(start.params["text"])


async def test_a_chosen_result_is_logged_instead_of_the_typed_query(bot: InProcessBot) -> None:
    chooser = 3005
    question = "Tencent capital expenditure"
    offered = (await bot.inline(chooser, question)).params["results"]
    assert offered[0]["title"] == "Competitive Strategies of Major Players"
    bot.telegram.chosen_inline_result(chooser, offered[0]["id"], question)
    await bot.deliver()
    await bot.fast_forward(TYPING_PAUSE)  # the typed row would be written by now
    await bot.stop()  # drains the query log
    assert logged(bot.database, chooser) == [
        ("inline", question, "answered", f"{SEED_ID}#6"),
    ]


async def test_a_pick_after_the_typed_row_was_written_replaces_that_row(
    bot: InProcessBot,
) -> None:
    reader = 3009
    question = "Tencent capital expenditure"
    offered = (await bot.inline(reader, question)).params["results"]
    await bot.fast_forward(TYPING_PAUSE)  # the reader read the results a while
    typed = await rows_of(bot, reader, until=bool)
    assert typed == [("inline", question, "answered", f"{SEED_ID}#6")]
    picked = next(r for r in offered if r["title"] != offered[0]["title"])
    bot.telegram.chosen_inline_result(reader, picked["id"], question)
    await bot.deliver()
    await bot.stop()  # drains the query log
    [(via, text, outcome, passage_id)] = logged(bot.database, reader)  # one row, not two
    assert (via, text, outcome) == ("inline", question, "answered")
    assert passage_id != f"{SEED_ID}#6" and passage_id is not None  # the pick's passage


async def test_a_burst_of_keystrokes_logs_one_row_and_the_empty_query_none(
    bot: InProcessBot,
) -> None:
    typist, browser = 3007, 3008
    await bot.inline(browser, "")
    for text in ("H", "Hu", "Hua", "Huawe", "Huawei", "Huawei strategy"):
        await bot.inline(typist, text)
    await bot.fast_forward(TYPING_PAUSE)
    await bot.stop()  # drains the query log
    assert logged(bot.database, typist) == [
        ("inline", "Huawei strategy", "answered", f"{SEED_ID}#5"),
    ]
    assert logged(bot.database, browser) == []


# -- helpers ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def many_articles(tmp_path_factory: pytest.TempPathFactory) -> Library:
    folder = tmp_path_factory.mktemp("articles")
    shutil.copy(SEEDS / f"{SEED_ID}.txt", folder)
    (folder / "solar.md").write_text(SOLAR_MD, encoding="utf-8")
    (folder / "coffee.md").write_text(COFFEE_MD, encoding="utf-8")
    return Library(
        load_folder(folder).articles, MatcherConfig(answer_threshold=0.65, suggest_threshold=0.5)
    )


def test_result_ids_are_short_stable_and_distinct(many_articles: Library) -> None:
    passages = [p.id for a in many_articles.articles for p in a.passages]
    ids = {result_id("p", p) for p in passages} | {
        result_id("a", a.id) for a in many_articles.articles
    }
    assert len(ids) == len(passages) + len(many_articles.articles)
    assert result_id("p", passages[0]) == result_id("p", passages[0])
    long_id = result_id("p", "x" * 300 + "#12")
    assert long_id.isascii() and len(long_id.encode()) <= 64


def twin(article_id: str, headline: str, texts: list[str]) -> Article:
    core = Passage(article_id, 0, "Core Viewpoint", f"The view of {headline}.", (1,))
    bullets = tuple(Passage(article_id, n, "Wind", text, (n,)) for n, text in enumerate(texts, 1))
    return Article(article_id, headline, "Desk", None, core, (Section(1, "Wind", bullets),))


def test_result_labels_tell_every_result_apart() -> None:
    same_start = "Offshore wind turbines got larger this year across the whole northern coast, and "
    north = twin("n", "Wind in the north", [same_start + "ports grew.", same_start + "ships grew."])
    south = twin("s", "Wind in the south", ["Short.", "Short."])
    matches = [
        *(Match(p, north, 0.5) for p in north.passages),
        *(Match(p, south, 0.5) for p in south.passages),
    ]
    labels = result_labels(matches)
    assert len(set(labels)) == len(labels) == 6
    titles = [title for title, _ in labels]
    # Every article has a "Core Viewpoint" and both have "Wind": the headline tells them apart.
    assert titles == [
        "Core Viewpoint — Wind in the north",
        "Wind — Wind in the north",
        "Wind — Wind in the north",
        "Core Viewpoint — Wind in the south",
        "Wind — Wind in the south",
        "Wind — Wind in the south",
    ]
    # Passages that begin alike are described by more of their words...
    assert labels[1][1].endswith("ports grew.") and labels[2][1].endswith("ships grew.")
    # ...and passages that read the same by their number.
    assert labels[4][1] == "Short." and labels[5][1] == "Short. (#2)"
    # One article: the section alone.
    assert result_labels(matches[:1]) == [("Core Viewpoint", "The view of Wind in the north.")]


def test_fit_message_keeps_short_text_and_cuts_long_text_at_lines() -> None:
    assert fit_message("<b>short</b> &amp; sweet", "more") == "<b>short</b> &amp; sweet"
    lines = [f"<b>{n}</b> words &amp; 🌞 &lt;x&gt; " + "word " * 14 + "end" for n in range(100)]
    text = "\n".join(lines)
    assert telegram_length(text) > 4096
    cut = fit_message(text, "… more")
    visible = parse_telegram_html(cut)
    assert utf16_length(visible) <= 4096
    kept = cut.removesuffix("\n\n… more").split("\n")
    assert kept == lines[: len(kept)]  # whole lines, as many as fit
    assert telegram_length("\n".join(lines[: len(kept) + 1])) + len("\n\n… more") > 4096


def test_fit_message_closes_a_tag_cut_open_and_hard_cuts_one_long_line() -> None:
    quoted = "<blockquote>" + "\n".join(["line &amp; more"] * 600) + "</blockquote>"
    cut = fit_message(quoted, "… more")
    assert cut.startswith("<blockquote>line") and cut.endswith("</blockquote>\n\n… more")
    assert utf16_length(parse_telegram_html(cut)) <= 4096
    one_line = "<i>" + "word " * 2000 + "</i>"
    short = fit_message(one_line, limit=100)
    assert short.startswith("<i>word") and short.endswith("</i>")
    assert 90 <= utf16_length(parse_telegram_html(short)) <= 100


@pytest.mark.parametrize("bullets", [1, 20, 28, 29, 30, 60, 200])
def test_summary_message_always_fits_and_is_valid_html(bullets: int) -> None:
    article = Article(
        id="t",
        headline="Tight <fit> & 🌞",
        source="Desk",
        published=None,
        core_viewpoint=Passage("t", 0, "Core Viewpoint", "The view & more 😀 [1]", (1,)),
        sections=(
            Section(
                1,
                "Details",
                tuple(
                    Passage("t", n, "Details", f"Bullet {n} <x> & 🔋 " + "word " * 25, (n,))
                    for n in range(1, bullets + 1)
                ),
            ),
        ),
    )
    full = render_summary(article, HTML)
    message = summary_message(article, 7)
    visible = parse_telegram_html(message)
    assert utf16_length(visible) <= 4096
    if telegram_length(full) <= 4096:
        assert message == full
    else:
        assert visible.endswith("… /summary 7 for the rest")
        assert visible.startswith("Tight <fit> & 🌞")


def test_inline_matches_are_capped_above_the_suggest_bar(many_articles: Library) -> None:
    matcher = many_articles.matcher
    plausible = [s for s in matcher.search("AI", limit=50) if s.score >= 0.5]
    assert len(plausible) > RESULT_LIMIT
    matches = inline_matches(many_articles, "AI")
    assert [m.passage.id for m in matches] == [s.passage.id for s in plausible[:RESULT_LIMIT]]
    assert all(m.article.id == m.passage.article_id for m in matches)
    assert inline_matches(many_articles, "sourdough bread recipe") == []
    weak = matcher.search("Alibaba pizza delivery drones", limit=50)
    assert weak and all(0 < s.score < 0.5 for s in weak)  # shares a word, scores under the bar
    assert inline_matches(many_articles, "Alibaba pizza delivery drones") == []


def test_outcome_of_uses_the_best_score(many_articles: Library) -> None:
    (best,) = inline_matches(many_articles, "Huawei strategy")[:1]
    assert outcome_of([], 0.65) is Outcome.UNANSWERED
    assert outcome_of([best], best.score) is Outcome.ANSWERED
    assert outcome_of([best], best.score + 0.01) is Outcome.SUGGESTED


@pytest.mark.parametrize(
    ("offset", "total", "expected"),
    [("", 3, (0, 3)), ("", 120, (0, 50)), ("50", 120, (50, 100)), ("100", 120, (100, 120)),
     ("500", 120, (120, 120)), ("junk", 120, (120, 120))],
)  # fmt: skip
def test_page_bounds(offset: str, total: int, expected: tuple[int, int]) -> None:
    assert page_bounds(offset, total) == expected
