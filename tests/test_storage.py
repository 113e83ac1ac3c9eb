from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
import types
from collections.abc import Callable, Coroutine, Generator
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import pytest

from bot.answers import Answer, Outcome
from bot.config import ConfigError, Settings, load_settings
from bot.library import Library
from bot.querylog import (
    BACKOFF_MAX,
    BATCH_SIZE,
    MIGRATIONS,
    SCHEMA_VERSION,
    VIAS,
    BackgroundQueryLog,
    QueryLog,
    SchemaTooNewError,
    StorageUnavailableError,
    answer_fields,
    hash_ref,
    migrate,
)

START = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
T = TypeVar("T")


class ChatType(str, Enum):  # noqa: UP042 - str() of this kind gives "ChatType.PRIVATE"
    """Like python-telegram-bot's ChatType: the handlers pass it as it comes."""

    PRIVATE = "private"


READER = 987654321012  # distinctive digits, easy to spot in the database's bytes
SALT = "a configured key of 32 characters"


class FakeClock:
    """Injectable clocks: wall time for timestamps, monotonic time and sleep for retries.

    `sleep` records each backoff delay and yields; it advances monotonic time only when
    `advance` is set, so a test can freeze time to count warnings, then let close() expire.
    """

    def __init__(self) -> None:
        self.wall = START
        self.time = 1000.0
        self.sleeps: list[float] = []
        self.advance = False

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.time

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        if self.advance:
            self.time += delay
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def settings_for(path: Path, **overrides: Any) -> Settings:
    return Settings(database_path=path, **overrides)


async def open_log(path: Path, clock: FakeClock, **overrides: Any) -> QueryLog:
    return await QueryLog.open(
        settings_for(path, **overrides),
        now=clock.now,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        linger=0.0,  # write at once: the tests wait for rows, not for time
    )


async def until(condition: Callable[[], bool], what: str) -> None:
    """Yield to the writer until `condition` holds; a guard, not a speed assertion."""
    for _ in range(20_000):
        if condition():
            return
        await asyncio.sleep(0.0005)
    raise AssertionError(f"never happened: {what}")


def rows(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql, params).fetchall()


def warnings_about(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and text in r.getMessage()
    ]


def reply(log: QueryLog, library: Library, question: str) -> Answer:
    """What a handler does: answer, then queue the row (which must not raise)."""
    answer = library.ask(question)
    log.record_query(via="private", chat_ref=READER, chat_type="private", user_id=READER,
                     latency_ms=1.0, **answer_fields(answer))  # fmt: skip
    return answer


# -- settings -------------------------------------------------------------------------------


def test_query_log_settings_are_read_with_defaults() -> None:
    defaults = load_settings({}, env_file=None)
    assert (defaults.query_log_users, defaults.query_log_salt) == ("hash", None)
    assert (defaults.query_log_retention_days, defaults.query_log_max_pending) == (90, 10_000)
    settings = load_settings(
        {
            "QUERY_LOG_USERS": "RAW",
            "QUERY_LOG_SALT": SALT,
            "QUERY_LOG_RETENTION_DAYS": "30",
            "QUERY_LOG_MAX_PENDING": "500",
        },
        env_file=None,
    )
    assert (settings.query_log_users, settings.query_log_salt) == ("raw", SALT)
    assert (settings.query_log_retention_days, settings.query_log_max_pending) == (30, 500)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("QUERY_LOG_USERS", "everyone"),
        ("QUERY_LOG_SALT", "short"),
        ("QUERY_LOG_RETENTION_DAYS", "0"),
        ("QUERY_LOG_RETENTION_DAYS", "a year"),
        ("QUERY_LOG_MAX_PENDING", "-5"),
    ],
)
def test_bad_query_log_setting_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({name: value}, env_file=None)
    assert str(raised.value).startswith(f"{name}: ")
    assert "\n" not in str(raised.value)


# -- rows, schema, lifecycle -----------------------------------------------------------


