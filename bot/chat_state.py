"""Per-chat state kept across restarts, in the bot's SQLite database (`DATABASE_PATH`).

The Telegram application keeps a `ChatState` per chat (bot/state.py: its current article,
which answer belongs to which question), handed over as a small dict; this module stores
it: one row per chat, the dict as JSON with
an explicit encoding (int keys and tuples come back as they went in), every save of the
changed chats in one transaction. Nothing is ever rewritten in place, so a kill at any
moment leaves either the old rows or the new ones.

Nothing here may stop a start or fail a reply: a row that cannot be read is moved to
`chat_state_rejected` with a warning; a database that cannot be opened or read gives an
empty state and a warning; a failed save keeps the changed chats in memory for the next
one. The old state file (a python-telegram-bot pickle at `PERSISTENCE_PATH`) is migrated
once into an empty database, or set aside with a warning when it cannot be read.

No Telegram import: `bot/persistence.py` adapts this store to python-telegram-bot.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import math
import os
import pickle
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

logger = logging.getLogger(__name__)

# The row format: each row's JSON is {"format": FORMAT, "data": <encoded dict>}. A new
# encoding gets a new number, and rows of an unknown one are set aside, not misread.
FORMAT = 1
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS chat_state (
        chat_id INTEGER PRIMARY KEY, data TEXT NOT NULL, updated TEXT NOT NULL)""",
    # Rows that could not be read, kept (not deleted) so that nothing is lost for good.
    """CREATE TABLE IF NOT EXISTS chat_state_rejected (
        chat_id INTEGER, data, updated TEXT, rejected TEXT NOT NULL, reason TEXT NOT NULL)""",
    # Updates a shutdown cut off before they started (Telegram will not send them again):
    # handled at the next start.
    """CREATE TABLE IF NOT EXISTS update_backlog (
        update_id INTEGER PRIMARY KEY, data TEXT NOT NULL, saved TEXT NOT NULL)""",
)
BUSY_TIMEOUT_MS = 5000  # the query log's: a writer holding the file briefly is waited out
WARNING_INTERVAL = 60.0  # seconds between two warnings about the same failing save
MIGRATED_SUFFIX = ".migrated"
UNREADABLE_SUFFIX = ".unreadable"

# The encoding: JSON scalars stand for themselves; every JSON object is a one-key tag.
LIST, TUPLE, DICT = "list", "tuple", "dict"
# Types JSON writes and reads back as themselves (float apart: NaN and infinities are not).
_SAME_IN_JSON = frozenset({str, int, bool, type(None)})


class ChatStateError(ValueError):
    """A value or a row that the encoding cannot represent or read."""


# -- the encoding --------------------------------------------------------------------------


def encode(value: object) -> Any:
    """`value` as JSON-ready data that `decode` turns back into an equal value of the same types.

    Supported: None, bool, int, finite float, str, and lists, tuples and dicts of those
    (dict keys of any supported hashable type, insertion order kept). JSON alone would turn
    int keys into strings and tuples into lists, so containers are tagged: a list is
    {"list": [...]}, a tuple {"tuple": [...]}, a dict {"dict": [[key, value], ...]}.
    """
    kind = type(value)
    if kind in _SAME_IN_JSON:  # the common case first: a chat holds hundreds of these
        return value
    if kind is dict:
        return {DICT: [[encode(key), encode(item)] for key, item in value.items()]}  # type: ignore[attr-defined]
    if kind is tuple:
        return {TUPLE: [encode(item) for item in value]}  # type: ignore[attr-defined]
    if kind is list:
        return {LIST: [encode(item) for item in value]}  # type: ignore[attr-defined]
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ChatStateError(f"cannot store the float {value!r}")
        return float(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, str)):  # an IntEnum or a str enum: stored as its plain value
        return int(value) if isinstance(value, int) else str.__str__(value)
    raise ChatStateError(f"cannot store a {type(value).__name__}")


