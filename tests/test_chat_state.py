"""Chat state in SQLite (bot/chat_state.py) and its python-telegram-bot adapter.

Failures are simulated without file permissions (CI runs as root): a file that is not a
database, a directory where the file should be, a lock held by another connection.
"""

from __future__ import annotations

import logging
import pickle
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.chat_state import (
    ChatStateError,
    ChatStateStore,
    decode,
    dumps_chat,
    encode,
    loads_chat,
    read_legacy_chat_data,
)
from bot.persistence import ChatStatePersistence
from bot.state import ChatState

# What the handlers keep (bot/state.py's ChatState, stored as this dict): the current
# article, question message id -> answer message id, answer message id -> (question, query
# id), the group greeting flag.
HANDLER_STATE: dict[str, Any] = {
    "article_id": "000_4859508c0bdee28a",
    "answers": {101: 102, 103: 104},
    "questions": {102: ("Huawei strategy", "a1b2c3d4e5f6"), 104: ("云计算", "0123456789ab")},
    "greeted": True,
}


def shape(value: object) -> object:
    """The value with every type spelled out, so equal-but-different types (1 vs "1",
    (1,) vs [1], True vs 1) and dict order show up in a comparison."""
    if isinstance(value, dict):
        return ("dict", [(shape(k), shape(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [shape(v) for v in value])
    return (type(value).__name__, value)


def store_at(tmp_path: Path, **options: Any) -> ChatStateStore:
    return ChatStateStore(tmp_path / "data" / "bot.sqlite3", **options)


def rows(path: Path, table: str = "chat_state") -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()


# -- the encoding ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        HANDLER_STATE,
        {},
        {1: 2, "1": "2", -100500: None, 0: False, 2: 0, 3: 1.5, 4: -0.0},
        {(1, "a"): [1, (2, 3), {4: [5]}], "": (), "empty": [], "nested": {}},
        {True: "bool key", 10**30: "big int", "emoji 🙂": "\u4e2d\u6587\x00"},
        {"list of tuples": [("a", 1), ("b", 2)], "tuple of lists": ([1], [2])},
        # The tags themselves as ordinary data stay data.
        {"dict": "x", "tuple": [1], "list": {"dict": []}},
    ],
)
def test_every_stored_type_round_trips_exactly(value: dict[Any, Any]) -> None:
    restored = loads_chat(dumps_chat(value))
    assert restored == value
    assert shape(restored) == shape(value)


def test_dict_order_is_kept_for_the_remembered_maps() -> None:
    # remember() evicts the oldest entry first: insertion order is part of the state.
    answers = {n: n + 1 for n in (9, 3, 7, 1, 5)}
    restored = loads_chat(dumps_chat({"answers": answers}))
    assert list(restored["answers"]) == [9, 3, 7, 1, 5]


def test_the_row_is_plain_json_with_a_format_number() -> None:
    assert dumps_chat({"answers": {1: 2}}) == (
        '{"format":1,"data":{"dict":[["answers",{"dict":[[1,2]]}]]}}'
    )


@pytest.mark.parametrize(
    "value", [{1, 2}, b"bytes", object(), float("nan"), float("inf"), Path("x")]
)
def test_what_cannot_be_stored_is_refused(value: object) -> None:
    with pytest.raises(ChatStateError):
        dumps_chat({"key": value})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ("[1, 2]", "not a chat state row"),
        ('{"format": 2, "data": {"dict": []}}', "format 2"),
        ('{"format": 1, "data": {"list": []}}', "not a dict"),
        ('{"format": 1, "data": {"dict": [[1]]}}', "pair"),
        ('{"format": 1, "data": {"dict": [[{"list": []}, 1]]}}', "bad dict key"),
        ('{"format": 1, "data": {"set": [1]}}', "not an encoded value"),
        ('{"format": 1, "data": {"dict": [], "list": []}}', "not an encoded value"),
        ('{"format": 1, "data": ' + '{"list": [' * 5000 + "]}" * 5000 + "}", "Recursion"),
    ],
)
def test_a_row_that_cannot_be_read_says_why(text: str | bytes, reason: str) -> None:
    with pytest.raises(ChatStateError, match=reason):
        loads_chat(text)


def test_decode_is_encode_inverse_for_scalars() -> None:
    for value in (None, True, False, 0, -1, 2**63, 1.25, "", "x"):
        assert shape(decode(encode(value))) == shape(value)


