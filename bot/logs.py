"""Log lines as JSON (LOG_FORMAT=json): one object a line, for a log shipper to search.

Each line has `time` (UTC, ISO 8601 with milliseconds), `level`, `logger` and `message`;
a line written while an update is handled also has `update_id` and `chat`, the chat id as
the query log stores it (docs/privacy.md): a private chat's id, which is the reader's,
through QUERY_LOG_USERS (a keyed hash by default, left out with `off`), a group's as it is.
`duration_ms` comes with the lines that report one (the end of each update, at DEBUG),
`exception` and `stack` when there are. The plain format (the default) is unchanged.

The token never shows: `RedactToken` (bot/app.py) rewrites each record before a formatter
sees it, and `JsonFormatter` redacts its finished line once more.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.querylog import QueryLog

# A chat id -> how the log names it (None: not at all).
ChatRefs = Callable[[int], str | None]


@dataclass(frozen=True, slots=True)
class UpdateScope:
    """The update being handled in this task (and the tasks it starts)."""

    update_id: int
    chat_id: int | None


CURRENT_UPDATE: ContextVar[UpdateScope | None] = ContextVar("digest_bot_update", default=None)
# Set by the application once its query log is open (bot/monitoring.py); until then, and
# without it, lines name no chat.
_chat_refs: ChatRefs | None = None


@contextlib.contextmanager
def in_update(update_id: int, chat_id: int | None) -> Iterator[None]:
    """Lines logged inside (in this task and the tasks it starts) carry the update's ids."""
    token = CURRENT_UPDATE.set(UpdateScope(update_id, chat_id))
    try:
        yield
    finally:
        CURRENT_UPDATE.reset(token)


def use_chat_refs(refs: ChatRefs | None) -> None:
    """How lines name chats from now on (None: they do not)."""
    global _chat_refs
    _chat_refs = refs


def query_log_chat_refs(log: QueryLog) -> ChatRefs:
    """Chat ids as the query log stores them: a private chat's (positive, the reader's id)
    through the reader-id setting, a group's (negative) as it is."""

    def ref(chat_id: int) -> str | None:
        return log.user_ref(chat_id) if chat_id > 0 else str(chat_id)

    return ref


def chat_ref(chat_id: int | None) -> str | None:
    """The chat as log lines name it, or None (unknown, not set up, or the hash key is not
    loaded yet). Never raises: a log line must not fail."""
    refs = _chat_refs
    if chat_id is None or refs is None:
        return None
    try:
        return refs(chat_id)
    except Exception:  # e.g. the query log's hash key is not loaded: name no chat
        return None


class JsonFormatter(logging.Formatter):
    """One JSON object a line (see the module docstring); `token` is redacted from it."""

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.token = token or ""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        scope = CURRENT_UPDATE.get()
        update_id = getattr(record, "update_id", None)
        if update_id is None and scope is not None:
            update_id = scope.update_id
        if update_id is not None:
            entry["update_id"] = update_id
        chat = chat_ref(scope.chat_id) if scope is not None else None
        if chat is not None:
            entry["chat"] = chat
        duration = getattr(record, "duration_ms", None)
        if isinstance(duration, int | float):
            entry["duration_ms"] = round(float(duration), 3)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        line = json.dumps(entry, ensure_ascii=False, default=str)
        if self.token and self.token in line:
            line = line.replace(self.token, "***")
        return line


def use_json_lines(token: str | None = None, logger: logging.Logger | None = None) -> None:
    """Format every handler of `logger` (the root logger) as JSON lines."""
    target = logger or logging.getLogger()
    if not target.handlers:
        logging.basicConfig()
    for handler in target.handlers:
        handler.setFormatter(JsonFormatter(token))
    logging.captureWarnings(True)  # a library's warning is a JSON line too, not loose text
