"""English, Simplified and Traditional Chinese readers on Telegram: /start and its example
buttons (each one answered), small talk, /language in private and in groups (admins
only), the command menus per language, and the words around a Chinese reader's answer.

The real bot in process against the strict fake (tests/inprocess.py); a fresh bot a test.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fake_telegram import Call
from tests.inprocess import InProcessBot, query_log_rows
from tests.telegram_harness import BOT, buttons, text_of

pytestmark = pytest.mark.bot(env={"QUESTIONS_PER_WINDOW": "1000"})

EN_READER, HANS_READER, HANT_READER = 5101, 5102, 5103
GROUP, GROUP_ADMIN, GROUP_MEMBER = -100777, 5201, 5202
ALIBABA = "How many customers does Alibaba Cloud serve?"


def readers(bot: InProcessBot) -> None:
    """An English, a Simplified and a Traditional Chinese reader, by Telegram's language."""
    for reader, code in ((EN_READER, "en"), (HANS_READER, "zh-hans"), (HANT_READER, "zh-hant")):
        bot.telegram.add_user(reader, language_code=code)


async def press_for_reply(
    bot: InProcessBot, user: int, chat: int, message: dict[str, Any], data: str
) -> Call:
    """Press a button; the message the bot sends to `chat` for it."""
    mark = bot.telegram.mark()
    await bot.press(user, message, data)
    sent = [
        c
        for c in bot.telegram.calls[mark:]
        if c.method == "sendMessage" and c.ok and c.params["chat_id"] == chat
    ]
    assert sent, f"nothing sent to {chat}"
    return sent[0]


async def kinds_logged(bot: InProcessBot, question: str) -> list[str]:
    """The query log's kinds of the rows for `question` (once the writer has written one)."""
    rows = await query_log_rows(
        bot.database, "SELECT kind FROM queries WHERE question = ?", question
    )
    return [row[0] for row in rows]


@pytest.mark.parametrize(
    ("reader", "welcome", "chrome"),
    [
        (EN_READER, "I answer questions about 1 news article digest,", "paragraph"),
        (HANS_READER, "你好！我这里有 1 篇新闻文章摘要，可以回答相关问题", "段"),
        (HANT_READER, "你好！我這裡有 1 篇新聞文章摘要，可以回答相關問題", "段"),
    ],
)
async def test_start_welcomes_in_the_readers_language_and_every_example_is_answered(
    bot: InProcessBot, reader: int, welcome: str, chrome: str
) -> None:
    readers(bot)
    start = await bot.private(reader, "/start")
    text = text_of(start)
    assert welcome in text
    assert len(text.splitlines()) <= 5
    examples = buttons(start)
    assert 1 <= len(examples) <= 3
    for button in examples:
        assert button["callback_data"].startswith("e:")
        answer = await press_for_reply(bot, reader, reader, start.result, button["callback_data"])
        shown = text_of(answer)
        assert "📰" in shown and chrome in shown.splitlines()[-1], shown  # a cited passage
        assert [b["text"] for b in buttons(answer)][1:3] == ["👍", "👎"]


async def test_a_chinese_readers_answer_has_chinese_words_around_the_passage(
    bot: InProcessBot,
) -> None:
    readers(bot)
    for reader, summary in ((HANS_READER, "📄 完整摘要"), (HANT_READER, "📄 完整摘要")):
        call = await bot.private(reader, ALIBABA)
        text = text_of(call)
        assert text.endswith("第 7 段")
        assert "serving 4 million customers" in text  # the content as written
        assert [b["text"] for b in buttons(call)] == [summary, "👍", "👎", "↗️ 分享"]
    english = await bot.private(EN_READER, ALIBABA)
    assert text_of(english).endswith("paragraph 7")
    assert buttons(english)[0]["text"] == "📄 Full summary"


@pytest.mark.parametrize(
    ("reader", "text", "reply"),
    [
        (EN_READER, "hi!", "Hello! I answer questions about the news articles I know."),
        (EN_READER, "Thanks", "You're welcome!"),
        (HANS_READER, "你好", "你好！我可以回答关于我所知新闻文章的问题。"),
        (HANS_READER, "谢谢", "不客气！"),
        (HANT_READER, "謝謝！", "不客氣！"),
    ],
)
async def test_small_talk_gets_a_friendly_reply_pointing_to_the_examples(
    bot: InProcessBot, reader: int, text: str, reply: str
) -> None:
    readers(bot)
    call = await bot.private(reader, text)
    assert text_of(call).startswith(reply)
    assert buttons(call) and all(b["callback_data"].startswith("e:") for b in buttons(call))
    # Logged, but as small talk: not a question, so never a content gap.
    assert await kinds_logged(bot, text) == ["small_talk"]


