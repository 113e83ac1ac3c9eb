"""The query log's schema: its tables, the ordered migrations, and `migrate`.

The version is SQLite's `PRAGMA user_version`: an older file is upgraded in place, one
transaction a step; a newer one is refused (SchemaTooNewError) rather than touched.
"""

from __future__ import annotations

import aiosqlite

from bot.querylog.connection import transaction
from bot.querylog.errors import SchemaTooNewError

# The columns of `queries`, in the order record_query's rows and the CSV export use.
QUERY_COLUMNS = (
    "id", "ts", "via", "chat_ref", "chat_type", "user_ref", "question", "outcome",
    "article_id", "passage_id", "score", "latency_ms", "delivered", "kind",
)  # fmt: skip

# What a `queries` row is (its `kind`): a question asked, a summary asked for (/summary or
# the "Full summary" button), a pick of a passage offered (a suggestion's button, an inline
# result) or small talk (a greeting, thanks). Only questions count as questions in stats.
KINDS = ("question", "summary", "pick", "small_talk")

# Ordered migrations: MIGRATIONS[n] takes the schema from version n to n + 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE queries (
            id TEXT PRIMARY KEY, ts TEXT NOT NULL, via TEXT NOT NULL, chat_ref TEXT,
            chat_type TEXT, user_ref TEXT, question TEXT NOT NULL, outcome TEXT NOT NULL,
            article_id TEXT, passage_id TEXT, score REAL, latency_ms REAL)""",
        "CREATE INDEX queries_ts ON queries (ts)",
        "CREATE INDEX queries_outcome ON queries (outcome)",
        """CREATE TABLE feedback (
            ts TEXT NOT NULL, query_id TEXT NOT NULL, user_ref TEXT, helpful INTEGER NOT NULL)""",
        # One vote per reader and answer: a second press updates the row (an upsert).
        "CREATE UNIQUE INDEX feedback_vote ON feedback (query_id, user_ref)",
        "CREATE INDEX feedback_ts ON feedback (ts)",
        """CREATE TABLE reloads (
            ts TEXT NOT NULL, admin_id INTEGER, articles INTEGER NOT NULL,
            passages INTEGER NOT NULL, rejected TEXT NOT NULL)""",
        "CREATE INDEX reloads_ts ON reloads (ts)",
        """CREATE TABLE admin_actions (
            ts TEXT NOT NULL, user_id INTEGER, action TEXT NOT NULL, allowed INTEGER NOT NULL)""",
        "CREATE INDEX admin_actions_ts ON admin_actions (ts)",
    ),
    (
        # Version 2: the generated hash key lives with the data it keys; dropped rows are
        # recorded so stats can report them; forget finds a reader's rows by index.
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE dropped (ts TEXT NOT NULL, rows INTEGER NOT NULL)",
        "CREATE INDEX dropped_ts ON dropped (ts)",
        "CREATE INDEX queries_user_ref ON queries (user_ref)",
    ),
    (
        # Version 3: whether the reply reached Telegram (1), failed (0) or is unknown (NULL:
        # timed out, or not sent through Telegram), so a flood's losses show in the log.
        "ALTER TABLE queries ADD COLUMN delivered INTEGER",
    ),
    (
        # Version 4: what each row is (KINDS), so that summaries, picks and small talk are
        # not counted as questions. Older rows get what can be inferred: a button press
        # (via 'callback') was a pick, a '/summary ...' row a summary; the rest stay
        # questions (an inline pick looked like its typed query and cannot be told apart).
        "ALTER TABLE queries ADD COLUMN kind TEXT NOT NULL DEFAULT 'question'",
        "UPDATE queries SET kind = 'pick' WHERE via = 'callback'",
        "UPDATE queries SET kind = 'summary' "
        "WHERE question = '/summary' OR substr(question, 1, 9) = '/summary '",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


async def migrate(db: aiosqlite.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the schema up to `target`, one transaction a step; the version reached.

    Each step re-reads the version inside its write transaction, so two processes opening
    the same file at once do not both apply it.
    """
    for step in range(target):
        async with transaction(db):
            version = await user_version(db)
            if version > SCHEMA_VERSION:
                raise SchemaTooNewError(
                    f"the query log {version=} is newer than this bot's ({SCHEMA_VERSION}); "
                    "upgrade the bot or use another DATABASE_PATH"
                )
            if version == step:
                for statement in MIGRATIONS[step]:
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {step + 1}")
    return await user_version(db)


async def user_version(db: aiosqlite.Connection) -> int:
    """The schema version stored in the file (0 for a new one)."""
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0
