"""Follows and answer requests on their own (bot/follows.py, bot/watches.py): their tables
on the outbox's connection, limits, expiry on a fake clock, the matcher scoped to new
articles (`Matcher.answering`), one push per chat and passage, `python -m bot forget`.

No Telegram; the library is the seed plus ROVER (tests/conftest.py).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli import forget_follows
from bot.follows import Followed, Follows, follow_items, push_follows
from bot.i18n import translators
from bot.library import Library
from bot.outbox import Outbox
from bot.parsing import load_folder
from bot.watches import DAY, Requested, Watches, answer_requests
from tests.conftest import ROVER, SEEDS, HandClock


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


@pytest.fixture
async def outbox(tmp_path: Path, clock: HandClock) -> AsyncIterator[Outbox]:
    box = await Outbox.open(tmp_path / "bot.sqlite3", clock=clock)
    yield box
    await box.close()


@pytest.fixture(scope="module")
def with_rover(tmp_path_factory: pytest.TempPathFactory) -> Library:
    folder = tmp_path_factory.mktemp("seeds") / "seeds"
    shutil.copytree(SEEDS, folder)
    (folder / "rover.md").write_bytes(ROVER)
    return Library(load_folder(folder).articles)


def rover(library: Library) -> list:
    found = library.article("rover")
    assert found is not None
    return [found]


def test_answering_is_scoped_to_the_articles_given(with_rover: Library) -> None:
    new = rover(with_rover)
    assert [m.passage.section for m in with_rover.answering("radar", ["rover"])] == ["Payload"]
    # The seed mentions Alibaba; the new article does not: nothing from it.
    assert with_rover.answering("Alibaba", ["rover"]) == []
    assert with_rover.answering("Alibaba", [a.id for a in with_rover.articles])
    # Every passage that answers, not one: the battery is in the core viewpoint too.
    both = with_rover.answering("battery", [new[0].id])
    assert {m.passage.section for m in both} == {"Battery", "Core Viewpoint"}
    assert all(m.score >= with_rover.matcher.answer_threshold for m in both)


def test_a_passage_two_topics_find_is_one_item_per_chat(with_rover: Library) -> None:
    from bot.follows import Follow

    follows = [
        Follow(1, 10, "radar", "en", 0.0),
        Follow(2, 10, "water ice", "en", 0.0),
        Follow(3, 11, "Radar", "zh_Hans", 0.0),
    ]
    items = follow_items(follows, with_rover, rover(with_rover), translators())
    assert sorted((i.chat_id, i.key) for i in items) == [
        (10, "follow:rover#2"),
        (11, "follow:rover#2"),
    ]
    chinese = next(i for i in items if i.chat_id == 11)
    assert chinese.text.startswith("<b>🔔 “Radar”有新内容</b>")


async def test_follows_limit_fold_and_unfollow(outbox: Outbox) -> None:
    follows = await Follows.open(outbox)
    assert await follows.follow(1, "Alibaba  Cloud", "en", limit=2) is Followed.ADDED
    assert await follows.follow(1, "alibaba cloud", "en", limit=2) is Followed.ALREADY
    assert await follows.follow(1, "阿里云", "en", limit=2) is Followed.ADDED
    assert await follows.follow(1, "radar", "en", limit=2) is Followed.LIMIT
    assert await follows.follow(2, "radar", "en", limit=2) is Followed.ADDED
    assert [f.topic for f in await follows.topics(1)] == ["Alibaba Cloud", "阿里云"]
    assert await follows.counts() == {"follows": 3, "following_chats": 2}
    other = (await follows.topics(2))[0]
    assert await follows.unfollow_id(1, other.id) is None  # not chat 1's
    removed = await follows.unfollow(1, "ALIBABA CLOUD")
    assert removed is not None and removed.topic == "Alibaba Cloud"
    assert await follows.forget_chat(1) == 1
    # Opening again (a restart) keeps them; the migration runs once.
    again = await Follows.open(outbox)
    assert [f.topic for f in await again.everyone()] == ["radar"]


async def test_push_follows_queues_once_across_announcements(
    outbox: Outbox, with_rover: Library
) -> None:
    follows = await Follows.open(outbox)
    await follows.follow(10, "radar", "en")
    languages = translators()
    assert await push_follows(follows, outbox, with_rover, rover(with_rover), languages) == 1
    assert await push_follows(follows, outbox, with_rover, rover(with_rover), languages) == 0
    assert await push_follows(follows, outbox, with_rover, [], languages) == 0


async def test_requests_once_limited_answered_once_and_expired(
    outbox: Outbox, clock: HandClock, with_rover: Library
) -> None:
    watches = await Watches.open(outbox, days=30, max_open=2)
    question = "How long does the lunar rover battery last?"
    assert await watches.request(7, question, "en") is Requested.ADDED
    assert await watches.request(7, question.upper(), "en") is Requested.ALREADY
    assert await watches.request(7, "What about Huawei?", "en") is Requested.ADDED
    assert await watches.request(7, "A third one", "en") is Requested.LIMIT
    languages = translators()
    queued = await answer_requests(watches, outbox, with_rover, rover(with_rover), languages)
    assert queued == 1
    # The Huawei question stays open: the seed answers it, but the seed is not new.
    assert await watches.counts() == {"open_requests": 1, "answered_requests": 1}
    # Answered requests are closed: a second event sends nothing.
    assert await answer_requests(watches, outbox, with_rover, rover(with_rover), languages) == 0
    # 31 days later everything is purged, and nothing expired is answered.
    assert await watches.request(8, question, "en") is Requested.ADDED
    clock.now += 31 * DAY
    assert await answer_requests(watches, outbox, with_rover, rover(with_rover), languages) == 0
    assert await watches.counts() == {"open_requests": 0, "answered_requests": 0}


async def test_the_command_line_forget_deletes_follows_and_requests(
    outbox: Outbox, tmp_path: Path
) -> None:
    follows = await Follows.open(outbox)
    watches = await Watches.open(outbox)
    await follows.follow(42, "radar", "en")
    await follows.follow(-100, "radar", "en")
    await watches.request(42, "a question", "en")
    assert await forget_follows(tmp_path / "bot.sqlite3", 42) == (1, 1)
    assert await follows.counts() == {"follows": 1, "following_chats": 1}
    assert await forget_follows(tmp_path / "absent.sqlite3", 42) == (0, 0)