def decode(data: Any) -> Any:
    """The value `encode` made `data` from; ChatStateError when `data` is not such an encoding."""
    if type(data) in _SAME_IN_JSON or type(data) is float:
        return data
    if type(data) is dict and len(data) == 1:
        ((tag, items),) = data.items()
        if type(items) is list:
            if tag == DICT:
                return _decode_dict(items)
            if tag == TUPLE:
                return tuple([decode(item) for item in items])
            if tag == LIST:
                return [decode(item) for item in items]
    raise ChatStateError(f"not an encoded value: {_excerpt(data)}")


def _decode_dict(pairs: list[Any]) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for pair in pairs:
        if type(pair) is not list or len(pair) != 2:
            raise ChatStateError(f"not a [key, value] pair: {_excerpt(pair)}")
        key, value = pair
        try:
            result[decode(key)] = decode(value)
        except TypeError as error:  # an unhashable key (a list)
            raise ChatStateError(f"bad dict key {_excerpt(key)}: {error}") from None
    return result


def dumps_chat(data: Mapping[Any, Any]) -> str:
    """One chat's dict as the row's JSON text (ChatStateError if something cannot be stored)."""
    try:
        return json.dumps(
            {"format": FORMAT, "data": encode(dict(data))},
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
        )
    except RecursionError:
        raise ChatStateError("nested too deeply") from None


