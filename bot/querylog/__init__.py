"""The query log: every question, vote, reload and admin action, in SQLite via aiosqlite.

One job a module:

- `log`: `QueryLog`, the public face for asyncio code, composed of the parts below;
- `bridge`: `BackgroundQueryLog`, the same for synchronous code (the CLI), in a thread;
- `writer`: the write-behind buffer and the task that drains it (batching, backoff, health);
- `connection`: the one SQLite connection, reopened when its file is replaced, and its lock;
- `rows`: what a waiting row holds and how it is stored;
- `privacy`: how reader ids are stored (keyed hash, raw or not at all) and the hash key;
- `schema`: the tables, their migrations and the kinds of query rows;
- `queries`: the statistics, the CSV export, the retention purge and `forget`;
- `timestamps`: the clock and the stored time format; `errors`: the exceptions.

This module re-exports the public API; callers import from `bot.querylog`.
"""

from __future__ import annotations

from bot.querylog.bridge import BackgroundQueryLog
from bot.querylog.connection import BUSY_TIMEOUT_MS
from bot.querylog.errors import SchemaTooNewError, StorageError, StorageUnavailableError
from bot.querylog.log import QueryLog
from bot.querylog.privacy import REF_CACHE_SIZE, REF_LENGTH, USER_MODES, hash_ref
from bot.querylog.queries import ForgetResult
from bot.querylog.rows import OUTCOMES, VIAS, answer_fields, new_query_id
from bot.querylog.schema import KINDS, MIGRATIONS, QUERY_COLUMNS, SCHEMA_VERSION, migrate
from bot.querylog.timestamps import iso, stamp, utc_now
from bot.querylog.writer import (
    BACKOFF_MAX,
    BACKOFF_START,
    BATCH_SIZE,
    DRAIN_TIMEOUT,
    LINGER,
    WARNING_INTERVAL,
)

__all__ = [
    "BACKOFF_MAX",
    "BACKOFF_START",
    "BATCH_SIZE",
    "BUSY_TIMEOUT_MS",
    "DRAIN_TIMEOUT",
    "KINDS",
    "LINGER",
    "MIGRATIONS",
    "OUTCOMES",
    "QUERY_COLUMNS",
    "REF_CACHE_SIZE",
    "REF_LENGTH",
    "SCHEMA_VERSION",
    "USER_MODES",
    "VIAS",
    "WARNING_INTERVAL",
    "BackgroundQueryLog",
    "ForgetResult",
    "QueryLog",
    "SchemaTooNewError",
    "StorageError",
    "StorageUnavailableError",
    "answer_fields",
    "hash_ref",
    "iso",
    "migrate",
    "new_query_id",
    "stamp",
    "utc_now",
]
