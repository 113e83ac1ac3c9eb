"""Inline analytics: the questions readers type in inline mode, one query-log row each.

Typing sends an inline query per keystroke, so a typed query is logged only once the
reader has stopped typing for `InlineLog.delay` seconds (a timer per reader, restarted on
every keystroke). When the reader picks a result, the pick is logged instead, with its
passage: before the typed row is written it takes its place, after it it replaces that row
(one row per question). No Telegram here: handlers/inline.py feeds it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.answers import Outcome

if TYPE_CHECKING:
    from bot.querylog import QueryLog

logger = logging.getLogger(__name__)

VIA_INLINE = "inline"
LOG_DELAY = 3.0  # seconds without a keystroke before a typed query is logged
MAX_READERS = 10_000  # readers whose logged typed query a pick may still replace


@dataclass(frozen=True)
class TypedQuery:
    """A reader's inline query and what it offered, logged under the query id that its
    results' buttons carry."""

    question: str
    outcome: str
    user_id: int
    chat_type: str | None
    article_id: str | None
    passage_id: str | None
    score: float | None
    latency_ms: float
    query_id: str


class InlineLog:
    """The typed queries waiting for their reader to stop typing, and the last one logged
    per reader (what a pick replaces). Runs on the event loop; never raises."""

    def __init__(self, delay: float = LOG_DELAY) -> None:
        self.delay = delay
        self._pending: dict[int, tuple[TypedQuery, asyncio.TimerHandle]] = {}
        self._logged: dict[int, TypedQuery] = {}  # oldest first, at most MAX_READERS

    def typed(self, log: QueryLog, query: TypedQuery) -> None:
        """(Re)start the reader's timer: only the query they stop typing at is logged."""
        self._cancel(query.user_id)
        handle = asyncio.get_running_loop().call_later(self.delay, self._write, log, query)
        self._pending[query.user_id] = (query, handle)

    def picked(self, user_id: int, question: str) -> TypedQuery | None:
        """The reader's typed query for `question`, which their pick now replaces: the one
        still waiting (it will not be written) or the one written, taken once (a second pick
        of the same query is a second use, its own row)."""
        pending = self._pending.get(user_id)
        if pending is not None and pending[0].question == question:
            self._cancel(user_id)
            return pending[0]
        logged = self._logged.get(user_id)
        if logged is not None and logged.question == question:
            return self._logged.pop(user_id)
        return None

    def record_pick(
        self,
        log: QueryLog,
        *,
        user_id: int,
        question: str,
        article_id: str | None,
        passage_id: str | None,
        score: float | None,
        typed: TypedQuery | None,
    ) -> None:
        """Log the passage a reader picked, in place of their typed query's row (`typed`):
        a pick, not a question (stats count it apart)."""
        log.record_query(
            via=VIA_INLINE,
            question=question,
            outcome=Outcome.ANSWERED.value,
            chat_type=typed.chat_type if typed else None,
            user_id=user_id,
            article_id=article_id,
            passage_id=passage_id,
            score=score,
            latency_ms=typed.latency_ms if typed else None,
            query_id=typed.query_id if typed else None,
            kind="pick",
        )

    def close(self) -> None:
        """Drop the typed queries still waiting (at shutdown, as the job queue did)."""
        for _query, handle in self._pending.values():
            handle.cancel()
        self._pending.clear()

    def _cancel(self, user_id: int) -> None:
        pending = self._pending.pop(user_id, None)
        if pending is not None:
            pending[1].cancel()

    def _write(self, log: QueryLog, query: TypedQuery) -> None:
        """The reader stopped typing: log the query they settled on."""
        if self._pending.get(query.user_id, (None,))[0] is query:
            del self._pending[query.user_id]
        try:
            log.record_query(
                via=VIA_INLINE,
                question=query.question,
                outcome=query.outcome,
                chat_type=query.chat_type,
                user_id=query.user_id,
                article_id=query.article_id,
                passage_id=query.passage_id,
                score=query.score,
                latency_ms=query.latency_ms,
                query_id=query.query_id,
            )
        except Exception:  # a timer has no one to raise to
            logger.exception("inline query %s: not logged", query.query_id)
            return
        # So that a later pick replaces this row.
        self._logged.pop(query.user_id, None)
        self._logged[query.user_id] = query
        while len(self._logged) > MAX_READERS:
            del self._logged[next(iter(self._logged))]