def loads_chat(text: str | bytes) -> dict[Any, Any]:
    """The dict a row's JSON text holds (ChatStateError if the row cannot be read)."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        envelope = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ChatStateError(f"not JSON: {type(error).__name__}: {error}") from None
    if not isinstance(envelope, dict) or "format" not in envelope or "data" not in envelope:
        raise ChatStateError(f"not a chat state row: {_excerpt(envelope)}")
    if envelope["format"] != FORMAT:
        raise ChatStateError(f"format {envelope['format']!r}, this bot reads format {FORMAT}")
    try:
        data = decode(envelope["data"])
    except RecursionError:
        raise ChatStateError("nested too deeply") from None
    if not isinstance(data, dict):
        raise ChatStateError(f"the state is a {type(data).__name__}, not a dict")
    return data


def _excerpt(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the old pickle file -------------------------------------------------------------------


class _PlainUnpickler(pickle.Unpickler):
    """Reads only plain data: the old file needs nothing else, and nothing else is trusted.

    python-telegram-bot's pickler stores the Bot as a persistent id; it is read as None.
    """

    ALLOWED: ClassVar = {("collections", "defaultdict"), ("collections", "OrderedDict")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")

    def persistent_load(self, pid: Any) -> None:
        return None


def read_legacy_chat_data(path: Path) -> dict[int, dict[Any, Any]]:
    """The chat_data of a PicklePersistence single file (ChatStateError when unreadable)."""
    try:
        with path.open("rb") as file:
            content = _PlainUnpickler(file).load()
    except (OSError, EOFError, pickle.UnpicklingError) as error:
        reason = str(error) or type(error).__name__
        raise ChatStateError(f"not a readable state file ({reason})") from None
    except Exception as error:  # a damaged pickle raises almost anything
        raise ChatStateError(
            f"not a readable state file ({type(error).__name__}: {error})"
        ) from None
    chats = content.get("chat_data") if isinstance(content, dict) else None
    if not isinstance(chats, dict):
        raise ChatStateError("no chat_data in it (not a python-telegram-bot state file)")
    return {
        int(chat_id): dict(data)
        for chat_id, data in chats.items()
        if isinstance(chat_id, int) and isinstance(data, dict)
    }


def set_aside(path: Path, suffix: str) -> Path | None:
    """Rename `path` to `<name><suffix>` (replacing an older one); None if that failed."""
    target = path.with_name(path.name + suffix)
    try:
        os.replace(path, target)
    except OSError as error:
        logger.warning("chat state: could not rename %s to %s: %s", path, target.name, error)
        return None
    return target


# -- the store -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejected:
    """A stored row that could not be read: which chat and why."""

    chat_id: object
    reason: str


@dataclass
class Loaded:
    """What `load` found: every readable chat, the rows set aside, and whether it could read."""

    chats: dict[int, dict[Any, Any]] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    ok: bool = True  # False: the database could not be read, `chats` may be incomplete
    error: str = ""
    rows: int = 0  # rows found in chat_state, readable or not


def utc_stamp() -> str:
    """Now as stored in `updated`: UTC ISO-8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class ChatStateStore:
    """The chat_state table: `load` once at start, `stage` changes, `save` them in one go.

    Every database access runs in a worker thread (never on the event loop) on its own
    short-lived connection, so a file removed or replaced under the bot is simply opened
    anew at the next save.
    """

    path: Path
    legacy_path: Path | None = None  # the old pickle file to migrate (PERSISTENCE_PATH)
    busy_timeout_ms: int = BUSY_TIMEOUT_MS
    monotonic: Callable[[], float] = time.monotonic
    # Chat id -> its new state, or None for "delete the row": waiting for the next save.
    _pending: dict[int, Mapping[Any, Any] | None] = field(
        default_factory=dict, init=False, repr=False
    )
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    _failing_since: float | None = field(default=None, init=False, repr=False)
    _last_warning: float | None = field(default=None, init=False, repr=False)
    _failures: int = field(default=0, init=False, repr=False)

    # -- loading -----------------------------------------------------------------------

    async def load(self) -> dict[int, dict[Any, Any]]:
        """Every chat's state (empty when unreadable), the old file migrated; never raises."""
        loaded = await asyncio.to_thread(self._read_all)
        if not loaded.ok:
            logger.warning(
                "chat state: cannot read %s (%s); starting with %d chats' state, saves "
                "will keep trying",
                self.path, loaded.error, len(loaded.chats),
            )  # fmt: skip
        if self.legacy_path is not None and self.legacy_path.exists():
            await self._migrate_legacy(loaded)
        logger.info("chat state: %d chats loaded from %s", len(loaded.chats), self.path)
        return loaded.chats

    def _read_all(self) -> Loaded:
        """Read every row (in a worker thread), setting aside those that cannot be read."""
        loaded = Loaded()
        rows: list[tuple[Any, Any, Any]] = []
        try:
            with self._connection() as db:
                db.text_factory = bytes  # a row of broken UTF-8 must not fail the whole read
                # Row by row: a damaged page further on still leaves the rows before it.
                for row in db.execute("SELECT chat_id, data, updated FROM chat_state"):
                    rows.append(row)
                loaded.rows = len(rows)
                for chat_id, data, updated in rows:
                    reason = _decode_row(loaded, chat_id, data)
                    if reason is not None:
                        self._set_row_aside(db, chat_id, data, updated, reason)
        except (sqlite3.Error, OSError) as error:
            loaded.ok, loaded.error = False, f"{type(error).__name__}: {error}"
            if not loaded.rows:  # the read itself failed: keep the rows read before it
                loaded.rows = len(rows)
                for chat_id, data, _updated in rows:
                    _decode_row(loaded, chat_id, data)
        return loaded

    def _set_row_aside(
        self, db: sqlite3.Connection, chat_id: object, data: object, updated: object, reason: str
    ) -> None:
        """Move one unreadable row to chat_state_rejected (one transaction), with a warning."""
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT INTO chat_state_rejected (chat_id, data, updated, rejected, reason) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (chat_id, _as_stored(data), _text(updated), utc_stamp(), reason),
                )
                db.execute("DELETE FROM chat_state WHERE chat_id = ?", (chat_id,))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            where = "moved to chat_state_rejected"
        except sqlite3.Error as error:
            where = f"left in place, could not move it: {error}"
        logger.warning(
            "chat state: the row of chat %s cannot be read (%s); %s; that chat starts afresh",
            chat_id, reason, where,
        )  # fmt: skip

    async def _migrate_legacy(self, loaded: Loaded) -> None:
        """Bring the old pickle's chats into an empty database once, or set it aside."""
        legacy = self.legacy_path
        assert legacy is not None
        if not loaded.ok:
            logger.warning(
                "chat state: old state file %s left as it is until %s can be read",
                legacy, self.path,
            )  # fmt: skip
            return
        if loaded.rows:
            logger.warning(
                "chat state: old state file %s ignored: %s already holds chat state "
                "(delete or rename the old file to silence this)",
                legacy, self.path,
            )  # fmt: skip
            return
        try:
            chats = await asyncio.to_thread(read_legacy_chat_data, legacy)
        except ChatStateError as error:
            moved = await asyncio.to_thread(set_aside, legacy, UNREADABLE_SUFFIX)
            logger.warning(
                "chat state: old state file %s is %s; %s; starting without it",
                legacy, error,
                f"renamed to {moved.name}" if moved else "left in place",
            )  # fmt: skip
            return
        for chat_id, data in chats.items():
            # A copy: the application gets `chats` and changes them while a retried save
            # may still be encoding the staged state in its thread.
            self.stage(chat_id, copy.deepcopy(data))
        if await self.save():
            moved = await asyncio.to_thread(set_aside, legacy, MIGRATED_SUFFIX)
            renamed = f"; it was renamed to {moved.name}" if moved else ""
            logger.warning(
                "chat state: %d chats migrated from the old state file %s into %s%s",
                len(chats), legacy, self.path, renamed,
            )  # fmt: skip
        loaded.chats.update(chats)  # served now; a failed save retries with the next one

    # -- saving ------------------------------------------------------------------------

    def stage(self, chat_id: int, data: Mapping[Any, Any]) -> None:
        """Remember a chat's new state for the next save.

        `data` must not change afterwards (python-telegram-bot hands over a deep copy): it is
        encoded by the save, in its worker thread, because a full chat takes ~0.5 ms and a
        save may carry hundreds of them.
        """
        self._pending[chat_id] = data

    def stage_drop(self, chat_id: int) -> None:
        """Remember that a chat's row goes at the next save (a group that migrated)."""
        self._pending[chat_id] = None

    @property
    def pending(self) -> int:
        """Chats changed since the last successful save."""
        return len(self._pending)

    async def save(self) -> bool:
        """Write every staged chat in one transaction; False (and kept for later) on failure."""
        async with self._lock:  # the periodic job and the shutdown may overlap
            batch = dict(self._pending)
            if not batch:
                return True
            try:
                await asyncio.to_thread(self._write, batch)
            except Exception as error:  # whatever it is, a save must not fail a reply or a stop
                self._save_failed(error, len(batch))
                return False
            for chat_id, data in batch.items():
                # A chat staged again while the batch was written keeps its newer state.
                if chat_id in self._pending and self._pending[chat_id] is data:
                    del self._pending[chat_id]
            self._save_recovered()
            return True

    def _write(self, batch: Mapping[int, Mapping[Any, Any] | None]) -> None:
        """One transaction: upsert the changed chats, delete the dropped ones.

        A chat holding what cannot be stored keeps its previous row, with a warning.
        """
        updated = utc_stamp()
        upserts: list[tuple[int, str, str]] = []
        deletes: list[tuple[int]] = []
        for chat_id, data in batch.items():
            if data is None:
                deletes.append((chat_id,))
                continue
            try:
                upserts.append((chat_id, dumps_chat(data), updated))
            except ChatStateError as error:
                logger.warning(
                    "chat state: chat %s not saved, it holds what cannot be stored: %s",
                    chat_id, error,
                )  # fmt: skip
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT INTO chat_state (chat_id, data, updated) VALUES (?, ?, ?) "
                    "ON CONFLICT (chat_id) DO UPDATE "
                    "SET data = excluded.data, updated = excluded.updated",
                    upserts,
                )
                db.executemany("DELETE FROM chat_state WHERE chat_id = ?", deletes)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def _save_failed(self, error: BaseException, chats: int) -> None:
        """Warn on the first failure, then at most once a minute."""
        moment = self.monotonic()
        self._failures += 1
        if self._failing_since is None:
            self._failing_since = moment
        if self._last_warning is None or moment - self._last_warning >= WARNING_INTERVAL:
            self._last_warning = moment
            logger.warning(
                "chat state: cannot save %d chats to %s (%s: %s); replies go on, the state "
                "stays in memory until a save succeeds",
                chats, self.path, type(error).__name__, error,
            )  # fmt: skip

    def _save_recovered(self) -> None:
        if self._failing_since is not None:
            logger.warning(
                "chat state: %s is writable again after %d failed saves", self.path, self._failures
            )
        self._failing_since, self._last_warning, self._failures = None, None, 0

    # -- the update backlog ------------------------------------------------------------

    async def keep_updates(self, updates: Mapping[int, str]) -> bool:
        """Store updates (update id -> JSON) for the next start; False, with a warning
        naming them, when the database cannot take them."""
        if not updates:
            return True
        try:
            await asyncio.to_thread(self._write_backlog, updates)
        except Exception as error:
            logger.warning(
                "update backlog: %d updates not kept (%s: %s): %s",
                len(updates), type(error).__name__, error, ", ".join(map(str, updates)),
            )  # fmt: skip
            return False
        return True

    async def take_updates(self) -> list[str]:
        """The kept updates' JSON, oldest first, deleted in the same transaction; [] (with a
        warning) when the database cannot be read."""
        try:
            return await asyncio.to_thread(self._take_backlog)
        except Exception as error:
            logger.warning("update backlog: cannot read %s (%s)", self.path, error)
            return []

    def _write_backlog(self, updates: Mapping[int, str]) -> None:
        saved = utc_stamp()
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT OR REPLACE INTO update_backlog (update_id, data, saved) "
                    "VALUES (?, ?, ?)",
                    [(update_id, data, saved) for update_id, data in updates.items()],
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def _take_backlog(self) -> list[str]:
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                rows = db.execute("SELECT data FROM update_backlog ORDER BY update_id").fetchall()
                db.execute("DELETE FROM update_backlog")
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return [str(row[0]) for row in rows]

    # -- the connection ----------------------------------------------------------------

    def _connection(self) -> _Connection:
        return _Connection(self.path, self.busy_timeout_ms)