async def test_language_in_private_is_kept_for_the_chat(bot: InProcessBot) -> None:
    reader = 5104
    bot.telegram.add_user(reader, language_code="en")
    offer = await bot.private(reader, "/language")
    assert text_of(offer) == "Which language should I use in this chat?"
    assert [(b["text"], b["callback_data"]) for b in buttons(offer)] == [
        ("English", "lang:en"),
        ("简体中文", "lang:zh_Hans"),
        ("繁體中文", "lang:zh_Hant"),
    ]
    mark = bot.telegram.mark()
    answered = await bot.press(reader, offer.result, "lang:zh_Hant")
    assert answered.params["text"] == "從現在起，我在這個對話中使用繁體中文。"
    [edited] = [c for c in bot.telegram.calls[mark:] if c.method == "editMessageText"]
    assert edited.params["text"] == "從現在起，我在這個對話中使用繁體中文。"
    # The reader's Telegram is English, the chat's choice wins.
    unknown = await bot.private(reader, "/frobnicate")
    assert text_of(unknown) == "我不認識 /frobnicate。/help 列出我能做的事。"
    back = await bot.private(reader, "/language")
    assert text_of(back) == "我在這個對話中應該使用哪種語言？"
    await bot.press(reader, back.result, "lang:en")
    unknown = await bot.private(reader, "/frobnicate")
    assert text_of(unknown).startswith("I don't know /frobnicate.")


async def test_only_a_groups_admins_change_its_language(bot: InProcessBot) -> None:
    fake = bot.telegram
    fake.add_user(GROUP_ADMIN, language_code="en", started=False)
    fake.add_user(GROUP_MEMBER, language_code="en", started=False)
    command = f"/language@{BOT}"
    refused = await bot.group(GROUP, GROUP_MEMBER, command)
    assert text_of(refused) == "Only the group's admins can change my language here."
    assert buttons(refused) == []
    fake.set_member_status(GROUP, GROUP_ADMIN, "administrator")
    offer = await bot.group(GROUP, GROUP_ADMIN, command)
    assert len(buttons(offer)) == 3
    # A member presses the admin's button: refused, with an alert, nothing changes.
    answered = await bot.press(GROUP_MEMBER, offer.result, "lang:zh_Hans")
    assert answered.params["text"] == "Only the group's admins can change my language here."
    assert answered.params["show_alert"] is True
    ask = f"/ask@{BOT} {ALIBABA}"
    english = await bot.group(GROUP, GROUP_MEMBER, ask)
    assert text_of(english).endswith("paragraph 7")
    # The admin presses it: the group speaks Simplified Chinese, whoever asks.
    answered = await bot.press(GROUP_ADMIN, offer.result, "lang:zh_Hans")
    assert answered.params["text"] == "从现在起，我在这个对话中使用简体中文。"
    chinese = await bot.group(GROUP, GROUP_MEMBER, ask)
    assert text_of(chinese).endswith("第 7 段")
    checks = [c for c in fake.calls_to("getChatMember") if c.params["chat_id"] == GROUP]
    assert {c.params["user_id"] for c in checks} == {GROUP_ADMIN, GROUP_MEMBER}


async def test_the_group_greeting_explains_privacy_mode_in_the_adders_language(
    bot: InProcessBot,
) -> None:
    for group, adder, code, words in (
        (-100781, 5301, "en", "group privacy mode on (the default)"),
        (-100782, 5302, "zh-tw", "群組隱私模式開啟時"),
    ):
        bot.telegram.add_user(adder, language_code=code, started=False)
        bot.telegram.my_chat_member(group, adder)
        greeting = await bot.reply_to(group)
        assert words in text_of(greeting)
        assert f"/summary@{BOT}" in text_of(greeting)


async def test_command_menus_are_set_per_language(bot: InProcessBot) -> None:
    private, groups = {"type": "all_private_chats"}, {"type": "all_group_chats"}
    english = {c["command"]: c["description"] for c in bot.telegram.my_commands(private)}
    chinese = {c["command"]: c["description"] for c in bot.telegram.my_commands(private, "zh")}
    assert english.keys() == chinese.keys() and "language" in english
    assert english["summary"] == "An article's core viewpoint and sections"
    assert chinese["summary"] == "文章的核心观点和各部分"  # "zh": Simplified for every reader
    group_chinese = {c["command"]: c["description"] for c in bot.telegram.my_commands(groups, "zh")}
    assert group_chinese["language"] == "本群使用的语言（限管理员）"
    # Telegram takes two-letter codes only: no menu of its own for Traditional Chinese.
    assert bot.telegram.my_commands(private, "zh-hant") == []
