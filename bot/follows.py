"""Topic follows: a chat follows a topic ("Alibaba", 阿里云, "solid-state battery"), and each
new passage the matcher scores as answering it (its answer bar: `Library.answering`) is
pushed there once, with its citation, through the outbox (bot/outbox.py). No Telegram
import: the keyboard is the Bot API's JSON.

The follows live in their own table on the outbox's connection (`Follows.open`, migrated as
the `follows` component). When new articles arrive (the same event as the subscribers'
push: `bot.subscriptions.fresh_articles`), each distinct topic is matched once against the
new articles' passages only, however many chats follow it; a passage goes to a chat once
(the item's key is `follow:<passage id>`, so a passage matching two of a chat's topics is
sent once).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import aiosqlite

from bot.answers import Match
from bot.content import Article
from bot.i18n import N_, Translators
from bot.library import Library
from bot.outbox import Item, Outbox, migrate
from bot.rendering import HTML, render_match
from bot.subscriptions import full_summary_keyboard
from bot.text import fold

logger = logging.getLogger(__name__)

COMPONENT = "follows"
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # `folded` is the topic as compared (case, width and spacing ignored): a chat
        # follows "Alibaba" once, however it is typed.
        """CREATE TABLE follows (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id INTEGER NOT NULL,
            topic TEXT NOT NULL,
            folded TEXT NOT NULL,
            language TEXT,
            created REAL NOT NULL,
            UNIQUE (chat_id, folded))""",
        "CREATE INDEX follows_by_topic ON follows (folded)",
    ),
)

DEFAULT_MAX_TOPICS = 20  # per chat (FOLLOW_MAX_TOPICS)
MAX_TOPIC_CHARS = 100  # a topic is a few words, not a paragraph
# TRANSLATORS: above a passage pushed because the chat follows {topic}.
NEW_ON_TOPIC = N_("🔔 New on “{topic}”")


class Followed(Enum):
    """What /follow did."""

    ADDED = "added"
    ALREADY = "already"
    LIMIT = "limit"


@dataclass(frozen=True)
class Follow:
    id: int
    chat_id: int
    topic: str
    language: str | None
    created: float


def clean_topic(text: str) -> str:
    """A topic as stored and shown: its words with single spaces."""
    return " ".join(text.split())


class Follows:
    """The chats' followed topics, on the outbox's connection."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        clock: Callable[[], float] = time.time,
        lock: asyncio.Lock | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.lock = lock or asyncio.Lock()  # the outbox's: see Outbox.lock

    @classmethod
    async def open(cls, outbox: Outbox) -> Follows:
        """The follows on the outbox's database, their table created or upgraded."""
        await migrate(outbox.db, COMPONENT, MIGRATIONS)
        return cls(outbox.db, outbox.clock, outbox.lock)

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self.db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def follow(
        self, chat_id: int, topic: str, language: str | None, limit: int = DEFAULT_MAX_TOPICS
    ) -> Followed:
        """Follow a topic (already followed: nothing changes; at the limit: refused)."""
        topic = clean_topic(topic)
        folded = fold(topic)
        # One statement, so atomic without a transaction of its own; under the outbox's lock,
        # so that it never joins a transaction another task has open on the connection.
        async with (
            self.lock,
            self.db.execute(
                "INSERT OR IGNORE INTO follows (chat_id, topic, folded, language, created) "
                "SELECT ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM follows WHERE chat_id = ?) < ?",
                (chat_id, topic, folded, language, self.clock(), chat_id, limit),
            ) as cursor,
        ):
            if cursor.rowcount > 0:
                return Followed.ADDED
        rows = await self._rows(
            "SELECT 1 FROM follows WHERE chat_id = ? AND folded = ?", (chat_id, folded)
        )
        return Followed.ALREADY if rows else Followed.LIMIT

    async def unfollow(self, chat_id: int, topic: str) -> Follow | None:
        """Stop following a topic (as typed, compared folded); the follow removed, if any."""
        return await self._remove(chat_id, "folded = ?", fold(topic))

    async def unfollow_id(self, chat_id: int, follow_id: int) -> Follow | None:
        """Stop following by the follow's id (a button); only the chat's own."""
        return await self._remove(chat_id, "id = ?", follow_id)

    async def _remove(self, chat_id: int, where: str, value: object) -> Follow | None:
        rows = await self._rows(
            f"SELECT id, chat_id, topic, language, created FROM follows "
            f"WHERE chat_id = ? AND {where}",
            (chat_id, value),
        )
        if not rows:
            return None
        async with self.lock:
            await self.db.execute("DELETE FROM follows WHERE id = ?", (rows[0][0],))
        return Follow(*rows[0])

    async def topics(self, chat_id: int) -> list[Follow]:
        """The chat's follows, oldest first."""
        rows = await self._rows(
            "SELECT id, chat_id, topic, language, created FROM follows WHERE chat_id = ? "
            "ORDER BY created, id",
            (chat_id,),
        )
        return [Follow(*row) for row in rows]

    async def everyone(self) -> list[Follow]:
        """Every follow of every chat."""
        rows = await self._rows(
            "SELECT id, chat_id, topic, language, created FROM follows ORDER BY id"
        )
        return [Follow(*row) for row in rows]

    async def forget_chat(self, chat_id: int) -> int:
        """Delete the chat's follows (/forget in private); how many there were."""
        async with (
            self.lock,
            self.db.execute("DELETE FROM follows WHERE chat_id = ?", (chat_id,)) as cursor,
        ):
            return cursor.rowcount

    async def migrate_chat(self, old: int, new: int) -> None:
        """A group became a supergroup: its follows move to the new id."""
        async with self.lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                await self.db.execute(
                    "UPDATE OR IGNORE follows SET chat_id = ? WHERE chat_id = ?", (new, old)
                )
                await self.db.execute("DELETE FROM follows WHERE chat_id = ?", (old,))
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    async def counts(self) -> dict[str, int]:
        """`follows` (topics followed, all chats) and `following_chats` (chats with one)."""
        rows = await self._rows("SELECT COUNT(*), COUNT(DISTINCT chat_id) FROM follows")
        total, chats = rows[0]
        return {"follows": total, "following_chats": chats}


