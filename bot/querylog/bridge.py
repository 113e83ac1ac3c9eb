"""`BackgroundQueryLog`: the query log for synchronous code (the CLI), its loop in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from bot.config import Settings
from bot.querylog.log import QueryLog


class BackgroundQueryLog:
    """A QueryLog for synchronous callers (the CLI), its event loop in a daemon thread.

    Why a thread rather than asyncio.run around the session: `ask -` and `chat` block on
    stdin for as long as the user likes, and rows should reach the disk while they wait,
    not only at exit. record_* run in the caller's thread: they append to the log's buffer
    (a deque, safe across threads) and wake the writer with call_soon_threadsafe, so a reply
    never waits for the loop, let alone the disk. close() drains, then stops the thread.
    """

    def __init__(
        self, log: QueryLog, loop: asyncio.AbstractEventLoop, thread: threading.Thread
    ) -> None:
        self.log = log
        # The log's own method, safe from this thread; a wrapper would only add a call.
        self.record_query: Callable[..., str] = log.record_query
        self._loop = loop
        self._thread = thread

    @classmethod
    def open(cls, settings: Settings, **options: Any) -> BackgroundQueryLog:
        """Start the loop thread and open the log in it (SchemaTooNewError propagates)."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="query-log", daemon=True)
        thread.start()
        try:
            opening = asyncio.run_coroutine_threadsafe(QueryLog.open(settings, **options), loop)
            log = opening.result()
        except BaseException:
            _stop_loop(loop, thread)
            raise
        return cls(log, loop, thread)

    def run(self, coroutine: Awaitable[Any]) -> Any:
        """Run one of the log's coroutines (stats, forget, ...) on its loop and wait."""
        return asyncio.run_coroutine_threadsafe(_awaited(coroutine), self._loop).result()

    def close(self) -> None:
        """Drain and close the log, then stop its thread."""
        try:
            self.run(self.log.close())
        finally:
            _stop_loop(self._loop, self._thread)


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()
