"""/follow, /unfollow, /following and "🔔 Tell me when answered", through the real bot in
process (tests/inprocess.py), its outbox's sender, and an upload of a new article (ROVER:
a core viewpoint, a Battery passage and a Payload passage about a radar).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.conftest import ROVER
from tests.fake_telegram import Call
from tests.inprocess import InProcessBot
from tests.telegram_harness import ADMIN, BOT, buttons, text_of

pytestmark = pytest.mark.bot(env={"QUESTIONS_PER_WINDOW": "1000"})

READER, OTHER, HANS_READER = 6301, 6302, 6303
GROUP, GROUP_ADMIN, GROUP_MEMBER = -100777, 6401, 6402
# Nothing in the seed answers it; ROVER's Battery passage does.
ROVER_QUESTION = "How long does the lunar rover battery last?"


def button(call: Call, text: str) -> dict[str, Any]:
    [found] = [b for b in buttons(call) if b["text"] == text]
    return found


async def drained(bot: InProcessBot) -> None:
    """Until the outbox has sent everything (its sender paces pushes a second apart per chat)."""
    outbox = bot.app.bot_data.outbox
    assert outbox is not None
    deadline = time.monotonic() + 15

    async def waiting() -> int:
        counts = await outbox.counts()
        return counts["pending"] + counts["sending"]

    while await waiting() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert await waiting() == 0


# -- topic follows ---------------------------------------------------------------------------


async def test_a_follow_gets_the_one_new_passage_answering_it_once(bot: InProcessBot) -> None:
    bot.telegram.add_user(READER, language_code="en")
    bot.telegram.add_user(OTHER, language_code="en")
    empty = await bot.private(READER, "/following")
    assert text_of(empty).startswith("This chat follows no topic.")
    done = await bot.private(READER, "/follow ground-penetrating radar")
    assert text_of(done).startswith("Following “ground-penetrating radar”")
    again = await bot.private(READER, "/follow Ground-Penetrating  Radar")
    assert text_of(again) == "This chat already follows “Ground-Penetrating Radar”."
    await bot.private(READER, "/follow water ice")  # the same passage: sent once
    listed = await bot.private(READER, "/following")
    assert "• ground-penetrating radar\n• water ice" in text_of(listed)
    mark = bot.telegram.mark()
    assert "Reloaded" in await bot.upload(ROVER, "rover.md")
    push = await bot.telegram.wait_for_async(
        lambda c: c.method == "sendMessage" and c.params["chat_id"] == READER, after=mark
    )
    await drained(bot)
    [only] = bot.sent_to(READER, mark)
    assert only is push
    text = text_of(push)
    assert text.startswith("🔔 New on “ground-penetrating radar”")
    assert "ground-penetrating radar to map water ice" in text  # the Payload passage
    assert "Battery" not in text and "solid-state" not in text  # not the other passages
    assert "📰 Lunar rover program update" in text and "Space Desk" in text
    assert "paragraph 4" in text
    assert [b["text"] for b in buttons(push)] == ["📄 Full summary"]
    assert bot.sent_to(OTHER, mark) == []
    # A reload and a restart send nothing more.
    await bot.private(ADMIN, "/reload")
    await bot.restart()
    await bot.fast_forward(5)
    assert len(bot.sent_to(READER, mark)) == 1


async def test_a_chinese_topic_reaches_an_english_passage(bot: InProcessBot) -> None:
    bot.telegram.add_user(HANS_READER, language_code="zh-hans")
    done = await bot.private(HANS_READER, "/follow 雷达")  # radar
    assert text_of(done).startswith("已关注“雷达”")
    mark = bot.telegram.mark()
    await bot.upload(ROVER, "rover.md")
    push = await bot.telegram.wait_for_async(
        lambda c: c.method == "sendMessage" and c.params["chat_id"] == HANS_READER, after=mark
    )
    assert text_of(push).startswith("🔔 “雷达”有新内容")
    assert "ground-penetrating radar" in text_of(push)
    assert "第 4 段" in text_of(push)
    await drained(bot)
    assert len(bot.sent_to(HANS_READER, mark)) == 1


async def test_a_topic_nothing_new_answers_sends_nothing(bot: InProcessBot) -> None:
    bot.telegram.add_user(READER, language_code="en")
    await bot.private(READER, "/follow Alibaba")
    mark = bot.telegram.mark()
    await bot.upload(ROVER, "rover.md")
    await drained(bot)
    assert bot.sent_to(READER, mark) == []


@pytest.mark.bot(env={"FOLLOW_MAX_TOPICS": "2"})
async def test_the_limit_and_unfollowing_with_a_button(bot: InProcessBot) -> None:
    bot.telegram.add_user(READER, language_code="en")
    await bot.private(READER, "/follow 阿里云")
    await bot.private(READER, "/follow battery")
    full = await bot.private(READER, "/follow radar")
    assert text_of(full) == (
        "This chat already follows 2 topics, the most it can. /unfollow one first."
    )
    long = await bot.private(READER, "/follow " + "x" * 101)
    assert text_of(long) == "A topic can be at most 100 characters: a few words."
    menu = await bot.private(READER, "/unfollow")
    assert [b["text"] for b in buttons(menu)] == ["阿里云", "battery"]
    chosen = button(menu, "阿里云")
    assert len(chosen["callback_data"].encode()) <= 64 and "阿" not in chosen["callback_data"]
    answered = await bot.press(READER, menu.result, chosen["callback_data"])
    assert answered.params["text"] == "Unfollowed “阿里云”."
    named = await bot.private(READER, "/unfollow Battery")
    assert text_of(named) == "Unfollowed “battery”."
    none = await bot.private(READER, "/unfollow radar")
    assert text_of(none).startswith("This chat does not follow “radar”.")
    assert text_of(await bot.private(READER, "/follow radar")).startswith("Following")


async def test_only_a_groups_admins_change_its_follows(bot: InProcessBot) -> None:
    fake = bot.telegram
    fake.add_user(GROUP_ADMIN, language_code="en", started=False)
    fake.add_user(GROUP_MEMBER, language_code="en", started=False)
    refused = await bot.group(GROUP, GROUP_MEMBER, f"/follow@{BOT} radar")
    assert text_of(refused) == "Only the group's admins can change what it follows."
    fake.set_member_status(GROUP, GROUP_ADMIN, "administrator")
    done = await bot.group(GROUP, GROUP_ADMIN, f"/follow@{BOT} radar")
    assert text_of(done).startswith("Following “radar”")
    refused = await bot.group(GROUP, GROUP_MEMBER, f"/unfollow@{BOT} radar")
    assert text_of(refused) == "Only the group's admins can change what it follows."
    anyone = await bot.group(GROUP, GROUP_MEMBER, f"/following@{BOT}")
    assert "• radar" in text_of(anyone)
    mark = fake.mark()
    await bot.upload(ROVER, "rover.md")
    push = await fake.wait_for_async(
        lambda c: c.method == "sendMessage" and c.params["chat_id"] == GROUP, after=mark
    )
    assert "ground-penetrating radar" in text_of(push)


async def test_a_migrated_groups_follows_move_with_it(bot: InProcessBot) -> None:
    group, admin = -4030, 6403
    fake = bot.telegram
    fake.add_user(admin, language_code="en", started=False)
    fake.set_member_status(group, admin, "administrator")
    await bot.group(group, admin, f"/follow@{BOT} radar")
    _, moved = fake.migrate(group)
    supergroup = moved["chat"]["id"]
    await bot.deliver()
    listed = await bot.group(supergroup, admin, f"/following@{BOT}")
    assert "• radar" in text_of(listed)
    mark = fake.mark()
    await bot.upload(ROVER, "rover.md")
    push = await fake.wait_for_async(
        lambda c: c.method == "sendMessage" and c.ok and c.params["chat_id"] == supergroup,
        after=mark,
    )
    assert "ground-penetrating radar" in text_of(push)


# -- "Tell me when answered" -----------------------------------------------------------------


async def test_a_request_is_answered_once_in_private_by_an_upload(bot: InProcessBot) -> None:
    bot.telegram.add_user(READER, language_code="en")
    miss = await bot.private(READER, ROVER_QUESTION)
    assert text_of(miss).startswith("Sorry, I couldn't find that")
    bell = button(miss, "🔔 Tell me when answered")
    assert len(bell["callback_data"].encode()) <= 64
    first = await bot.press(READER, miss.result, bell["callback_data"])
    assert first.params["text"].startswith("I'll send you the answer in private once")
    second = await bot.press(READER, miss.result, bell["callback_data"])
    assert second.params["text"] == "You will already be told when this is answered."
    watches = bot.app.bot_data.watches
    assert watches is not None
    assert (await watches.counts())["open_requests"] == 1
    mark = bot.telegram.mark()
    await bot.upload(ROVER, "rover.md")
    answer = await bot.telegram.wait_for_async(
        lambda c: c.method == "sendMessage" and c.params["chat_id"] == READER, after=mark
    )
    text = text_of(answer)
    assert text.startswith(f"You asked: “{ROVER_QUESTION}”")
    assert "solid-state battery keeps the rover running through the lunar night" in text
    assert "📰 Lunar rover program update" in text and "paragraphs 2, 3" in text
    await drained(bot)
    assert bot.sent_to(READER, mark) == [answer]
    assert (await watches.counts()) == {"open_requests": 0, "answered_requests": 1}
    # Another upload, a reload and a restart send nothing more.
    await bot.upload(ROVER.replace(b"Lunar rover", b"Lunar rover (again)"), "rover2.md")
    await bot.private(ADMIN, "/reload")
    await bot.restart()
    await bot.fast_forward(5)
    await drained(bot)
    assert bot.sent_to(READER, mark) == [answer]


async def test_a_suggested_question_offers_the_bell_under_its_choices(
    bot: InProcessBot, suggested_question: str
) -> None:
    bot.telegram.add_user(READER, language_code="zh-hant")
    suggested = await bot.private(READER, suggested_question)
    labels = [b["text"] for b in buttons(suggested)]
    assert labels[-1] == "🔔 答案出現時通知我" and len(labels) >= 2


async def test_in_a_group_the_presser_is_answered_in_private_once_started(
    bot: InProcessBot,
) -> None:
    fake = bot.telegram
    fake.add_user(GROUP_MEMBER, language_code="en", started=False)
    miss = await bot.group(GROUP, GROUP_MEMBER, f"/ask@{BOT} {ROVER_QUESTION}")
    bell = button(miss, "🔔 Tell me when answered")
    refused = await bot.press(GROUP_MEMBER, miss.result, bell["callback_data"])
    assert refused.params["show_alert"] is True
    assert refused.params["text"].startswith("I can only tell you in a private chat")
    watches = bot.app.bot_data.watches
    assert watches is not None and (await watches.counts())["open_requests"] == 0
    await bot.private(GROUP_MEMBER, "/start")  # the reader starts the bot
    mark = fake.mark()
    taken = await bot.press(GROUP_MEMBER, miss.result, bell["callback_data"])
    assert taken.params["text"].startswith("I'll send you the answer in private")
    [note] = bot.sent_to(GROUP_MEMBER, mark)
    assert ROVER_QUESTION in text_of(note)
    mark = fake.mark()
    await bot.upload(ROVER, "rover.md")
    answer = await fake.wait_for_async(
        lambda c: c.method == "sendMessage" and c.params["chat_id"] == GROUP_MEMBER, after=mark
    )
    assert text_of(answer).startswith("You asked:")
    await drained(bot)
    assert bot.sent_to(GROUP, mark) == []


async def test_an_expired_request_is_not_answered(bot: InProcessBot) -> None:
    bot.telegram.add_user(READER, language_code="en")
    miss = await bot.private(READER, ROVER_QUESTION)
    await bot.press(READER, miss.result, button(miss, "🔔 Tell me when answered")["callback_data"])
    watches = bot.app.bot_data.watches
    assert watches is not None
    made = time.time()
    watches.clock = lambda: made + 31 * 86_400  # 31 days later (ANSWER_WATCH_DAYS=30)
    mark = bot.telegram.mark()
    await bot.upload(ROVER, "rover.md")
    await drained(bot)
    assert bot.sent_to(READER, mark) == []
    assert (await watches.counts()) == {"open_requests": 0, "answered_requests": 0}


async def test_forget_deletes_follows_and_requests(bot: InProcessBot) -> None:
    bot.telegram.add_user(READER, language_code="en")
    await bot.private(READER, "/follow radar")
    miss = await bot.private(READER, ROVER_QUESTION)
    await bot.press(READER, miss.result, button(miss, "🔔 Tell me when answered")["callback_data"])
    prompt = await bot.private(READER, "/forget")
    bot.telegram.callback_query(READER, prompt.result, buttons(prompt)[0]["callback_data"])
    calls = await bot.deliver()
    [edited] = [c for c in calls if c.method == "editMessageText"]
    assert "Also deleted: 1 followed topic and 1 answer request." in edited.params["text"]
    mark = bot.telegram.mark()
    await bot.upload(ROVER, "rover.md")
    await drained(bot)
    assert bot.sent_to(READER, mark) == []