def follow_key(match: Match) -> str:
    """The outbox key of a followed passage's push: once per chat and passage, ever."""
    return f"follow:{match.passage.id}"


def follow_items(
    follows: Iterable[Follow],
    library: Library,
    articles: Sequence[Article],
    languages: Translators,
) -> list[Item]:
    """Each chat's items for the passages of `articles` that answer a topic it follows: each
    distinct topic matched once against those articles' passages only, each passage once per
    chat (under the first of its topics that found it), oldest article first."""
    by_topic: dict[str, list[Follow]] = defaultdict(list)
    for follow in follows:
        by_topic[fold(follow.topic)].append(follow)
    if not by_topic or not articles:
        return []
    article_ids = [a.id for a in articles]
    order = {article_id: n for n, article_id in enumerate(article_ids)}
    found: dict[tuple[int, str], tuple[Follow, Match]] = {}
    for followers in by_topic.values():
        matches = library.answering(followers[0].topic, article_ids)
        for match in matches:
            for follow in followers:
                found.setdefault((follow.chat_id, match.passage.id), (follow, match))
    chosen = sorted(
        found.values(),
        key=lambda pair: (order[pair[1].article.id], pair[1].passage.number, pair[0].chat_id),
    )
    return [_item(follow, match, languages) for follow, match in chosen]


def _item(follow: Follow, match: Match, languages: Translators) -> Item:
    t = languages.for_reader(follow.language, None)
    heading = HTML.bold(t.gettext(NEW_ON_TOPIC).format(topic=follow.topic))
    text = f"{heading}\n\n{render_match(match, HTML, t)}"
    return Item(follow.chat_id, follow_key(match), text, full_summary_keyboard(match.article, t))


async def push_follows(
    follows: Follows,
    outbox: Outbox,
    library: Library,
    articles: Sequence[Article],
    languages: Translators,
) -> int:
    """Queue the new articles' passages for the chats following a topic they answer; the
    number of items queued."""
    if not articles:
        return 0
    everyone = await follows.everyone()
    # Matching is CPU work: off the event loop, so replies go on meanwhile (the library is
    # immutable; the matcher's memos only ever gain the same values).
    items = await asyncio.to_thread(follow_items, everyone, library, articles, languages)
    queued = await outbox.enqueue(items)
    if items:
        logger.info(
            "new articles %s: %d passages queued for topic followers",
            ", ".join(a.id for a in articles), queued,
        )  # fmt: skip
    return queued