async def test_rows_for_each_via_and_the_other_tables(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "data" / "log.sqlite3"
    log = await open_log(path, clock, query_log_users="raw")
    ids = {}
    for n, via in enumerate(VIAS):
        ids[via] = log.record_query(
            via=via, question=f"question {via}", outcome="answered", chat_ref=-100 - n,
            chat_type="group", user_id=n, article_id="a", passage_id="a#1", score=0.9,
            latency_ms=2.5,
        )  # fmt: skip
    log.record_feedback(query_id=ids["private"], user_id=1, helpful=True)
    log.record_feedback(query_id=ids["private"], user_id=1, helpful=False)  # changes the vote
    log.record_feedback(query_id=ids["private"], user_id=2, helpful=True)
    log.record_reload(admin_id=42, articles=3, passages=27, rejected=["x.md:1: empty file"])
    log.record_admin_action(user_id=77, action="reload", allowed=False)
    await log.close()

    assert all(len(i) == 12 and int(i, 16) >= 0 for i in ids.values())
    stored = rows(path, "SELECT id, via, question, chat_ref, user_ref, score FROM queries")
    assert sorted(stored) == sorted(
        (ids[via], via, f"question {via}", str(-100 - n), str(n), 0.9) for n, via in enumerate(VIAS)
    )
    assert rows(path, "SELECT user_ref, helpful FROM feedback ORDER BY user_ref") == [
        ("1", 0),
        ("2", 1),
    ]
    assert rows(path, "SELECT admin_id, articles, passages, rejected FROM reloads") == [
        (42, 3, 27, '["x.md:1: empty file"]')
    ]
    assert rows(path, "SELECT user_id, action, allowed FROM admin_actions") == [(77, "reload", 0)]
    ts = rows(path, "SELECT ts FROM queries")[0][0]
    assert ts == "2025-06-01T12:00:00.000+00:00"


async def test_new_database_is_migrated_with_wal(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "new" / "deeper" / "log.sqlite3"
    log = await open_log(path, clock)
    await log.close()
    assert rows(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]
    tables = {r[0] for r in rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"queries", "feedback", "reloads", "admin_actions", "meta", "dropped"}
    indices = {r[0] for r in rows(path, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"queries_ts", "queries_outcome"} <= indices


async def test_version_1_database_is_upgraded_keeping_its_rows(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "v1.sqlite3"
    async with aiosqlite.connect(path, isolation_level=None) as db:
        assert await migrate(db, target=1) == 1
        await db.execute(
            "INSERT INTO queries (id, ts, via, question, outcome) VALUES "
            "('abcdefabcdef', '2025-05-31T00:00:00.000+00:00', 'cli', 'old one', 'answered')"
        )
    assert len(MIGRATIONS) == SCHEMA_VERSION >= 2
    log = await open_log(path, clock)
    log.record_query(via="cli", question="new one", outcome="unanswered")
    await log.close()
    assert rows(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert sorted(r[0] for r in rows(path, "SELECT question FROM queries")) == [
        "new one",
        "old one",
    ]
    assert rows(path, "SELECT COUNT(*) FROM meta WHERE key = 'salt'") == [(1,)]


async def test_newer_database_is_refused_clearly(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaTooNewError, match="newer than this bot"):
        await open_log(path, clock)
    assert rows(path, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]


async def test_second_open_is_harmless(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "log.sqlite3"
    first = await open_log(path, clock)
    first.record_query(via="private", question="q", outcome="answered", user_id=READER)
    second = await open_log(path, clock)  # while the first is still open, too
    second.record_query(via="private", question="q", outcome="answered", user_id=READER)
    await first.close()
    await second.close()
    third = await open_log(path, clock)
    await third.close()
    assert rows(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert rows(path, "SELECT COUNT(*) FROM meta") == [(1,)]
    refs = rows(path, "SELECT DISTINCT user_ref FROM queries")
    assert len(refs) == 1  # both opens hashed with the one stored key


async def test_close_drains_every_queued_row(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, clock)
    total = BATCH_SIZE * 2 + 17  # several batches still queued when close() is called
    for n in range(total):
        log.record_query(via="group", question=f"q{n}", outcome="suggested")
    assert log.pending > 0
    await log.close()
    assert log.pending == 0 and log.dropped == 0
    assert rows(path, "SELECT COUNT(*), COUNT(DISTINCT id) FROM queries") == [(total, total)]
    log.record_query(via="group", question="after close", outcome="answered")  # no raise
    assert log.dropped == 1


# -- faults --------------------------------------------------------------------------


async def test_parent_is_a_file_replies_go_on_then_rows_arrive(
    tmp_path: Path, clock: FakeClock, library: Library, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a folder", encoding="utf-8")
    path = blocker / "log.sqlite3"
    log = await open_log(path, clock, query_log_max_pending=3)
    assert not log.healthy
    for _ in range(5):
        assert reply(log, library, "Alibaba Cloud customers").outcome is Outcome.ANSWERED
    assert (log.pending, log.dropped) == (3, 2)
    assert await log.flush() is False  # no waiting on a database that cannot be written
    await until(lambda: len(clock.sleeps) >= 6, "six failed retries")
    assert len(warnings_about(caplog, "cannot write")) == 1
    assert clock.sleeps[:4] == [0.1, 0.2, 0.4, 0.8]  # backoff doubles...
    assert max(clock.sleeps) <= BACKOFF_MAX  # ...up to a cap
    with pytest.raises(StorageUnavailableError):
        await log.stats()

    blocker.unlink()  # the folder can be made now: the writer catches up by itself
    await until(lambda: log.pending == 0, "the waiting rows written")
    assert log.healthy
    assert rows(path, "SELECT COUNT(*) FROM queries") == [(3,)]
    assert rows(path, "SELECT SUM(rows) FROM dropped") == [(2,)]
    assert (await log.stats()).dropped_rows == 2
    await log.close()


async def test_one_warning_a_minute_while_failing(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    log = await open_log(blocker / "log.sqlite3", clock)
    log.record_query(via="cli", question="q", outcome="answered")
    await until(lambda: len(clock.sleeps) >= 8, "eight failed retries")
    assert len(warnings_about(caplog, "cannot write")) == 1
    clock.time += 61
    failures = len(clock.sleeps)
    await until(lambda: len(clock.sleeps) >= failures + 3, "three more retries")
    assert len(warnings_about(caplog, "cannot write")) == 2
    clock.advance = True  # let close() give up after its drain timeout
    await log.close()
    assert log.dropped == 1
    assert "could not be written" in caplog.text


async def test_query_only_database(
    tmp_path: Path, clock: FakeClock, library: Library, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, clock)
    assert log._db is not None
    await log._db.execute("PRAGMA query_only = ON")  # read-only, even for root
    answers = [reply(log, library, "Huawei strategy") for _ in range(4)]
    assert all(a.outcome is Outcome.ANSWERED for a in answers)
    await until(lambda: len(clock.sleeps) >= 3, "failed retries")
    assert log.pending == 4 and not log.healthy
    assert len(warnings_about(caplog, "cannot write")) == 1
    assert "readonly" in caplog.text
    await log._db.execute("PRAGMA query_only = OFF")
    await until(lambda: log.pending == 0, "rows written once writable")
    await log.close()
    assert rows(path, "SELECT COUNT(*) FROM queries") == [(4,)]
    assert len(warnings_about(caplog, "writable again")) == 1


async def test_disk_full_through_max_page_count(
    tmp_path: Path, clock: FakeClock, library: Library, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, clock, query_log_max_pending=50)
    assert log._db is not None
    async with log._db.execute("PRAGMA page_count") as cursor:
        (pages,) = await cursor.fetchone()  # type: ignore[misc]
    await log._db.execute(f"PRAGMA max_page_count = {pages}")
    for n in range(60):
        answer = library.ask("Tencent capital expenditure")
        log.record_query(via="group", question=f"{n} " + "long question " * 40, outcome="answered",
                         passage_id=answer.best.passage.id if answer.best else None)  # fmt: skip
    await until(lambda: len(clock.sleeps) >= 3, "failed retries")
    assert (log.pending, log.dropped) == (50, 10)
    assert "full" in caplog.text
    assert len(warnings_about(caplog, "cannot write")) == 1
    await log._db.execute("PRAGMA max_page_count = 1073741823")
    await until(lambda: log.pending == 0, "rows written once there is room")
    await log.close()
    assert rows(path, "SELECT COUNT(*) FROM queries") == [(50,)]
    assert rows(path, "SELECT SUM(rows) FROM dropped") == [(10,)]


async def test_file_removed_under_the_open_connection(
    tmp_path: Path, clock: FakeClock, library: Library, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "data"
    path = folder / "log.sqlite3"
    log = await open_log(path, clock)
    reply(log, library, "Alibaba Cloud customers")
    await log.flush()
    for leftover in folder.iterdir():  # the database, its WAL and shared memory
        leftover.unlink()
    folder.rmdir()
    assert reply(log, library, "Huawei strategy").outcome is Outcome.ANSWERED
    assert await log.flush()
    await log.close()
    # Without the check the row would have gone into the unlinked file and been lost.
    assert rows(path, "SELECT question FROM queries") == [("Huawei strategy",)]
    assert len(warnings_about(caplog, "removed or replaced")) == 1


# -- flush ----------------------------------------------------------------------------


class Suspensions:
    """Runs a coroutine and counts how often it gives the loop back before it returns.

    A flush that polls suspends once per poll; one that awaits the writer's signal suspends
    once per batch written.
    """

    def __init__(self) -> None:
        self.count = 0

    @types.coroutine
    def run(self, coroutine: Coroutine[Any, Any, T]) -> Generator[Any, Any, T]:
        sent: Any = None
        error: BaseException | None = None
        while True:
            try:
                waiting = coroutine.send(sent) if error is None else coroutine.throw(error)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            self.count += 1
            sent, error = None, None
            try:
                sent = yield waiting
            except BaseException as raised:  # cancellation goes on into the coroutine
                error = raised


async def test_flush_waits_for_the_writer_without_polling(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, clock)
    total = BATCH_SIZE * 2 + 5  # three batches
    # Another connection holds the write lock, so the writer's first batch waits (in
    # aiosqlite's thread, in SQLite's busy handler) until it lets go 0.3 s later.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    for n in range(total):
        log.record_query(via="cli", question=f"q{n}", outcome="answered")
    asyncio.get_running_loop().call_later(0.3, holder.execute, "ROLLBACK")
    suspensions = Suspensions()
    started = time.perf_counter()
    try:
        flushed = await suspensions.run(log.flush())
    finally:
        holder.close()
    elapsed = time.perf_counter() - started
    assert flushed is True and log.pending == 0
    assert rows(path, "SELECT COUNT(*) FROM queries") == [(total,)]  # written when it returns
    assert 0.3 <= elapsed < 3.0  # it waited for the locked write, and not much longer
    # A wake-up per batch written (three), not one per millisecond of waiting (about 300).
    assert suspensions.count <= 6
    await log.close()


async def test_flush_returns_false_when_the_write_it_waits_for_fails(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, clock)
    assert log._db is not None
    await log._db.execute("PRAGMA query_only = ON")
    log.record_query(via="cli", question="q", outcome="answered")
    assert log.healthy  # not yet: the writer has not tried
    # The writer's failure wakes the waiting flush; were it not signalled, this would hang.
    assert await asyncio.wait_for(log.flush(), timeout=5) is False
    assert not log.healthy and log.pending == 1
    await log._db.execute("PRAGMA query_only = OFF")
    await log.close()
    assert rows(path, "SELECT COUNT(*) FROM queries") == [(1,)]


# -- privacy, retention, forget ------------------------------------------------------------


async def test_hash_mode_never_stores_a_raw_reader_id(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, clock)
    query_id = log.record_query(
        via="private", question="q", outcome="answered", chat_ref=READER,
        chat_type=ChatType.PRIVATE, user_id=READER,
    )  # fmt: skip
    log.record_feedback(query_id=query_id, user_id=READER, helpful=True)
    await log.close()
    ((salt,),) = rows(path, "SELECT value FROM meta WHERE key = 'salt'")
    expected = hash_ref(salt, READER)
    assert rows(path, "SELECT chat_ref, chat_type, user_ref FROM queries") == [
        (expected, "private", expected)
    ]
    assert rows(path, "SELECT user_ref FROM feedback") == [(expected,)]
    assert len(expected) == 16 and str(READER) not in expected
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert str(READER).encode() not in stored


@pytest.mark.parametrize(
    ("mode", "salt", "expected"),
    [
        ("raw", None, str(READER)),
        ("off", None, None),
        ("hash", SALT, hash_ref(SALT, READER)),
    ],
)
async def test_privacy_modes(
    tmp_path: Path, clock: FakeClock, mode: str, salt: str | None, expected: str | None
) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, clock, query_log_users=mode, query_log_salt=salt)
    log.record_query(via="private", question="q", outcome="answered", chat_ref=READER,
                     chat_type="private", user_id=READER)  # fmt: skip
    log.record_query(via="group", question="q", outcome="answered", chat_ref=-1001,
                     chat_type="supergroup", user_id=READER)  # fmt: skip
    await log.close()
    assert rows(path, "SELECT chat_ref, user_ref FROM queries ORDER BY via DESC") == [
        (expected, expected),
        ("-1001", expected),  # a group's id is not a person's
    ]
    generated = rows(path, "SELECT COUNT(*) FROM meta WHERE key = 'salt'")
    assert generated == [(0,)] if salt else [(1,)]


async def test_a_query_recorded_again_under_its_id_replaces_its_row(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, clock)
    query_id = log.record_query(via="inline", question="q", outcome="suggested", score=0.6)
    await log.flush()
    again = log.record_query(
        via="inline", question="q", outcome="answered", passage_id="a#2", query_id=query_id
    )
    await log.close()
    assert again == query_id
    assert rows(path, "SELECT id, outcome, passage_id, score FROM queries") == [
        (query_id, "answered", "a#2", None)
    ]


async def test_without_reader_ids_a_second_vote_still_replaces_the_first(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, clock, query_log_users="off")
    first = log.record_query(via="private", question="q1", outcome="answered", user_id=READER)
    second = log.record_query(via="private", question="q2", outcome="answered", user_id=READER)
    log.record_feedback(query_id=first, user_id=READER, helpful=True)
    await log.flush()  # the change of mind arrives in another batch
    log.record_feedback(query_id=first, user_id=READER, helpful=False)
    log.record_feedback(query_id=first, user_id=7, helpful=True)  # another reader
    log.record_feedback(query_id=second, user_id=READER, helpful=True)
    log.record_feedback(query_id=second, user_id=None, helpful=True)  # unknown voter
    await log.close()

    votes = rows(path, "SELECT query_id, user_ref, helpful FROM feedback")
    expected = [(first, 0), (first, 1), (second, 1), (second, 1)]
    assert sorted((q, h) for q, _, h in votes) == sorted(expected)
    tokens = [ref for _, ref, _ in votes if ref is not None]
    # One token per answer and voter, random: the same reader's two votes are not linked.
    assert len(tokens) == len(set(tokens)) == 3
    assert all(str(READER) not in ref for ref in tokens)
    assert rows(path, "SELECT user_ref FROM queries") == [(None,), (None,)]


async def test_retention_deletes_only_old_rows(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, clock, query_log_retention_days=90)
    for age in (120, 91, 89, 0):
        clock.wall = START - timedelta(days=age)
        query_id = log.record_query(via="cli", question=f"{age} days", outcome="answered")
        log.record_feedback(query_id=query_id, user_id=1, helpful=True)
        log.record_admin_action(user_id=5, action=f"{age}", allowed=True)
        log.record_reload(admin_id=5, articles=1, passages=1)
    clock.wall = START
    await log.flush()
    assert await log.purge_expired() == 2 * 4
    remaining = sorted(r[0] for r in rows(path, "SELECT question FROM queries"))
    assert remaining == ["0 days", "89 days"]
    for table in ("feedback", "admin_actions", "reloads"):
        assert rows(path, f"SELECT COUNT(*) FROM {table}") == [(2,)], table
    await log.close()

    clock.wall = START + timedelta(days=2)  # 89 days old is now 91: deleted at the next open
    log = await open_log(path, clock, query_log_retention_days=90)
    await log.close()
    assert rows(path, "SELECT question FROM queries") == [("0 days",)]


async def test_forget_deletes_exactly_one_users_rows(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, clock)
    other = 555

    def activity(user: int) -> None:
        mine = log.record_query(via="private", question=f"from {user}", outcome="answered",
                                chat_ref=user, chat_type="private", user_id=user)  # fmt: skip
        log.record_query(via="group", question=f"group {user}", outcome="answered",
                         chat_ref=-100, chat_type="group", user_id=user)  # fmt: skip
        log.record_feedback(query_id=mine, user_id=user, helpful=True)
        log.record_admin_action(user_id=user, action="stats", allowed=False)

    activity(READER)
    activity(other)
    await log.flush()
    log.record_query(via="inline", question="waiting", outcome="unanswered", user_id=READER)
    result = await log.forget(READER)  # the waiting row goes too
    await log.close()
    assert (result.queries, result.feedback, result.admin_actions, result.reloads) == (3, 1, 1, 0)
    assert sorted(r[0] for r in rows(path, "SELECT question FROM queries")) == [
        "from 555",
        "group 555",
    ]
    assert rows(path, "SELECT COUNT(*) FROM feedback") == [(1,)]
    assert rows(path, "SELECT user_id FROM admin_actions") == [(other,)]


async def test_forget_finds_rows_written_in_raw_mode_too(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, clock, query_log_users="raw")
    log.record_query(via="group", question="q", outcome="answered", user_id=READER)
    await log.close()
    log = await open_log(path, clock)  # now hashing
    log.record_query(via="group", question="q", outcome="answered", user_id=READER)
    await log.flush()
    assert (await log.forget(READER)).queries == 2
    await log.close()


# -- the synchronous wrapper and the export -------------------------------------------


def test_background_log_records_from_another_thread(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    log = BackgroundQueryLog.open(settings_for(path))
    assert log._thread is not threading.current_thread()
    ids = [log.record_query(via="cli", question=f"q{n}", outcome="answered") for n in range(300)]
    assert log.run(log.log.stats(1)).questions <= 300
    log.close()
    assert not log._thread.is_alive()
    assert sorted(r[0] for r in rows(path, "SELECT id FROM queries")) == sorted(ids)


async def test_export_writes_the_windows_rows_as_stored(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, clock, query_log_users="raw")
    clock.wall = START - timedelta(days=40)
    log.record_query(via="cli", question="too old", outcome="answered")
    clock.wall = START
    log.record_query(via="group", question='with "quotes", commas', outcome="suggested",
                     chat_ref=-5, chat_type="group", user_id=7, score=0.61)  # fmt: skip
    target = tmp_path / "out.csv"
    assert await log.export_csv(target, days=30) == 1
    await log.close()
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0] == (
        "id,ts,via,chat_ref,chat_type,user_ref,question,outcome,article_id,passage_id,"
        "score,latency_ms,delivered,kind"
    )
    assert lines[1].endswith(
        ',2025-06-01T12:00:00.000+00:00,group,-5,group,7,"with ""quotes"", commas",'
        "suggested,,,0.61,,,question"
    )
    assert len(lines) == 2


async def test_a_question_sqlite_cannot_encode_does_not_stall_the_writer(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "log.sqlite3"
    log = await open_log(path, clock)
    log.record_query(via="private", question="lone \udcff surrogate", outcome="unanswered")
    log.record_query(via="private", question="next", outcome="answered", score=1)
    clock.advance = True  # were the writer stuck, close() would give up, not hang
    await log.close()
    assert log.dropped == 0 and not clock.sleeps
    assert sorted(rows(path, "SELECT question, score FROM queries")) == [
        ("lone ? surrogate", None),
        ("next", 1.0),
    ]


async def test_repr_shows_neither_the_salt_nor_the_generated_key(
    tmp_path: Path, clock: FakeClock
) -> None:
    salt = "a-very-secret-salt-0123456789"
    log = await open_log(tmp_path / "given.sqlite3", clock, query_log_salt=salt)
    generated = await open_log(tmp_path / "generated.sqlite3", clock)
    try:
        assert salt not in repr(log) and "users='hash'" in repr(log)
        assert generated._key and generated._key not in repr(generated)
    finally:
        await log.close()
        await generated.close()