# -- the store ---------------------------------------------------------------------------


async def test_saved_chats_load_in_a_new_store(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    assert await store.load() == {}
    store.stage(1001, HANDLER_STATE)
    store.stage(-100500, {"greeted": True})
    assert store.pending == 2
    assert await store.save()
    assert store.pending == 0
    loaded = await store_at(tmp_path).load()
    assert loaded == {1001: HANDLER_STATE, -100500: {"greeted": True}}
    assert shape(loaded[1001]) == shape(HANDLER_STATE)


async def test_a_save_rewrites_only_the_changed_chats_and_drops_rows(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    await store.load()
    store.stage(1, {"article_id": "a"})
    store.stage(2, {"article_id": "b"})
    await store.save()
    store.stage(2, {"article_id": "c"})
    store.stage_drop(1)  # a group that became a supergroup
    await store.save()
    assert await store_at(tmp_path).load() == {2: {"article_id": "c"}}


async def test_the_query_log_opens_the_same_file_after_the_chat_state(tmp_path: Path) -> None:
    from bot.config import Settings
    from bot.querylog import SCHEMA_VERSION, QueryLog

    store = store_at(tmp_path)
    await store.load()
    store.stage(1, {"article_id": "a"})
    await store.save()
    log = await QueryLog.open(Settings(database_path=store.path))
    log.record_query(via="cli", question="q", outcome="unanswered")
    await log.close()
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("SELECT count(*) FROM queries").fetchone()[0] == 1
    assert await store_at(tmp_path).load() == {1: {"article_id": "a"}}


async def test_a_corrupt_row_is_set_aside_with_a_warning_and_the_rest_loaded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = store_at(tmp_path)
    await store.load()
    store.stage(1, HANDLER_STATE)
    store.stage(5, {"article_id": "kept"})
    await store.save()
    with sqlite3.connect(store.path) as db:
        db.execute('INSERT INTO chat_state VALUES (2, \'{"format": 1, "data": {"dic\', \'x\')')
        db.execute("INSERT INTO chat_state VALUES (3, CAST(x'ff00' AS TEXT), 'x')")
        db.execute("INSERT INTO chat_state VALUES (4, x'0102', 'x')")
        db.execute("INSERT INTO chat_state VALUES (6, '{\"format\": 9, \"data\": 1}', 'x')")
    with caplog.at_level(logging.WARNING, logger="bot.chat_state"):
        loaded = await store_at(tmp_path).load()
    assert loaded == {1: HANDLER_STATE, 5: {"article_id": "kept"}}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4
    for chat_id in (2, 3, 4, 6):
        assert any(
            f"the row of chat {chat_id} cannot be read" in w and "chat_state_rejected" in w
            for w in warnings
        ), warnings
    assert any("format 9, this bot reads format 1" in w for w in warnings)
    rejected = rows(store.path, "chat_state_rejected")
    assert [r[0] for r in rejected] == [2, 3, 4, 6]
    assert rejected[0][1] == '{"format": 1, "data": {"dic'  # kept as it was, for a human
    assert rejected[1][1] == b"\xff\x00"  # not UTF-8: kept as the bytes it was
    assert all(r[4] for r in rejected)  # each with its reason
    assert [r[0] for r in rows(store.path)] == [1, 5]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.chat_state"):
        assert await store_at(tmp_path).load() == loaded  # set aside once, not at every start
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize("damage", ["not a database", "a directory", "truncated"])
async def test_a_database_it_cannot_read_gives_empty_state_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    store = store_at(tmp_path)
    store.path.parent.mkdir(parents=True)
    if damage == "not a database":
        store.path.write_bytes(b"this is not a database file\n" * 200)
    elif damage == "a directory":
        store.path.mkdir()
    else:  # the first page of a real database, then nothing
        await store.load()
        store.stage(1, HANDLER_STATE)
        await store.save()
        with sqlite3.connect(store.path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        content = store.path.read_bytes()
        store.path.write_bytes(content[:100] + b"\x00" * 50)
    with caplog.at_level(logging.WARNING, logger="bot.chat_state"):
        assert await store.load() == {}
        store.stage(1, {"article_id": "a"})
        assert await store.save() is False  # never raises
    assert store.pending == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"cannot read {store.path}" in m and "starting with 0 chats" in m for m in messages)
    assert any("cannot save 1 chats" in m for m in messages)


async def test_a_failing_save_keeps_the_state_for_the_next_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = [0.0]
    store = store_at(tmp_path, busy_timeout_ms=50, monotonic=lambda: clock[0])
    await store.load()
    store.stage(1, {"article_id": "old"})
    await store.save()
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the file
    try:
        with caplog.at_level(logging.WARNING, logger="bot.chat_state"):
            store.stage(1, {"article_id": "new"})
            store.stage(2, {"article_id": "b"})
            assert await store.save() is False
            clock[0] = 10.0
            store.stage(2, {"article_id": "newer"})  # staged again while failing: newest wins
            assert await store.save() is False
        assert store.pending == 2
        failures = [r for r in caplog.records if "cannot save" in r.getMessage()]
        assert len(failures) == 1  # one warning a minute, not one per attempt
        assert "locked" in failures[0].getMessage()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.chat_state"):
        assert await store.save()
    assert store.pending == 0
    assert "writable again after 2 failed saves" in caplog.text
    assert await store_at(tmp_path).load() == {1: {"article_id": "new"}, 2: {"article_id": "newer"}}


async def test_any_error_in_a_save_is_a_failed_save_not_an_exception(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = store_at(tmp_path)
    await store.load()
    store.stage(1, {"n": 1})

    def broken(batch: Any) -> None:
        raise RuntimeError("dictionary changed size during iteration")

    store._write = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="bot.chat_state"):
        assert await store.save() is False
    assert store.pending == 1
    assert "RuntimeError: dictionary changed size" in caplog.text


async def test_a_chat_staged_during_a_save_keeps_its_newer_state(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    await store.load()
    store.stage(1, {"n": 1})
    write = store._write

    def write_then_change(batch: Any) -> None:
        write(batch)
        store.stage(1, {"n": 2})  # a handler changed the chat meanwhile

    store._write = write_then_change  # type: ignore[method-assign]
    assert await store.save()
    assert store.pending == 1
    store._write = write  # type: ignore[method-assign]
    await store.save()
    assert await store_at(tmp_path).load() == {1: {"n": 2}}


async def test_a_chat_that_cannot_be_stored_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = store_at(tmp_path)
    await store.load()
    store.stage(1, {"a set": {1, 2}})
    store.stage(2, {"fine": 1})
    with caplog.at_level(logging.WARNING, logger="bot.chat_state"):
        assert await store.save()
    assert store.pending == 0  # not retried: only a new state can be stored
    assert "chat 1 not saved" in caplog.text and "cannot store a set" in caplog.text
    assert await store_at(tmp_path).load() == {2: {"fine": 1}}


# -- the old pickle file ---------------------------------------------------------------------


async def write_legacy_pickle(path: Path, chats: dict[int, dict[Any, Any]]) -> None:
    """A state file exactly as the bot wrote it before: python-telegram-bot's PicklePersistence."""
    from telegram.ext import PersistenceInput, PicklePersistence

    persistence = PicklePersistence(
        path,
        store_data=PersistenceInput(
            bot_data=False, chat_data=True, user_data=False, callback_data=False
        ),
        on_flush=True,
    )
    await persistence.get_chat_data()
    for chat_id, data in chats.items():
        await persistence.update_chat_data(chat_id, data)
    await persistence.flush()


async def test_an_old_pickle_is_migrated_once_into_an_empty_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    legacy = tmp_path / "data" / "bot-state.pickle"
    legacy.parent.mkdir(parents=True)
    await write_legacy_pickle(legacy, {1001: HANDLER_STATE, -100500: {"greeted": True}})
    store = store_at(tmp_path, legacy_path=legacy)
    with caplog.at_level(logging.INFO, logger="bot.chat_state"):
        loaded = await store.load()
    assert loaded == {1001: HANDLER_STATE, -100500: {"greeted": True}}
    assert shape(loaded[1001]) == shape(HANDLER_STATE)
    assert "2 chats migrated from the old state file" in caplog.text
    assert not legacy.exists()
    assert legacy.with_name("bot-state.pickle.migrated").exists()
    assert await store_at(tmp_path, legacy_path=legacy).load() == loaded  # from SQLite now
    assert len(rows(store.path)) == 2


async def test_a_truncated_pickle_is_set_aside_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    legacy = tmp_path / "data" / "bot-state.pickle"
    legacy.parent.mkdir(parents=True)
    await write_legacy_pickle(legacy, {1001: HANDLER_STATE})
    legacy.write_bytes(legacy.read_bytes()[:40])  # killed in the middle of a save
    store = store_at(tmp_path, legacy_path=legacy)
    with caplog.at_level(logging.WARNING, logger="bot.chat_state"):
        assert await store.load() == {}
    assert f"old state file {legacy} is not a readable state file" in caplog.text
    assert "renamed to bot-state.pickle.unreadable; starting without it" in caplog.text
    assert not legacy.exists()
    assert legacy.with_name("bot-state.pickle.unreadable").exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "Ran out of input"),
        (b"garbage", "not a readable state file"),
        (pickle.dumps([1, 2]), "no chat_data"),
        (pickle.dumps({"chat_data": {1: Path("x")}}), "refusing to load pathlib"),
    ],
)
def test_read_legacy_refuses_what_is_not_plain_chat_data(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "state.pickle"
    path.write_bytes(content)
    with pytest.raises(ChatStateError, match=reason):
        read_legacy_chat_data(path)


async def test_an_old_pickle_is_left_alone_when_the_database_has_state(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = store_at(tmp_path)
    await store.load()
    store.stage(1, {"article_id": "sqlite"})
    await store.save()
    legacy = tmp_path / "data" / "bot-state.pickle"
    await write_legacy_pickle(legacy, {1: {"article_id": "pickle"}})
    with caplog.at_level(logging.WARNING, logger="bot.chat_state"):
        loaded = await store_at(tmp_path, legacy_path=legacy).load()
    assert loaded == {1: {"article_id": "sqlite"}}
    assert f"old state file {legacy} ignored" in caplog.text
    assert legacy.exists()


async def test_an_old_pickle_waits_while_the_database_is_unreadable(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(b"not a database" * 100)
    legacy = tmp_path / "data" / "bot-state.pickle"
    await write_legacy_pickle(legacy, {1: {"article_id": "pickle"}})
    assert await store_at(tmp_path, legacy_path=legacy).load() == {}
    assert legacy.exists()  # migrated once the database can be read


# -- the python-telegram-bot adapter -----------------------------------------------------


async def test_the_persistence_stores_chat_data_only(tmp_path: Path) -> None:
    persistence = ChatStatePersistence(store_at(tmp_path), update_interval=5)
    assert persistence.update_interval == 5
    assert persistence.store_data.chat_data
    assert not (persistence.store_data.bot_data or persistence.store_data.user_data)
    assert not persistence.store_data.callback_data
    assert await persistence.get_chat_data() == {}
    assert await persistence.get_user_data() == {}
    assert await persistence.get_bot_data() == {}
    assert await persistence.get_callback_data() is None
    assert await persistence.get_conversations("any") == {}
    await persistence.update_chat_data(1, ChatState.from_dict(HANDLER_STATE))
    await persistence.update_chat_data(2, ChatState.from_dict({"greeted": True}))
    await persistence.drop_chat_data(2)
    await persistence.update_bot_data({"ignored": True})
    await persistence.update_user_data(1, {"ignored": True})
    await persistence.flush()
    again = ChatStatePersistence(store_at(tmp_path))
    assert {k: v.to_dict() for k, v in (await again.get_chat_data()).items()} == {1: HANDLER_STATE}
    assert await store_at(tmp_path).load() == {1: HANDLER_STATE}  # stored as the plain dict


async def test_kept_updates_come_back_once_in_order(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    assert await store.take_updates() == []
    assert await store.keep_updates({12: '{"update_id": 12}', 11: '{"update_id": 11}'})
    assert await store.take_updates() == ['{"update_id": 11}', '{"update_id": 12}']
    assert await store.take_updates() == []  # taken means gone


async def test_updates_that_cannot_be_kept_are_named_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = store_at(tmp_path)
    store.path.parent.mkdir(parents=True)
    store.path.mkdir()  # a directory where the database should be
    with caplog.at_level(logging.WARNING, logger="bot.chat_state"):
        assert await store.keep_updates({7: "{}", 8: "{}"}) is False
        assert await store.take_updates() == []
    messages = [r.getMessage() for r in caplog.records]
    assert any("2 updates not kept" in m and m.endswith("7, 8") for m in messages)