class _Connection:
    """A short-lived sqlite3 connection: WAL, busy timeout, the tables made if missing."""

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self.db: sqlite3.Connection | None = None

    def __enter__(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE, or `with db`).
        db = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            db.execute("PRAGMA journal_mode = WAL")  # as the query log: readers never block
            db.execute("PRAGMA synchronous = NORMAL")
            for statement in SCHEMA:
                db.execute(statement)
        except BaseException:
            db.close()
            raise
        self.db = db
        return db

    def __exit__(self, *exc_info: object) -> None:
        if self.db is not None:
            self.db.close()


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return None if value is None else str(value)


def _as_stored(data: object) -> object:
    """A rejected row's data kept as text when it is UTF-8, else as the bytes it was."""
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data
    return data


def _decode_row(loaded: Loaded, chat_id: object, data: object) -> str | None:
    """Add a stored row's chat to `loaded`; the reason (also recorded) when it cannot be read."""
    try:
        if not isinstance(chat_id, int):
            raise ChatStateError(f"chat id {chat_id!r} is not an integer")
        if not isinstance(data, (str, bytes)):
            raise ChatStateError(f"the data is a {type(data).__name__}, not text")
        loaded.chats[chat_id] = loads_chat(data)
    except ChatStateError as error:
        loaded.rejected.append(Rejected(chat_id, str(error)))
        return str(error)
    return None
