"""Sharing an answer: its "Share" button opens Telegram's share sheet with the passage's
deep link, and /start with that link's payload shows the same passage, with its citation,
to whoever opens it; saying so when the passage changed since, "expired" when it is gone.

The real bot in process against the strict fake (tests/inprocess.py); a fresh bot a test.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import ROVER, SEED_ID
from tests.fake_telegram import Call
from tests.inprocess import InProcessBot, query_log_rows
from tests.telegram_harness import ADMIN, BOT, buttons, text_of

pytestmark = pytest.mark.bot(env={"QUESTIONS_PER_WINDOW": "1000"})

EN_READER, HANS_READER, HANT_READER = 5401, 5402, 5403
GROUP = -100901
ALIBABA = "How many customers does Alibaba Cloud serve?"
ALIBABA_PASSAGE = "serving 4 million customers"
CITATION = "21st Century Business Herald · 2025-05-29 14:12"
LANGUAGES = {EN_READER: "en", HANS_READER: "zh-hans", HANT_READER: "zh-hant"}
SHARE_LABEL = {EN_READER: "↗️ Share", HANS_READER: "↗️ 分享", HANT_READER: "↗️ 分享"}
PARAGRAPH_7 = {EN_READER: "paragraph 7", HANS_READER: "第 7 段", HANT_READER: "第 7 段"}


def readers(bot: InProcessBot) -> None:
    for reader, code in LANGUAGES.items():
        bot.telegram.add_user(reader, language_code=code, started=False)


def shared_link(call: Call, label: str) -> tuple[str, str]:
    """The deep link and the line an answer's Share button hands Telegram's share sheet."""
    [share] = [b for b in buttons(call) if b["text"] == label]
    assert "callback_data" not in share  # a URL button: nothing to expire
    url = urlsplit(share["url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "t.me", "/share/url")
    query = parse_qs(url.query, strict_parsing=True)
    [link], [line] = query["url"], query["text"]
    return link, line


def payload_of(link: str) -> str:
    url = urlsplit(link)
    assert (url.scheme, url.netloc, url.path) == ("https", "t.me", f"/{BOT}")
    [payload] = parse_qs(url.query)["start"]
    assert len(payload) <= 64
    return payload


@pytest.mark.parametrize(("sharer", "opener"), [(EN_READER, HANS_READER), (HANS_READER, EN_READER)])
async def test_a_shared_answer_opens_the_same_passage_for_another_reader(
    bot: InProcessBot, sharer: int, opener: int
) -> None:
    readers(bot)
    answer = await bot.private(sharer, ALIBABA)
    assert ALIBABA_PASSAGE in text_of(answer)
    # The votes and "Full summary" in the first row, "Share" below on its own.
    rows = answer.params["reply_markup"]["inline_keyboard"]
    assert [len(row) for row in rows] == [3, 1]
    link, line = shared_link(answer, SHARE_LABEL[sharer])
    assert line == "Historical Context and Cloud Computing — 全球“All in AI” 中国科技巨头生态“攻守”"
    payload = payload_of(link)
    # Whoever taps the link opens a private chat with the bot and presses Start.
    opened = await bot.private(opener, f"/start {payload}")
    shown = text_of(opened)
    assert shown == text_of(answer).replace(PARAGRAPH_7[sharer], PARAGRAPH_7[opener])
    assert shown.startswith("Historical Context and Cloud Computing\n\n")
    assert CITATION in shown and shown.endswith(PARAGRAPH_7[opener])
    # An answer like any other: its buttons in the opener's language, its own Share too.
    assert [b["text"] for b in buttons(opened)][1:] == ["👍", "👎", SHARE_LABEL[opener]]
    assert payload_of(shared_link(opened, SHARE_LABEL[opener])[0]) == payload
    # Logged as a pick (a passage offered), never as a question asked.
    rows_logged = await query_log_rows(
        bot.database,
        "SELECT kind, passage_id FROM queries WHERE question = ?",
        f"/start {payload}",
    )
    assert rows_logged == [("pick", f"{SEED_ID}#4")]
    # The chat's current article is the passage's: a follow-up prefers it.
    follow_up = await bot.private(opener, "Tencent capital expenditure")
    assert "Tencent's recent capital expenditures" in text_of(follow_up)


async def test_a_group_answer_has_a_share_link_too(
    bot: InProcessBot,
) -> None:
    readers(bot)
    group_answer = await bot.group(GROUP, EN_READER, f"/ask@{BOT} {ALIBABA}")
    link, _ = shared_link(group_answer, "↗️ Share")
    opened = await bot.private(HANT_READER, f"/start {payload_of(link)}")
    assert ALIBABA_PASSAGE in text_of(opened) and text_of(opened).endswith("第 7 段")


async def test_a_passage_that_changed_since_it_was_shared_says_so(bot: InProcessBot) -> None:
    readers(bot)
    answer = await bot.private(EN_READER, ALIBABA)
    payload = payload_of(shared_link(answer, "↗️ Share")[0])
    seed = bot.seeds / f"{SEED_ID}.txt"
    seed.write_text(
        seed.read_text(encoding="utf-8").replace("4 million customers", "5 million customers"),
        encoding="utf-8",
    )
    assert "1 article" in text_of(await bot.private(ADMIN, "/reload"))
    for reader, note in (
        (HANS_READER, "这段内容在分享之后有过更改。以下是它现在的样子："),
        (EN_READER, "This passage has changed since it was shared. Here it is as it reads now:"),
    ):
        opened = await bot.private(reader, f"/start {payload}")
        shown = text_of(opened)
        assert shown.startswith(f"{note}\n\nHistorical Context and Cloud Computing\n\n")
        assert "serving 5 million customers" in shown  # as it reads now, with its citation
        assert CITATION in shown
        # Its own Share button links to the passage as it is now.
        label = SHARE_LABEL[reader]
        assert payload_of(shared_link(opened, label)[0]) != payload


@pytest.mark.bot(files={"rover.md": ROVER})
async def test_a_passage_that_is_gone_is_expired(bot: InProcessBot) -> None:
    readers(bot)
    answer = await bot.private(EN_READER, "rover battery lunar night")
    assert "solid-state battery" in text_of(answer)
    payload = payload_of(shared_link(answer, "↗️ Share")[0])
    (bot.seeds / "rover.md").unlink()
    await bot.private(ADMIN, "/reload")
    for reader, expired in (
        (HANS_READER, "这个分享链接已过期"),
        (EN_READER, "This shared link has expired: its passage is no longer in the articles"),
    ):
        gone = await bot.private(reader, f"/start {payload}")
        assert text_of(gone).startswith(expired)
        # The examples to tap instead, each one a question the bot answers.
        assert buttons(gone) and all(b["callback_data"].startswith("e:") for b in buttons(gone))


@pytest.mark.parametrize("payload", ["p_", "p_zzzzzzzzzz_000000", "p_0123456789_abcdef"])
async def test_a_made_up_share_payload_is_expired(bot: InProcessBot, payload: str) -> None:
    readers(bot)
    gone = await bot.private(EN_READER, f"/start {payload}")
    assert text_of(gone).startswith("This shared link has expired")
