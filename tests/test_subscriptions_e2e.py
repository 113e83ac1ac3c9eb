"""Subscriptions end to end over HTTP: `python -m bot run` against the fake Bot API.

One process, as readers and admins would meet it: /subscribe in private and in a group (a
member refused, its admin allowed), a topic follow, "tell me when answered" pressed under a
question the articles do not answer yet, a reader who blocked the bot; then an article
uploaded as a file: each subscriber gets it once, the follower the one passage about the
topic, the asker the answer in private, the blocked chat is suspended (in /stats). Then the
group becomes a supergroup and the next article goes to its new id. Digests at a faked
clock and a restart mid-fan-out run in process (tests/test_telegram_digests.py,
tests/test_telegram_subscriptions.py), where the clock and the stop can be placed exactly.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROVER
from tests.fake_telegram import Call, FakeTelegram
from tests.telegram_harness import ADMIN, BOT, OTHER_READER, READER, RunningBot, buttons, text_of

GROUP, GROUP_ADMIN, MEMBER, BLOCKER = -4242, 9101, 9102, 9103
MARS = ROVER.replace(b"Lunar rover program update", b"Mars sample return update").replace(
    b"lunar night", b"Martian winter"
)


def sent_to(fake: FakeTelegram, chat_id: int, after: int) -> list[Call]:
    return [
        c
        for c in fake.calls[after:]
        if c.method == "sendMessage" and c.ok and c.params.get("chat_id") == chat_id
    ]


def upload(bot: RunningBot, data: bytes, name: str) -> str:
    fake = bot.fake
    file_id = fake.add_file(data, name)
    return text_of(bot.reply_to(lambda: fake.document_message(ADMIN, file_id), ADMIN))


def settle(fake: FakeTelegram, done: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"not after {timeout} s: {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_subscriptions_follows_and_answer_requests_over_http(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    for user in (READER, OTHER_READER, BLOCKER, ADMIN):
        fake.add_user(user, language_code="en")
    for user in (GROUP_ADMIN, MEMBER):
        fake.add_user(user, language_code="en", started=False)
    bot = RunningBot(fake, tmp_path, QUESTIONS_PER_WINDOW="1000", SEEDS_WATCH="off")
    try:
        said = bot.reply_to(lambda: fake.private_message(READER, "/subscribe"), READER)
        assert text_of(said).startswith("Subscribed")
        refused = bot.reply_to(
            lambda: fake.group_message(GROUP, MEMBER, f"/subscribe@{BOT}"), GROUP
        )
        assert text_of(refused) == "Only the group's admins can change its subscription."
        fake.set_member_status(GROUP, GROUP_ADMIN, "administrator")
        said = bot.reply_to(
            lambda: fake.group_message(GROUP, GROUP_ADMIN, f"/subscribe@{BOT}"), GROUP
        )
        assert text_of(said).startswith("Subscribed")
        bot.reply_to(lambda: fake.private_message(BLOCKER, "/subscribe"), BLOCKER)
        fake.block_user(BLOCKER)
        said = bot.reply_to(
            lambda: fake.private_message(READER, "/follow ground-penetrating radar"), READER
        )
        assert "ground-penetrating radar" in text_of(said)
        question = "How long does the lunar rover battery last?"
        asked = bot.reply_to(lambda: fake.private_message(OTHER_READER, question), OTHER_READER)
        [bell] = [b for b in buttons(asked) if b["callback_data"].startswith("watch:")]
        mark = fake.mark()
        fake.callback_query(OTHER_READER, asked.result, bell["callback_data"])
        fake.wait_for_call("answerCallbackQuery", 15, after=mark)

        mark = fake.mark()
        assert "Reloaded" in upload(bot, ROVER, "rover.md")

        def delivered() -> bool:
            return (
                len(sent_to(fake, READER, mark)) >= 2
                and sent_to(fake, GROUP, mark)
                and sent_to(fake, OTHER_READER, mark)
            )

        settle(fake, delivered, "the new article's pushes")
        time.sleep(0.5)  # anything doubled would have come by now (pushes go at 25/s)
        to_reader = [text_of(c) for c in sent_to(fake, READER, mark)]
        assert len(to_reader) == 2
        assert sum("🆕 New article" in text for text in to_reader) == 1
        [followed] = [text for text in to_reader if "ground-penetrating radar" in text]
        assert "Battery" not in followed  # the one passage about the topic, not the others
        [to_group] = sent_to(fake, GROUP, mark)
        assert "Lunar rover program update" in text_of(to_group)
        [answered] = sent_to(fake, OTHER_READER, mark)
        assert question in text_of(answered) and "battery" in text_of(answered).lower()
        assert sent_to(fake, BLOCKER, mark) == []
        stats = bot.reply_to(lambda: fake.private_message(ADMIN, "/stats"), ADMIN)
        assert "(1 paused)" in text_of(stats)

        # The group becomes a supergroup: the next article goes to its new id, once.
        _, new_group = fake.migrate(GROUP)
        new_id = new_group["chat"]["id"]
        mark = fake.mark()
        assert "Reloaded" in upload(bot, MARS, "mars.md")
        settle(fake, lambda: sent_to(fake, new_id, mark), "the push to the supergroup")
        assert "Mars sample return update" in text_of(sent_to(fake, new_id, mark)[0])
        assert sent_to(fake, GROUP, mark) == []
    finally:
        assert bot.stop() == 0
    assert "Traceback" not in bot.output
