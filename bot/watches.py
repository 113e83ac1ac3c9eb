""" "Tell me when this is answered": a reader's unanswered or suggested question, kept as an
open request; when a later article answers it (the library answers it, by the matcher's
answer bar, from one of the new articles), the reader gets that answer once, in private,
through the outbox (key `answered:<request id>`), and the request is closed. No Telegram
import.

Requests live in their own table on the outbox's connection (`Watches.open`, migrated as
the `watches` component). They expire `ANSWER_WATCH_DAYS` after they were made (purged
whenever new articles are checked and when a reader makes one); a reader has at most
`ANSWER_WATCH_MAX` open ones.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import aiosqlite

from bot.answers import Match, Outcome
from bot.content import Article
from bot.i18n import N_, Translators
from bot.library import Library
from bot.outbox import Item, Outbox, migrate
from bot.rendering import HTML, render_match, shorten
from bot.subscriptions import full_summary_keyboard
from bot.text import fold

logger = logging.getLogger(__name__)

COMPONENT = "watches"
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # `folded`: the question as compared, so pressing again (or asking the same thing
        # twice) keeps one open request. `closed` is set once the answer is queued.
        """CREATE TABLE watches (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id INTEGER NOT NULL,
            question TEXT NOT NULL,
            folded TEXT NOT NULL,
            language TEXT,
            created REAL NOT NULL,
            closed REAL,
            passage_id TEXT)""",
        "CREATE UNIQUE INDEX watches_open ON watches (chat_id, folded) WHERE closed IS NULL",
        "CREATE INDEX watches_created ON watches (created)",
    ),
)

DEFAULT_DAYS = 30  # ANSWER_WATCH_DAYS
DEFAULT_MAX_OPEN = 20  # ANSWER_WATCH_MAX, per reader
DAY = 86_400.0
QUOTED_CHARS = 300  # of the question, in the answer's first line
# TRANSLATORS: the first line of an answer sent later; {question} is the reader's question.
YOU_ASKED = N_("You asked: “{question}”")


class Requested(Enum):
    """What pressing "Tell me when answered" did."""

    ADDED = "added"
    ALREADY = "already"
    LIMIT = "limit"


@dataclass(frozen=True)
class Watch:
    id: int
    chat_id: int
    question: str
    language: str | None
    created: float


class Watches:
    """The readers' open requests, on the outbox's connection."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        clock: Callable[[], float] = time.time,
        days: float = DEFAULT_DAYS,
        max_open: int = DEFAULT_MAX_OPEN,
        lock: asyncio.Lock | None = None,
    ) -> None:
        self.db = db
        self.lock = lock or asyncio.Lock()  # the outbox's: see Outbox.lock
        self.clock = clock
        self.days = days
        self.max_open = max_open

    @classmethod
    async def open(
        cls, outbox: Outbox, days: float = DEFAULT_DAYS, max_open: int = DEFAULT_MAX_OPEN
    ) -> Watches:
        """The requests on the outbox's database, their table created or upgraded."""
        await migrate(outbox.db, COMPONENT, MIGRATIONS)
        watches = cls(outbox.db, outbox.clock, days, max_open, outbox.lock)
        await watches.purge_expired()
        return watches

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self.db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    def _cutoff(self) -> float:
        return self.clock() - self.days * DAY

    async def request(self, chat_id: int, question: str, language: str | None) -> Requested:
        """Open a request for the reader (one per question; at most `max_open`)."""
        question = " ".join(question.split())
        folded = fold(question)
        await self.purge_expired()
        # One statement, so atomic without a transaction of its own; under the outbox's lock,
        # so that it never joins a transaction another task has open on the connection.
        async with (
            self.lock,
            self.db.execute(
                "INSERT OR IGNORE INTO watches (chat_id, question, folded, language, created) "
                "SELECT ?, ?, ?, ?, ? WHERE "
                "(SELECT COUNT(*) FROM watches WHERE chat_id = ? AND closed IS NULL) < ?",
                (chat_id, question, folded, language, self.clock(), chat_id, self.max_open),
            ) as cursor,
        ):
            if cursor.rowcount > 0:
                return Requested.ADDED
        rows = await self._rows(
            "SELECT 1 FROM watches WHERE chat_id = ? AND folded = ? AND closed IS NULL",
            (chat_id, folded),
        )
        return Requested.ALREADY if rows else Requested.LIMIT

    async def withdraw(self, chat_id: int, question: str) -> bool:
        """Remove the reader's open request for this question (the reader cannot be reached)."""
        async with (
            self.lock,
            self.db.execute(
                "DELETE FROM watches WHERE chat_id = ? AND folded = ? AND closed IS NULL",
                (chat_id, fold(question)),
            ) as cursor,
        ):
            return cursor.rowcount > 0

    async def open_requests(self) -> list[Watch]:
        """Every request not closed nor expired, oldest first."""
        rows = await self._rows(
            "SELECT id, chat_id, question, language, created FROM watches "
            "WHERE closed IS NULL AND created >= ? ORDER BY id",
            (self._cutoff(),),
        )
        return [Watch(*row) for row in rows]

    async def close(self, closed: Sequence[tuple[int, str]]) -> None:
        """Close requests, each with the passage that answered it."""
        now = self.clock()
        async with self.lock:
            await self.db.executemany(
                "UPDATE watches SET closed = ?, passage_id = ? WHERE id = ?",
                [(now, passage_id, watch_id) for watch_id, passage_id in closed],
            )

    async def purge_expired(self) -> int:
        """Delete the requests made more than `days` ago (open or closed)."""
        async with (
            self.lock,
            self.db.execute("DELETE FROM watches WHERE created < ?", (self._cutoff(),)) as cursor,
        ):
            deleted = cursor.rowcount
        if deleted:
            logger.info("answer requests: %d expired ones deleted", deleted)
        return deleted

    async def forget_chat(self, chat_id: int) -> int:
        """Delete the reader's requests (/forget); how many there were."""
        async with (
            self.lock,
            self.db.execute("DELETE FROM watches WHERE chat_id = ?", (chat_id,)) as cursor,
        ):
            return cursor.rowcount

    async def counts(self) -> dict[str, int]:
        """`open_requests` (not answered, not expired) and `answered_requests` (kept until
        they expire)."""
        rows = await self._rows(
            "SELECT COUNT(*) - COUNT(closed), COUNT(closed) FROM watches WHERE created >= ?",
            (self._cutoff(),),
        )
        waiting, answered = rows[0]
        return {"open_requests": waiting, "answered_requests": answered}


