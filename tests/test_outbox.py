"""The outbox (bot/outbox.py) on its own: pacing per chat, per group and overall on a fake
clock, FIFO per chat, idempotency keys, a restart in the middle, 429, Forbidden, migration.

No Telegram: the transport is a function recording what it was handed.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.outbox import (
    CANCELLED,
    PAUSED,
    SENT,
    UNKNOWN,
    Item,
    Outbox,
    Outcome,
    Queued,
    Result,
)
from tests.conftest import HandClock


class Recorder:
    """A transport: every item is sent (with a message id) unless told otherwise."""

    def __init__(self, clock: HandClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, int, str]] = []
        self.answers: list[Outcome] = []  # the next sends' outcomes, before "sent"

    async def __call__(self, item: Queued) -> Outcome:
        if self.answers:
            outcome = self.answers.pop(0)
            if outcome.result is not Result.SENT:
                return outcome
        self.sent.append((self.clock.now, item.chat_id, item.key))
        return Outcome(Result.SENT, message_id=len(self.sent))


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


@pytest.fixture
async def outbox(tmp_path: Path, clock: HandClock) -> AsyncIterator[Outbox]:
    box = await Outbox.open(tmp_path / "bot.sqlite3", rate=25.0, clock=clock)
    yield box
    await box.close()


async def drain(outbox: Outbox, transport: Recorder, clock: HandClock, limit: int = 10_000) -> None:
    """Send everything, moving the fake clock on by what the outbox says to wait."""
    for _ in range(limit):
        wait = await outbox.send_next(transport)
        if wait is None:
            return
        clock.now += wait
    raise AssertionError("the outbox did not drain")


def items(chat_id: int, count: int, prefix: str = "a") -> list[Item]:
    return [Item(chat_id, f"{prefix}{n}", f"message {n}") for n in range(count)]


def states(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())


async def test_one_chat_gets_its_items_in_order_at_most_one_a_second(
    outbox: Outbox, clock: HandClock
) -> None:
    transport = Recorder(clock)
    assert await outbox.enqueue(items(7, 5)) == 5
    await drain(outbox, transport, clock)
    assert [key for _, _, key in transport.sent] == ["a0", "a1", "a2", "a3", "a4"]
    times = [at for at, _, _ in transport.sent]
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(times))
    assert times[-1] - times[0] == pytest.approx(4.0)


async def test_a_group_gets_at_most_twenty_in_any_minute(outbox: Outbox, clock: HandClock) -> None:
    transport = Recorder(clock)
    await outbox.enqueue(items(-100, 45))
    await drain(outbox, transport, clock)
    times = [at for at, _, _ in transport.sent]
    assert len(times) == 45
    for index, at in enumerate(times):
        within = [t for t in times[index:] if t < at + 60.0]
        assert len(within) <= 20
    assert times[-1] - times[0] >= 120.0  # 45 messages: three windows


async def test_many_chats_share_the_overall_rate(outbox: Outbox, clock: HandClock) -> None:
    transport = Recorder(clock)
    await outbox.enqueue(Item(chat, "article:x", "new") for chat in range(1, 101))
    start = clock.now
    await drain(outbox, transport, clock)
    times = [at for at, _, _ in transport.sent]
    assert len(times) == 100
    assert all(b - a >= 1 / 25 - 1e-9 for a, b in itertools.pairwise(times))
    assert times[-1] - start == pytest.approx(99 / 25)  # no slower than the floor either


async def test_the_same_key_is_queued_once_per_chat_even_after_it_was_sent(
    outbox: Outbox, clock: HandClock
) -> None:
    transport = Recorder(clock)
    assert await outbox.enqueue([Item(1, "article:x", "new"), Item(2, "article:x", "new")]) == 2
    assert await outbox.enqueue([Item(1, "article:x", "new again")]) == 0
    await drain(outbox, transport, clock)
    assert await outbox.enqueue([Item(1, "article:x", "and again")]) == 0
    await drain(outbox, transport, clock)
    assert sorted(chat for _, chat, _ in transport.sent) == [1, 2]


async def test_a_restart_in_the_middle_sends_nothing_twice_and_loses_nothing(
    tmp_path: Path, clock: HandClock
) -> None:
    path = tmp_path / "bot.sqlite3"
    transport = Recorder(clock)
    first = await Outbox.open(path, clock=clock)
    await first.enqueue(Item(chat, "article:x", "new") for chat in range(1, 51))
    while len(transport.sent) < 20:
        clock.now += await first.send_next(transport) or 0
    await first.close()
    sent_before = list(transport.sent)
    assert len(sent_before) == 20
    second = await Outbox.open(path, clock=clock)
    await second.enqueue(Item(chat, "article:x", "new") for chat in range(1, 51))  # again
    await drain(second, transport, clock)
    await second.close()
    chats = [chat for _, chat, _ in transport.sent]
    assert sorted(chats) == list(range(1, 51))  # each once
    assert states(path) == {SENT: 50}


class Crash(BaseException):
    """The process dies mid-request (a BaseException: nothing may catch it)."""


async def test_an_item_cut_off_mid_send_is_not_sent_again_after_a_restart(
    tmp_path: Path, clock: HandClock
) -> None:
    path = tmp_path / "bot.sqlite3"
    box = await Outbox.open(path, clock=clock)
    await box.enqueue([Item(1, "k1", "one"), Item(1, "k2", "two")])

    async def dies(item: Queued) -> Outcome:
        raise Crash

    with pytest.raises(Crash):
        await box.send_next(dies)
    await box.close()
    transport = Recorder(clock)
    again = await Outbox.open(path, clock=clock)
    await drain(again, transport, clock)
    await again.close()
    assert [key for _, _, key in transport.sent] == ["k2"]
    assert states(path) == {UNKNOWN: 1, SENT: 1}


async def test_429_is_waited_out_as_long_as_telegram_asks_however_often(
    outbox: Outbox, clock: HandClock, tmp_path: Path
) -> None:
    transport = Recorder(clock)
    transport.answers = [Outcome(Result.RETRY, retry_after=30.0, reason="429")] * 6
    await outbox.enqueue([Item(1, "k", "one"), Item(2, "k", "two")])
    start = clock.now
    await drain(outbox, transport, clock)
    assert sorted(chat for _, chat, _ in transport.sent) == [1, 2]
    assert transport.sent[0][0] - start >= 6 * 30.0  # every push waited, six times over
    assert states(tmp_path / "bot.sqlite3") == {SENT: 2}


async def test_forbidden_pauses_the_chat_and_suspends_it_until_it_subscribes_again(
    outbox: Outbox, clock: HandClock
) -> None:
    transport = Recorder(clock)
    for chat in (1, 2):
        await outbox.subscribe(chat, "en")
    transport.answers = [Outcome(Result.BLOCKED, reason="Forbidden: bot was blocked by the user")]
    await outbox.enqueue([Item(1, "k1", "one"), Item(1, "k2", "two"), Item(2, "k1", "x")])
    await drain(outbox, transport, clock)
    assert [chat for _, chat, _ in transport.sent] == [2]
    assert [s.chat_id for s in await outbox.subscribers()] == [2]
    counts = await outbox.counts()
    assert counts[PAUSED] == 2 and counts["suspended"] == 1 and counts["subscribers"] == 1
    # The reader comes back and subscribes again: the paused items go out, in order.
    assert await outbox.subscribe(1, "en") is True
    await drain(outbox, transport, clock)
    assert [key for _, chat, key in transport.sent if chat == 1] == ["k1", "k2"]


async def test_a_migrated_group_is_followed_with_its_items_and_subscription(
    outbox: Outbox, clock: HandClock
) -> None:
    transport = Recorder(clock)
    await outbox.subscribe(-5, "en")
    transport.answers = [Outcome(Result.MIGRATED, new_chat_id=-1000000000005)]
    await outbox.enqueue([Item(-5, "k1", "one"), Item(-5, "k2", "two")])
    await drain(outbox, transport, clock)
    assert [(chat, key) for _, chat, key in transport.sent] == [
        (-1000000000005, "k1"),
        (-1000000000005, "k2"),
    ]
    assert [s.chat_id for s in await outbox.subscribers()] == [-1000000000005]


async def test_unsubscribing_cancels_what_was_queued(
    outbox: Outbox, clock: HandClock, tmp_path: Path
) -> None:
    transport = Recorder(clock)
    await outbox.subscribe(1, None)
    await outbox.enqueue(items(1, 3))
    assert await outbox.unsubscribe(1) is True
    assert await outbox.unsubscribe(1) is False
    await drain(outbox, transport, clock)
    assert transport.sent == []
    assert (await outbox.counts())["subscribers"] == 0
    assert states(tmp_path / "bot.sqlite3") == {CANCELLED: 3}


async def test_an_article_is_new_once_and_the_first_library_is_not_news(outbox: Outbox) -> None:
    assert await outbox.new_articles(["a", "b"]) == []
    assert await outbox.new_articles(["a", "b", "c"]) == ["c"]
    assert await outbox.new_articles(["a", "c"]) == []
    assert await outbox.new_articles(["b", "d", "c", "e"]) == ["d", "e"]


async def test_writes_from_many_tasks_on_the_shared_connection_never_collide(
    outbox: Outbox, clock: HandClock
) -> None:
    # The sender, the handlers and the follows share one connection: a second BEGIN while a
    # transaction is open would fail, and a lone statement would join the other's transaction.
    import asyncio

    from bot.follows import Followed, Follows

    follows = await Follows.open(outbox)
    chats = range(1, 31)
    results = await asyncio.gather(
        *(outbox.enqueue(items(chat, 3)) for chat in chats),
        *(outbox.subscribe(chat, None) for chat in chats),
        *(follows.follow(chat, f"topic {chat}", None) for chat in chats),
    )
    assert results[:30] == [3] * 30
    assert results[60:90] == [Followed.ADDED] * 30
    assert len(await outbox.subscribers()) == 30
    await asyncio.gather(
        *(outbox.unsubscribe(chat) for chat in chats[:10]),
        *(follows.unfollow(chat, f"topic {chat}") for chat in chats[:10]),
    )
    assert len(await outbox.subscribers()) == 20
    assert (await follows.counts())["follows"] == 20
    transport = Recorder(clock)
    await drain(outbox, transport, clock)
    assert len(transport.sent) == 20 * 3  # the unsubscribed chats' items were cancelled


async def test_a_push_that_finds_its_group_migrated_moves_the_groups_follows_too(
    outbox: Outbox, clock: HandClock
) -> None:
    from bot.follows import Follows

    follows = await Follows.open(outbox)
    outbox.migration_hooks.append(follows.migrate_chat)
    await outbox.subscribe(-5, None)
    await follows.follow(-5, "Alibaba", None)
    await outbox.enqueue([Item(-5, "article:x", "news")])

    async def migrated(item: Queued) -> Outcome:
        return Outcome(Result.MIGRATED, new_chat_id=-1005, reason="upgraded to a supergroup")

    assert await outbox.send_next(migrated) == 0.0
    assert [f.chat_id for f in await follows.everyone()] == [-1005]
    assert [s.chat_id for s in await outbox.subscribers()] == [-1005]