def answer_key(watch: Watch) -> str:
    """The outbox key of a request's answer: once, ever."""
    return f"answered:{watch.id}"


def answered_items(
    requests: Sequence[Watch], library: Library, articles: Sequence[Article], languages: Translators
) -> list[tuple[Watch, Match, Item]]:
    """The requests the library now answers from one of `articles`, each with its item: the
    answer as the reader would get it by asking now, introduced by their question."""
    new = {a.id for a in articles}
    found = []
    for watch in requests:
        # The cheap test first: a passage of the new articles at the answer bar, scored on
        # their span of the index only. A full answer from a new article needs one (a
        # passage's score does not depend on the others), and most requests have none.
        if not library.answering(watch.question, new):
            continue
        answer = library.ask(watch.question)
        best = answer.best
        if answer.outcome is Outcome.ANSWERED and best is not None and best.article.id in new:
            found.append((watch, best, _item(watch, best, languages)))
    return found


def _item(watch: Watch, match: Match, languages: Translators) -> Item:
    t = languages.for_reader(watch.language, None)
    asked = t.gettext(YOU_ASKED).format(question=shorten(watch.question, QUOTED_CHARS))
    text = f"{HTML.italic(asked)}\n\n{render_match(match, HTML, t)}"
    return Item(watch.chat_id, answer_key(watch), text, full_summary_keyboard(match.article, t))


async def answer_requests(
    watches: Watches,
    outbox: Outbox,
    library: Library,
    articles: Sequence[Article],
    languages: Translators,
) -> int:
    """Queue the answers new articles give to open requests, and close those requests; the
    number queued. Expired requests are purged first and never answered."""
    await watches.purge_expired()
    if not articles:
        return 0
    requests = await watches.open_requests()
    if not requests:
        return 0
    found = await asyncio.to_thread(answered_items, requests, library, articles, languages)
    if not found:
        return 0
    # Queued before closed: a crash between the two leaves a request open whose answer is
    # queued already, and its key keeps a later article from sending it twice.
    queued = await outbox.enqueue(item for _, _, item in found)
    await watches.close([(watch.id, match.passage.id) for watch, match, _ in found])
    logger.info("new articles answered %d open requests", len(found))
    return queued
