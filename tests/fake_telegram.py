"""A fake Telegram Bot API server for end-to-end tests, as strict as Telegram (stdlib only).

`FakeTelegram` listens on 127.0.0.1 (a free port) in a background thread, so sync tests,
pytest-asyncio tests and a bot running as a subprocess can all talk to it at once::

    with FakeTelegram() as fake:
        env = {"TELEGRAM_BASE_URL": fake.base_url, "TELEGRAM_BASE_FILE_URL": fake.base_file_url,
               "TELEGRAM_BOT_TOKEN": fake.token}
        ...  # start the bot
        fake.private_message(42, "/start")
        call = fake.wait_for_call("sendMessage", chat_id=42)
        assert "Welcome" in call.params["text"]

It speaks the wire format python-telegram-bot 22 uses: ``POST /bot<TOKEN>/<method>`` with an
``application/x-www-form-urlencoded`` body whose non-string values are JSON-encoded, or
``multipart/form-data`` when a file is uploaded (GET with a query string and JSON bodies work
too). It answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
"description": "..."}`` with the HTTP status Telegram uses, so PTB raises its real exceptions.

Every call is recorded (`calls`, `calls_to`, `wait_for`, `wait_for_call`); updates are injected
with realistic JSON (`private_message`, `group_message`, `callback_query`, ...) and served by
``getUpdates`` long polling. The fake keeps the state Telegram keeps: the chats the bot knows,
the messages in them (so edits and replies work), callback and inline query ids, files,
command menus, the webhook, and which update ids the bot has confirmed.

Telegram's flood limits are enforced when asked (``FakeTelegram(rate_limits=True)`` or a
`RateLimits`; see `RateLimits` for the model): a message over a limit is answered 429 with
``parameters.retry_after``, and every accepted message's time is recorded per chat
(`sent_times`, `limit_breaches`). `flood_storm(seconds)` answers 429 to every request but
getUpdates for a while, as Telegram does to a bot it throttles.

Strict where Telegram is strict (see the error texts below); simplified where the difference
cannot matter to a bot: message `entities` are not computed from HTML (the visible text is),
Markdown parse modes are not validated, and nothing is ever sent to a webhook URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email.message
import itertools
import json
import logging
import math
import re
import socket
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.telegram_html import TelegramHtmlError, parse_telegram_html, utf16_length

__all__ = ["ApiError", "Call", "FakeTelegram", "RateLimits", "StoredFile", "UploadedFile"]

logger = logging.getLogger(__name__)

JSON = dict[str, Any]

MAX_MESSAGE_LENGTH = 4096  # UTF-16 code units, after entity parsing
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_BOT_COMMANDS = 100
MAX_INLINE_RESULTS = 50
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024  # getFile refuses bigger files
MAX_UPLOAD_SIZE = 50 * 1024 * 1024

# Update types delivered when allowed_updates is unset or empty.
NOT_DELIVERED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CHAT_ACTIONS = frozenset(
    "typing upload_photo record_video upload_video record_voice upload_voice "
    "upload_document choose_sticker find_location record_video_note upload_video_note".split()
)
SCOPE_TYPES = frozenset(
    "default all_private_chats all_group_chats all_chat_administrators chat "
    "chat_administrators chat_member".split()
)
BUTTON_ACTIONS = tuple(
    "url callback_data web_app login_url switch_inline_query "
    "switch_inline_query_current_chat switch_inline_query_chosen_chat copy_text "
    "callback_game pay".split()
)
SERVICE_MESSAGE_KEYS = frozenset(
    "new_chat_members left_chat_member new_chat_title group_chat_created "
    "supergroup_chat_created migrate_to_chat_id migrate_from_chat_id pinned_message".split()
)
# Parameters that are strings in the Bot API: a form value for them is never JSON-decoded
# (the text "42" stays "42"). Every other form value is JSON-decoded when it parses.
STRING_PARAMS = frozenset(
    "text caption parse_mode callback_query_id inline_query_id inline_message_id action "
    "url language_code file_id secret_token ip_address next_offset business_connection_id "
    "message_effect_id photo document thumbnail emoji title description short_description "
    "name custom_title question".split()
)
MAX_CALLBACK_ANSWER_LENGTH = 200  # characters of answerCallbackQuery's text
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)

# The methods that send a message to a chat: what Telegram's flood limits count.
SENDING_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument"})
# Never flood-limited: long polling and the bot's own set-up.
NEVER_LIMITED = frozenset({"getupdates", "getme", "setwebhook", "deletewebhook", "getwebhookinfo"})

_COMMAND_RE = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_MENTION_RE = re.compile(r"(?<![\w/@])@[A-Za-z0-9_]{3,32}(?![\w@])")
_API_PATH_RE = re.compile(r"^/bot([^/]*)/([^/]*)$")
_FILE_PATH_RE = re.compile(r"^/file/bot([^/]*)/(.+)$")
_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")
_BUTTON_URL_RE = re.compile(r"(?:https?|tg)://\S+", re.IGNORECASE)
_WEBHOOK_URL_RE = re.compile(r"https://[^/:\s]+(?::(\d+))?(?:/\S*)?", re.IGNORECASE)


class ApiError(Exception):
    """A Bot API error answer: raised inside the fake, turned into ``{"ok": false, ...}``."""

    def __init__(
        self, error_code: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = dict(parameters) if parameters else None

    def payload(self) -> JSON:
        """The JSON body Telegram answers with."""
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    """A 400 whose description is ``Bad Request: <reason>``."""
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class Call:
    """One recorded request to the Bot API, with the answer the fake gave."""

    index: int  # position in `FakeTelegram.calls`
    method: str  # canonical name ("sendMessage"); as sent when the method is unknown
    params: JSON  # parsed: JSON-encoded form values decoded, string parameters kept as text
    files: dict[str, UploadedFile]  # multipart file parts, by field name
    raw_params: dict[str, str]  # the form/query values exactly as sent
    http_method: str
    token: str
    status: int  # HTTP status of the answer (200, 400, 401, 404, 409, 429, ...)
    response: JSON  # the JSON answer
    started: float  # time.monotonic() when the request arrived
    time: float  # time.monotonic() when it was answered (calls are recorded in this order)

    @property
    def ok(self) -> bool:
        """Whether the fake answered ``"ok": true``."""
        return bool(self.response.get("ok"))

    @property
    def result(self) -> Any:
        """The ``result`` of a successful call (a message dict for sendMessage), else None."""
        return self.response.get("result")

    @property
    def description(self) -> str | None:
        """The error description of a failed call."""
        return self.response.get("description")


@dataclass
class StoredFile:
    """A file the fake can serve: registered by a test or uploaded by the bot."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int = 0
    width: int | None = None  # set for images
    height: int | None = None


@dataclass(frozen=True)
class RateLimits:
    """Telegram's flood limits as the fake enforces them (its Bot FAQ: "avoid sending more
    than one message per second" in a chat, "short bursts that go over this limit" allowed
    before 429s begin; "no more than 20 messages per minute" in a group; "not more than
    about 30 messages per second" for bulk notifications). The model:

    - **per chat** (any chat): a token bucket of `chat_burst` messages refilled at
      `chat_per_second` (1/s): a few messages at once, then one a second;
    - **per group, supergroup or channel**: at most `group_per_minute` (20) accepted in any
      `group_window` (60) seconds, no burst beyond;
    - **per bot**: at most `bot_per_second` (30) accepted in any second, across all chats.

    Only accepted messages (sendMessage, sendPhoto, sendDocument that succeed) count, at the
    time their request arrives. A message over any limit is refused with 429 ``Too Many
    Requests: retry after N`` and ``parameters.retry_after`` N: the whole seconds (at least
    1) until that message would be accepted, so a client that waits N seconds and sends
    again gets through (unless it sent something else meanwhile).
    """

    chat_per_second: float = 1.0
    chat_burst: float = 3.0
    group_per_minute: int = 20
    group_window: float = 60.0
    bot_per_second: int = 30
    bot_window: float = 1.0


@dataclass
class _Bucket:
    tokens: float
    updated: float


class _Limiter:
    """Enforces a `RateLimits` and records every accepted message (under the fake's lock)."""

    def __init__(self, limits: RateLimits | None) -> None:
        self.limits = limits  # None: only recorded, never refused
        self.sends: dict[int, list[float]] = {}  # chat id -> arrival times of accepted ones
        self.groups: set[int] = set()
        self._buckets: dict[int, _Bucket] = {}
        self._group_recent: dict[int, deque[float]] = {}
        self._bot_recent: deque[float] = deque()
        self.refused: dict[str, int] = {"chat": 0, "group": 0, "bot": 0, "storm": 0}

    def wait(self, chat_id: int, group: bool, now: float) -> tuple[float, str]:
        """Seconds until a message to the chat keeps every limit (0: now), and which limit."""
        limits = self.limits
        if limits is None:
            return 0.0, ""
        waits: list[tuple[float, str]] = []
        bucket = self._buckets.get(chat_id)
        if bucket is not None:
            tokens = min(
                limits.chat_burst, bucket.tokens + (now - bucket.updated) * limits.chat_per_second
            )
            if tokens < 1.0:
                waits.append(((1.0 - tokens) / limits.chat_per_second, "chat"))
        if group:
            recent = self._group_recent.get(chat_id, deque())
            while recent and recent[0] <= now - limits.group_window:
                recent.popleft()
            if len(recent) >= limits.group_per_minute:
                oldest = recent[len(recent) - limits.group_per_minute]
                waits.append((oldest + limits.group_window - now, "group"))
        while self._bot_recent and self._bot_recent[0] <= now - limits.bot_window:
            self._bot_recent.popleft()
        if len(self._bot_recent) >= limits.bot_per_second:
            oldest = self._bot_recent[len(self._bot_recent) - limits.bot_per_second]
            waits.append((oldest + limits.bot_window - now, "bot"))
        return max(waits, default=(0.0, ""))

    def accepted(self, chat_id: int, group: bool, now: float) -> None:
        self.sends.setdefault(chat_id, []).append(now)
        if group:
            self.groups.add(chat_id)
        limits = self.limits
        if limits is None:
            return
        bucket = self._buckets.get(chat_id)
        if bucket is None:
            bucket = self._buckets[chat_id] = _Bucket(limits.chat_burst, now)
        bucket.tokens = min(
            limits.chat_burst, bucket.tokens + (now - bucket.updated) * limits.chat_per_second
        )
        bucket.tokens -= 1.0
        bucket.updated = now
        if group:
            self._group_recent.setdefault(chat_id, deque()).append(now)
        self._bot_recent.append(now)


def _breaches(sends: Mapping[int, list[float]], groups: set[int], limits: RateLimits) -> list[str]:
    """Every place the recorded sends exceed `limits` (replayed from scratch)."""
    found: list[str] = []
    for chat_id, times in sends.items():
        tokens, updated = limits.chat_burst, float("-inf")
        for at in times:
            tokens = min(limits.chat_burst, tokens + (at - updated) * limits.chat_per_second)
            updated = at
            if tokens < 1.0 - 1e-9:
                found.append(f"chat {chat_id}: more than 1/s (burst {limits.chat_burst}) at {at}")
                break
            tokens -= 1.0
        if chat_id in groups:
            ordered = sorted(times)
            for index in range(limits.group_per_minute, len(ordered)):
                earlier = ordered[index - limits.group_per_minute]
                if ordered[index] - earlier < limits.group_window:
                    found.append(
                        f"group {chat_id}: more than {limits.group_per_minute} messages within "
                        f"{limits.group_window:g} s at {ordered[index]}"
                    )
                    break
    every = sorted(at for times in sends.values() for at in times)
    for index in range(limits.bot_per_second, len(every)):
        if every[index] - every[index - limits.bot_per_second] < limits.bot_window:
            found.append(
                f"bot: more than {limits.bot_per_second} messages within "
                f"{limits.bot_window:g} s at {every[index]}"
            )
            break
    return found


@dataclass
class _Failure:
    """A failure armed by `FakeTelegram.fail_next`."""

    error: ApiError
    remaining: int


@dataclass
class _InlineMessage:
    """A message sent via inline mode, editable through its inline_message_id."""

    text: str | None
    format_key: str | None
    reply_markup: JSON | None


@dataclass
class _Query:
    """A callback or inline query id and whether the bot has answered it."""

    user_id: int
    answered: bool = False
    results: list[JSON] = field(default_factory=list)


class _Server(ThreadingHTTPServer):
    """The HTTP server; keeps track of open connections so `stop` can close them."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 resets connections when a bot under load opens
    # many at once (concurrent updates, benchmarks); Telegram's servers do not.
    request_queue_size = 256

    def __init__(self, fake: FakeTelegram) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive: hands each request to `FakeTelegram._serve`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each answer waits ~40 ms for a delayed ACK
    server: _Server

    def setup(self) -> None:
        """Track the connection."""
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        """Forget the connection."""
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def do_GET(self) -> None:
        """GET /bot<TOKEN>/<method>?... and file downloads."""
        self._dispatch()

    def do_POST(self) -> None:
        """POST /bot<TOKEN>/<method>."""
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._send(
                400,
                "application/json",
                b'{"ok":false,"error_code":400,"description":"Bad Request: malformed HTTP body"}',
            )
            return
        status, content_type, payload = self.server.fake._serve(
            self.command, self.path, self.headers, body
        )
        self._send(status, content_type, payload)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, content_type: str, payload: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client went away (a long poll it gave up on)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are recorded as `Call`s instead."""
        logger.debug("%s - " + format, self.address_string(), *args)


class FakeTelegram:
    """A strict fake of the Telegram Bot API on 127.0.0.1; see the module docstring."""

    def __init__(
        self,
        token: str | None = None,
        *,
        bot_id: int = 7_000_000_001,
        username: str = "digest_test_bot",
        first_name: str = "Digest Test Bot",
        can_join_groups: bool = True,
        can_read_all_group_messages: bool = False,
        supports_inline_queries: bool = True,
        rate_limits: bool | RateLimits = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Configure the bot's identity (what getMe answers); `start` to listen.

        `rate_limits`: True enforces Telegram's flood limits (`RateLimits()`), or give your
        own; off by default, when sends are only recorded. `clock`: the seconds the limits
        and `flood_storm` are measured in (a test may pass one it moves by hand)."""
        self.token = token or f"{bot_id}:AAFakeTelegramTestToken_0123456789abc"
        self.bot_id = bot_id
        self.username = username
        self.first_name = first_name
        self.can_join_groups = can_join_groups
        self.can_read_all_group_messages = can_read_all_group_messages
        self.supports_inline_queries = supports_inline_queries

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

        self._calls: list[Call] = []
        self._downloads: list[str] = []
        self._failures: dict[str, deque[_Failure]] = {}
        self._slow_chats: dict[int, float] = {}  # chat id -> seconds each request waits
        self.clock = clock
        if rate_limits is True:
            rate_limits = RateLimits()
        self._limiter = _Limiter(rate_limits or None)
        self._storm_until = float("-inf")
        self._updates: deque[JSON] = deque()
        self._update_ids = itertools.count(100_000_001)
        self._allowed_updates: frozenset[str] | None = None  # None: the default set
        self._poll_generation = 0
        self._polling = 0  # getUpdates requests waiting right now
        self._webhook: JSON | None = None

        self._users: dict[int, JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._bot_status: dict[int, str] = {}  # chat id -> the bot's status there
        self._migrated: dict[int, int] = {}  # old group id -> supergroup id
        self._messages: dict[int, dict[int, JSON]] = {}
        self._format_keys: dict[tuple[int, int], str] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._callback_queries: dict[str, _Query] = {}
        self._inline_queries: dict[str, _Query] = {}
        self._inline_messages: dict[str, _InlineMessage] = {}
        self._query_ids = itertools.count(1)
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self._commands: dict[str, list[JSON]] = {}
        self._member_status: dict[tuple[int, int], str] = {}  # (chat, user) -> status

        self._methods: dict[str, tuple[str, Callable[[JSON, dict[str, UploadedFile]], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "answerInlineQuery": self._answer_inline_query,
                "sendChatAction": self._send_chat_action,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "getFile": self._get_file,
                "getChat": self._get_chat,
                "getChatMember": self._get_chat_member,
            }.items()
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeTelegram:
        """Listen on 127.0.0.1 on a free port, in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("FakeTelegram is already running")
        self._stopping = False
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="fake-telegram",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Answer waiting long polls, close every connection, stop listening."""
        server, thread = self._server, self._thread
        if server is None:
            return
        with self._lock:
            self._stopping = True
            self._changed.notify_all()
        server.shutdown()
        with server.connections_lock:
            connections = list(server.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port the fake listens on."""
        if self._server is None:
            raise RuntimeError("FakeTelegram is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """For PTB's ``base_url`` / TELEGRAM_BASE_URL: ``http://127.0.0.1:PORT/bot``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For PTB's ``base_file_url`` / TELEGRAM_BASE_FILE_URL."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def bot_user(self) -> JSON:
        """The bot as a User object (what getMe answers)."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
            "can_join_groups": self.can_join_groups,
            "can_read_all_group_messages": self.can_read_all_group_messages,
            "supports_inline_queries": self.supports_inline_queries,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # ------------------------------------------------------------------ recorded calls

    @property
    def calls(self) -> list[Call]:
        """Every request so far, in the order they were answered."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The calls to one method (case-insensitive, like Telegram)."""
        wanted = method.lower()
        with self._lock:
            return [call for call in self._calls if call.method.lower() == wanted]

    @property
    def downloads(self) -> list[str]:
        """The file paths downloaded from /file/bot<TOKEN>/..., in order."""
        with self._lock:
            return list(self._downloads)

    def mark(self) -> int:
        """The number of calls so far: pass it as ``after=`` to wait only for later calls."""
        with self._lock:
            return len(self._calls)

    def wait_for(
        self, predicate: Callable[[Call], bool], timeout: float = 10.0, *, after: int = 0
    ) -> Call:
        """Block until a call (at index >= `after`) matches; return the first that does.

        Raises TimeoutError, listing the latest calls. Blocking: in async tests use
        `wait_for_async`.
        """
        found: list[Call] = []

        def matched() -> bool:
            call = self._first_match(predicate, after)
            if call is not None:
                found.append(call)
            return call is not None

        self._wait_until(matched, timeout, "a matching call")
        return found[0]

    async def wait_for_async(
        self, predicate: Callable[[Call], bool], timeout: float = 10.0, *, after: int = 0
    ) -> Call:
        """`wait_for` for async tests: does not block the event loop."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                call = self._first_match(predicate, after)
                if call is not None:
                    return call
                if time.monotonic() >= deadline:
                    raise TimeoutError(self._timeout_message("a matching call", timeout))
            await asyncio.sleep(0.005)

    def wait_for_call(
        self, method: str, timeout: float = 10.0, *, after: int = 0, **params: Any
    ) -> Call:
        """Block until a successful call to `method` whose params include `params`."""
        return self.wait_for(self._call_matcher(method, params), timeout, after=after)

    async def wait_for_call_async(
        self, method: str, timeout: float = 10.0, *, after: int = 0, **params: Any
    ) -> Call:
        """`wait_for_call` for async tests."""
        return await self.wait_for_async(self._call_matcher(method, params), timeout, after=after)

    @property
    def polls(self) -> int:
        """How many getUpdates requests have arrived so far (pass it to wait_until_polling
        as `since` to wait for a new poller)."""
        with self._lock:
            return self._poll_generation

    def wait_until_polling(self, timeout: float = 10.0, *, since: int = 0) -> None:
        """Block until a getUpdates long poll is waiting (the bot is up and idle): the
        latest one, and one of those that arrived after the first `since` (`polls`), so a
        bot killed while polling, whose poll still waits, does not count for its successor."""
        self._wait_until(
            lambda: self._polling > 0 and self._poll_generation > since,
            timeout,
            "a waiting getUpdates",
        )

    def wait_until_confirmed(self, timeout: float = 10.0) -> None:
        """Block until the bot has confirmed every injected update (offset past them)."""
        self._wait_until(lambda: not self._updates, timeout, "all updates confirmed")

    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail with this error, as Telegram would.

        A 429 gets ``Too Many Requests: retry after N`` and ``parameters.retry_after`` (N
        defaults to 1), so PTB raises RetryAfter. Other codes get a default description
        ("Bad Request", "Forbidden", "Internal Server Error", ...) unless one is given.
        """
        if error_code == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
        defaults = {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            409: "Conflict",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }
        description = description or defaults.get(error_code, f"Error {error_code}")
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        if method.lower() not in self._methods:
            raise ValueError(f"the fake does not implement {method!r}")
        canonical = self._methods[method.lower()][0]
        with self._lock:
            self._failures.setdefault(canonical.lower(), deque()).append(
                _Failure(ApiError(error_code, description, parameters), times)
            )

    def slow_chat(self, chat_id: int, seconds: float) -> None:
        """Answer every request about `chat_id` `seconds` late (a slow path to one chat;
        0 ends it). Requests about other chats are not held up."""
        with self._lock:
            if seconds:
                self._slow_chats[chat_id] = seconds
            else:
                self._slow_chats.pop(chat_id, None)

    def flood_storm(self, seconds: float) -> None:
        """For `seconds` (on `clock`) answer every request but getUpdates (and getMe, the
        webhook's) with 429 and the seconds left as ``retry_after``, as Telegram does to a
        bot it throttles whatever it sends."""
        with self._lock:
            self._storm_until = self.clock() + seconds

    @property
    def rate_limits(self) -> RateLimits | None:
        """The limits enforced (None: off)."""
        return self._limiter.limits

    def sent_times(self, chat_id: int) -> list[float]:
        """When each message the fake accepted for `chat_id` arrived (on `clock`), in order."""
        with self._lock:
            return list(self._limiter.sends.get(chat_id, []))

    @property
    def sent_counts(self) -> dict[int, int]:
        """Accepted messages per chat."""
        with self._lock:
            return {chat: len(times) for chat, times in self._limiter.sends.items()}

    @property
    def refused_by_limits(self) -> dict[str, int]:
        """429s given so far, by cause: "chat", "group", "bot" (a limit) or "storm"."""
        with self._lock:
            return dict(self._limiter.refused)

    def limit_breaches(self, limits: RateLimits | None = None) -> list[str]:
        """Where the accepted messages exceed `limits` (default: those enforced, else
        `RateLimits()`): one line per chat that broke one, and one if the bot did. Empty
        when every chat kept every limit; whether the fake enforces them or not."""
        with self._lock:
            sends = {chat: list(times) for chat, times in self._limiter.sends.items()}
            groups = set(self._limiter.groups)
        return _breaches(sends, groups, limits or self._limiter.limits or RateLimits())

    # ------------------------------------------------------------------ state

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        started: bool = True,
    ) -> JSON:
        """Register (or update) a user; returns the User object.

        `started`: the user has opened a private chat with the bot (pressed Start), so the
        bot can message them, as after `private_message` (useful when updates reach the bot
        some other way, e.g. a webhook). With False the bot gets 403 "bot can't initiate
        conversation with a user", like a user it only met in a group. Injected updates
        create their users on the fly (without starting a chat, except private messages).
        """
        with self._lock:
            user: JSON = {
                "id": user_id,
                "is_bot": False,
                "first_name": first_name or f"User{user_id}",
            }
            if last_name:
                user["last_name"] = last_name
            user["username"] = username if username is not None else f"user{user_id}"
            if not user["username"]:
                del user["username"]
            if language_code:
                user["language_code"] = language_code
            self._users[user_id] = user
            if started or user_id in self._chats:
                self._chats[user_id] = self._private_chat(user)
            return copy.deepcopy(user)

    def add_group(
        self, chat_id: int, *, title: str | None = None, chat_type: str | None = None
    ) -> JSON:
        """Register a group (or supergroup, or channel with ``chat_type="channel"``) the bot
        is a member of, without an update; returns the Chat (as `group_message` numbers
        them)."""
        with self._lock:
            return self._group(chat_id, title, chat_type)

    def add_file(
        self,
        data: bytes,
        file_name: str,
        mime_type: str | None = None,
        *,
        file_size: int | None = None,
    ) -> str:
        """Register a file the bot can getFile and download; returns its file_id.

        `file_size` overrides the size Telegram reports (e.g. to test the 20 MB getFile limit
        without allocating 20 MB).
        """
        with self._lock:
            stored = self._store_file(data, "documents", file_name, mime_type)
            if file_size is not None:
                stored.file_size = file_size
            return stored.file_id

    def file(self, file_id: str) -> StoredFile:
        """A stored file (registered or uploaded by the bot)."""
        with self._lock:
            return self._files[file_id]

    def messages(self, chat_id: int) -> list[JSON]:
        """The messages in a chat as they are now (after edits), oldest first."""
        with self._lock:
            chat = self._messages.get(chat_id, {})
            return [copy.deepcopy(chat[mid]) for mid in sorted(chat)]

    def bot_messages(self, chat_id: int) -> list[JSON]:
        """The messages the bot sent in a chat, as they are now, oldest first."""
        return [m for m in self.messages(chat_id) if m.get("from", {}).get("id") == self.bot_id]

    def message(self, chat_id: int, message_id: int) -> JSON:
        """One stored message as it is now; KeyError if it does not exist."""
        with self._lock:
            return copy.deepcopy(self._messages[chat_id][message_id])

    def my_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The command menu set for a scope (default scope when None) and language."""
        with self._lock:
            key = self._commands_key(scope or {"type": "default"}, language_code)
            return copy.deepcopy(self._commands.get(key, []))

    @property
    def webhook_url(self) -> str:
        """The webhook URL set by setWebhook ("" when none)."""
        with self._lock:
            return self._webhook["url"] if self._webhook else ""

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates injected and not yet confirmed by the bot."""
        with self._lock:
            return copy.deepcopy(list(self._updates))

    def bot_status(self, chat_id: int) -> str | None:
        """The bot's membership status in a chat ("member", "kicked", ...), None if unknown."""
        with self._lock:
            return self._bot_status.get(chat_id)

    # ------------------------------------------------------------------ update injection

    def inject(self, kind: str, payload: JSON) -> JSON:
        """Queue a raw update ``{"update_id": N, kind: payload}``; returns the update."""
        with self._lock:
            update = {"update_id": next(self._update_ids), kind: copy.deepcopy(payload)}
            self._updates.append(update)
            self._changed.notify_all()
            return copy.deepcopy(update)

    def private_message(
        self,
        user_id: int,
        text: str,
        *,
        reply_to_message: JSON | int | None = None,
        entities: list[JSON] | None = None,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> JSON:
        """A user writes to the bot in private; returns the message (now a known chat).

        Bot commands (``/start``) and @mentions get their entities with UTF-16 offsets.
        """
        with self._lock:
            user = self._user(user_id, first_name, username, language_code)
            chat = self._open_private_chat(user)
            message = self._user_message(chat, user, text, entities, reply_to_message)
            self.inject("message", message)
            return copy.deepcopy(message)

    def group_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        reply_to_message: JSON | int | None = None,
        entities: list[JSON] | None = None,
        title: str | None = None,
        chat_type: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> JSON:
        """A user writes in a group; returns the message.

        The chat is a supergroup when its id is -10**12 or below (-1001234567890, as
        Telegram numbers them), else a basic group, unless `chat_type` says otherwise.

        Delivered only if the bot would see it: with privacy mode on (the default,
        ``can_read_all_group_messages=False``) that is commands not addressed to another
        bot, replies to the bot's messages and service messages, as in Telegram. Check with
        `would_receive`. Raises ValueError if the group was migrated to a supergroup.
        """
        with self._lock:
            user = self._user(user_id, first_name, username, None)
            chat = self._group(chat_id, title, chat_type)
            message = self._user_message(chat, user, text, entities, reply_to_message)
            if self.would_receive(message):
                self.inject("message", message)
            return copy.deepcopy(message)

    def channel_post(self, chat_id: int, text: str, *, title: str | None = None) -> JSON:
        """An admin of channel `chat_id` posts `text`; returns the post.

        As in Telegram: the post has no `from` (it is sent on behalf of the channel, its
        `sender_chat`), and the bot gets it (a ``channel_post`` update) only when it is an
        administrator of the channel (`my_chat_member(..., "administrator",
        chat_type="channel")`); a bot cannot be a plain member of a channel.
        """
        with self._lock:
            chat = self._group(chat_id, title, "channel", joining=True)
            if chat["type"] != "channel":
                raise ValueError(f"chat {chat_id} is a {chat['type']}, not a channel")
            body: JSON = {"text": text}
            if entities := self._auto_entities(text):
                body["entities"] = entities
            message = self._new_message(chat, None, body, sender_chat=chat)
            if self.would_receive(message):
                self.inject("channel_post", message)
            return copy.deepcopy(message)

    def document_message(
        self,
        user_id: int,
        file_id: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> JSON:
        """A user sends a document (in private, or in group `chat_id`); returns the message.

        Name, type and size default to those of a file registered with `add_file`.
        """
        with self._lock:
            user = self._user(user_id, None, None, None)
            chat = self._open_private_chat(user) if chat_id is None else self._group(chat_id)
            stored = self._files.get(file_id)
            document: JSON = {
                "file_id": file_id,
                "file_unique_id": stored.file_unique_id if stored else f"U{file_id}"[:32],
            }
            name = file_name or (stored.file_name if stored else None)
            mime = mime_type or (stored.mime_type if stored else None)
            file_size = size if size is not None else (stored.file_size if stored else None)
            if name:
                document["file_name"] = name
            if mime:
                document["mime_type"] = mime
            if file_size is not None:
                document["file_size"] = file_size
            body: JSON = {"document": document}
            if caption:
                body["caption"] = caption
                if caption_entities := self._auto_entities(caption):
                    body["caption_entities"] = caption_entities
            message = self._new_message(chat, user, body)
            if self.would_receive(message):
                self.inject("message", message)
            return copy.deepcopy(message)

    def edited_message(self, message: JSON, text: str) -> JSON:
        """The user edits one of their text messages; returns the new version."""
        with self._lock:
            stored = self._stored(message)
            if stored.get("from", {}).get("id") == self.bot_id:
                raise ValueError("edited_message is for user messages; the bot edits its own")
            stored["text"] = text
            stored["edit_date"] = int(time.time())
            stored.pop("entities", None)
            if entities := self._auto_entities(text):
                stored["entities"] = entities
            if self.would_receive(stored):
                self.inject("edited_message", stored)
            return copy.deepcopy(stored)

    def callback_query(
        self,
        user_id: int,
        message: JSON | None,
        data: str,
        *,
        inline_message_id: str | None = None,
        forged: bool = False,
    ) -> JSON:
        """The user presses the inline button with `data` on a bot message; returns the query.

        `message` is the bot's message (e.g. ``call.result``); its current keyboard must offer
        that button, or ValueError (a user cannot press a button that is not there). For a
        message sent via inline mode pass ``message=None, inline_message_id=...``.
        With ``forged=True`` any `data` is sent, as a modified client can: Telegram does not
        check callback data against the keyboard (the message is still sent as it is).
        """
        with self._lock:
            user = self._user(user_id, None, None, None)
            query: JSON = {"id": str(next(self._query_ids) * 1_000_003), "from": user}
            if inline_message_id is not None:
                inline = self._inline_messages.get(inline_message_id)
                if inline is None:
                    raise ValueError(f"unknown inline_message_id {inline_message_id!r}")
                markup = inline.reply_markup
                query["inline_message_id"] = inline_message_id
                query["chat_instance"] = f"-{zlib.crc32(inline_message_id.encode()) * 7919}"
            else:
                if message is None:
                    raise ValueError("give the message the button is on, or inline_message_id")
                stored = self._stored(message)
                markup = stored.get("reply_markup")
                query["message"] = copy.deepcopy(stored)
                query["chat_instance"] = str(abs(stored["chat"]["id"]) * 7919)
            offered = [
                button.get("callback_data")
                for row in (markup or {}).get("inline_keyboard", [])
                for button in row
            ]
            if data not in offered and not forged:
                raise ValueError(
                    f"no button with callback_data {data!r}; the keyboard offers "
                    f"{[d for d in offered if d is not None]}"
                )
            query["data"] = data
            self._callback_queries[query["id"]] = _Query(user_id)
            self.inject("callback_query", query)
            return copy.deepcopy(query)

    def inline_query(
        self, user_id: int, query: str, *, offset: str = "", chat_type: str = "private"
    ) -> JSON:
        """The user types ``@bot query``; returns the InlineQuery (its id is answerable once)."""
        with self._lock:
            if not self.supports_inline_queries:
                raise ValueError("this bot has no inline mode (supports_inline_queries=False)")
            user = self._user(user_id, None, None, None)
            inline: JSON = {
                "id": str(next(self._query_ids) * 1_000_033),
                "from": user,
                "query": query,
                "offset": offset,
                "chat_type": chat_type,
            }
            self._inline_queries[inline["id"]] = _Query(user_id)
            self.inject("inline_query", inline)
            return copy.deepcopy(inline)

    def chosen_inline_result(self, user_id: int, result_id: str, query: str) -> JSON:
        """The user picks a result the bot offered in answerInlineQuery; returns it.

        ValueError unless the bot answered one of this user's inline queries with that
        result id. A result with an inline keyboard gets an ``inline_message_id`` (as in
        Telegram), usable with `callback_query` and editMessageText.
        """
        with self._lock:
            offered = [
                result
                for inline in self._inline_queries.values()
                if inline.user_id == user_id
                for result in inline.results
                if result.get("id") == result_id
            ]
            if not offered:
                raise ValueError(f"the bot offered user {user_id} no result {result_id!r}")
            result = offered[-1]
            chosen: JSON = {
                "result_id": result_id,
                "from": self._user(user_id, None, None, None),
                "query": query,
            }
            if result.get("reply_markup"):
                inline_message_id = f"AQAAA{next(self._query_ids):08d}fake"
                content = result.get("input_message_content") or {}
                text = content.get("message_text")
                self._inline_messages[inline_message_id] = _InlineMessage(
                    text=None if text is None else self._visible(text, content.get("parse_mode")),
                    format_key=None
                    if text is None
                    else self._format_key(text, content.get("parse_mode"), None),
                    reply_markup=copy.deepcopy(result["reply_markup"]),
                )
                chosen["inline_message_id"] = inline_message_id
            self.inject("chosen_inline_result", chosen)
            return copy.deepcopy(chosen)

    def my_chat_member(
        self,
        chat_id: int,
        user_id: int,
        new_status: str = "member",
        old_status: str = "left",
        *,
        title: str | None = None,
        chat_type: str | None = None,
    ) -> JSON:
        """The bot's membership changes: added to a group by `user_id` (the default), made
        administrator, removed ("left"/"kicked"); in a private chat (chat_id == user_id)
        "kicked" means the user blocked the bot and "member" that they unblocked it.
        Returns the ChatMemberUpdated; the fake enforces the new status (403 on sends).
        """
        with self._lock:
            user = self._user(user_id, None, None, None)
            chat = (
                self._open_private_chat(user)
                if chat_id > 0
                else self._group(chat_id, title, chat_type, joining=True)
            )
            self._bot_status[chat["id"]] = new_status
            update: JSON = {
                "chat": chat,
                "from": user,
                "date": int(time.time()),
                "old_chat_member": self._chat_member(old_status),
                "new_chat_member": self._chat_member(new_status),
            }
            self.inject("my_chat_member", update)
            return copy.deepcopy(update)

    def delete_by_user(self, message: JSON) -> None:
        """The user deletes their message (Telegram sends the bot no update for that)."""
        with self._lock:
            chat_id = message["chat"]["id"]
            self._messages.get(chat_id, {}).pop(message["message_id"], None)
            self._format_keys.pop((chat_id, message["message_id"]), None)

    def block_user(self, user_id: int) -> JSON:
        """The user blocks the bot: sends then fail with 403 "bot was blocked by the user"."""
        return self.my_chat_member(user_id, user_id, "kicked", "member")

    def migrate(
        self, chat_id: int, new_chat_id: int | None = None, *, user_id: int | None = None
    ) -> tuple[JSON, JSON]:
        """A group becomes a supergroup: returns the service messages in the old group
        (``migrate_to_chat_id``) and the new one (``migrate_from_chat_id``). Sends to the old
        id then fail with "group chat was upgraded to a supergroup chat" (PTB: ChatMigrated).
        """
        with self._lock:
            old = self._group(chat_id)
            if old["type"] != "group":
                raise ValueError(f"chat {chat_id} is a {old['type']}, only groups migrate")
            new_id = new_chat_id if new_chat_id is not None else -(10**12 + abs(chat_id))
            new = {"id": new_id, "type": "supergroup", "title": old.get("title", "Group")}
            self._chats[new_id] = new
            self._bot_status[new_id] = self._bot_status.get(chat_id, "member")
            anonymous = {
                "id": 1087968824,
                "is_bot": True,
                "first_name": "Group",
                "username": "GroupAnonymousBot",
            }
            sender = anonymous if user_id is None else self._user(user_id, None, None, None)
            to_message = self._new_message(old, sender, {"migrate_to_chat_id": new_id})
            from_message = self._new_message(
                new, anonymous, {"migrate_from_chat_id": chat_id}, sender_chat=old
            )
            self._migrated[chat_id] = new_id
            self.inject("message", to_message)
            self.inject("message", from_message)
            return copy.deepcopy(to_message), copy.deepcopy(from_message)

    def would_receive(self, message: JSON) -> bool:
        """Whether Telegram would deliver this group message to the bot (privacy mode)."""
        chat = message["chat"]
        if chat["type"] == "channel":
            return self._bot_status.get(chat["id"]) == "administrator"
        if chat["type"] not in ("group", "supergroup"):
            return True
        if self._bot_status.get(chat["id"], "member") in ("left", "kicked"):
            return False
        if self.can_read_all_group_messages or SERVICE_MESSAGE_KEYS & message.keys():
            return True
        if message.get("via_bot", {}).get("id") == self.bot_id:
            return True
        replied = message.get("reply_to_message") or {}
        if replied.get("from", {}).get("id") == self.bot_id:
            return True
        text = message.get("text") or message.get("caption") or ""
        if not text.startswith("/"):
            return False
        command = text.split(maxsplit=1)[0]
        _, at, addressee = command.partition("@")
        return not at or addressee.lower() == self.username.lower()

    # ------------------------------------------------------------------ HTTP entry point

    def _serve(
        self, http_method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        """Answer one HTTP request (called from a server thread)."""
        started = time.monotonic()
        url = urlsplit(path)
        route = unquote(url.path)
        if (match := _FILE_PATH_RE.match(route)) is not None:
            return self.download(match[1], match[2])
        match = _API_PATH_RE.match(route)
        if match is None:
            return _json_answer(ApiError(404, "Not Found").payload(), 404)
        token, method = match[1], match[2]
        try:
            raw, params, files = _parse_request(url.query, headers.get("Content-Type", ""), body)
        except ValueError as error:
            raw, params, files = {}, {}, {}
            parse_error: ApiError | None = bad_request(str(error))
        else:
            parse_error = None
        with self._lock:
            delay = self._slow_chats.get(_chat_key(params.get("chat_id")), 0.0)
        if delay:
            time.sleep(delay)  # in this request's own server thread: other chats go on
        call = self._answer(http_method, token, method, raw, params, files, parse_error, started)
        return _json_answer(call.response, call.status)

    def call(
        self,
        token: str,
        method: str,
        form: Mapping[str, str],
        files: Mapping[str, UploadedFile] | None = None,
        *,
        http_method: str = "POST",
    ) -> Call:
        """Answer one Bot API request without HTTP, as `_serve` does once it has parsed one.

        `form` holds the values as an HTTP form would carry them (non-string values JSON
        encoded, as python-telegram-bot sends them); `files` the multipart file parts. The
        call is validated, recorded and answered exactly like one over HTTP (`slow_chat`
        delays only HTTP requests). For an in-process request layer (tests/inprocess.py).
        """
        raw = dict(form)
        params = {name: _decode_value(name, value) for name, value in raw.items()}
        started = time.monotonic()
        files = dict(files or {})
        return self._answer(http_method, token, method, raw, params, files, None, started)

    def request(
        self,
        http_method: str,
        url: str,
        form: Mapping[str, str] | None = None,
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[int, bytes]:
        """One request to a Bot API URL (``.../bot<TOKEN>/<method>``) or a file URL
        (``.../file/bot<TOKEN>/<path>``) without HTTP: the status and the body Telegram
        would answer with. Any host: only the path counts."""
        route = unquote(urlsplit(url).path)
        if (match := _FILE_PATH_RE.match(route)) is not None:
            status, _, body = self.download(match[1], match[2])
            return status, body
        match = _API_PATH_RE.match(route)
        if match is None:
            return 404, json.dumps(ApiError(404, "Not Found").payload()).encode()
        call = self.call(match[1], match[2], form or {}, files, http_method=http_method)
        return call.status, json.dumps(call.response, ensure_ascii=False).encode("utf-8")

    def download(self, token: str, file_path: str) -> tuple[int, str, bytes]:
        """A file download (``/file/bot<TOKEN>/<file_path>``): status, content type, bytes."""
        with self._lock:
            if token != self.token:
                return _json_answer(ApiError(401, "Unauthorized").payload(), 401)
            stored = self._files_by_path.get(file_path)
            if stored is None:
                return _json_answer(ApiError(404, "Not Found").payload(), 404)
            self._downloads.append(file_path)
            self._changed.notify_all()
            return 200, stored.mime_type or "application/octet-stream", stored.data

    def take_updates(self) -> list[JSON]:
        """Every queued update Telegram would deliver, oldest first, now confirmed (as a
        getUpdates and the next offset would): for a bot that is handed its updates
        directly instead of polling (tests/inprocess.py)."""
        with self._lock:
            updates = self._deliverable(len(self._updates) or 1)
            if updates:
                self._confirm(updates[-1]["update_id"] + 1)
            return updates

    def _answer(
        self,
        http_method: str,
        token: str,
        method: str,
        raw: dict[str, str],
        params: JSON,
        files: dict[str, UploadedFile],
        parse_error: ApiError | None,
        started: float,
    ) -> Call:
        """Validate, run and record one API call (under the lock)."""
        with self._lock:
            canonical, handler = self._methods.get(method.lower(), (method, None))
            try:
                if token != self.token:
                    raise ApiError(401, "Unauthorized")
                if handler is None:
                    raise ApiError(404, "Not Found")
                if parse_error is not None:
                    raise parse_error
                self._raise_armed_failure(canonical)
                sending = self._flood_check(canonical.lower(), params)
                response: JSON = {"ok": True, "result": handler(params, files)}
                status = 200
                if sending is not None:
                    self._limiter.accepted(*sending)
            except ApiError as error:
                response, status = error.payload(), error.error_code
            call = Call(
                index=len(self._calls),
                method=canonical,
                params=params,
                files=files,
                raw_params=raw,
                http_method=http_method,
                token=token,
                status=status,
                response=copy.deepcopy(response),
                started=started,
                time=time.monotonic(),
            )
            self._calls.append(call)
            self._changed.notify_all()
        logger.debug("%s %s -> %s", canonical, params, status)
        return call

    def _flood_check(self, method: str, params: JSON) -> tuple[int, bool, float] | None:
        """Raise the 429 of a storm or of a limit the message would break; for a message
        that may go, (chat id, whether a group, now) to record once it is accepted."""
        now = self.clock()
        if now < self._storm_until and method not in NEVER_LIMITED:
            self._limiter.refused["storm"] += 1
            raise _too_many_requests(self._storm_until - now)
        if method not in SENDING_METHODS:
            return None
        chat_id = _chat_key(params.get("chat_id"))
        if chat_id is None:
            return None
        chat = self._chats.get(chat_id)
        group = chat["type"] != "private" if chat is not None else chat_id < 0
        wait, limit = self._limiter.wait(chat_id, group, now)
        if wait > 0:
            self._limiter.refused[limit] += 1
            raise _too_many_requests(wait)
        return chat_id, group, now

    def _raise_armed_failure(self, method: str) -> None:
        armed = self._failures.get(method.lower())
        if not armed:
            return
        failure = armed[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            armed.popleft()
        raise failure.error

    # ------------------------------------------------------------------ API methods

    def _get_me(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return self.bot_user

    def _get_updates(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        if self._webhook:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = _int(params, "offset", 0)
        limit = _int(params, "limit", 100)
        timeout = _number(params, "timeout", 0)
        if not 1 <= limit <= 100:
            limit = 100  # Telegram clamps rather than refusing
        if "allowed_updates" in params:
            self._allowed_updates = _allowed_updates(params["allowed_updates"])
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        deadline = time.monotonic() + max(0.0, min(timeout, 50.0))
        self._polling += 1
        self._changed.notify_all()  # an older long poll ends with 409
        try:
            while True:
                if self._stopping:
                    return []
                if generation != self._poll_generation:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that "
                        "only one bot instance is running",
                    )
                ready = self._deliverable(limit)
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0:
                    return ready
                self._changed.wait(remaining)
        finally:
            self._polling -= 1

    def _set_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            self._webhook = None
            return True
        match = _WEBHOOK_URL_RE.fullmatch(url)
        if match is None:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if match[1] and match[1] not in ("80", "88", "443", "8443"):
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if "allowed_updates" in params:
            self._allowed_updates = _allowed_updates(params["allowed_updates"])
        self._webhook = {"url": url, "secret_token": params.get("secret_token")}
        return True

    def _delete_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
            self._changed.notify_all()
        return True

    def _get_webhook_info(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        info: JSON = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook:
            info["max_connections"] = 40
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    def _set_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if commands is None:
            raise bad_request('parameter "commands" is required')
        if not isinstance(commands, list) or not all(isinstance(c, dict) for c in commands):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > MAX_BOT_COMMANDS:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not isinstance(description, str):
                raise bad_request("can't parse BotCommand JSON object")
            if not _COMMAND_NAME_RE.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(self._scope(params), params.get("language_code") or "")
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        key = self._commands_key(self._scope(params), params.get("language_code") or "")
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        key = self._commands_key(self._scope(params), params.get("language_code") or "")
        self._commands.pop(key, None)
        return True

    def _send_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat_id = _required_chat_id(params)
        text = "" if params.get("text") is None else str(params["text"])
        visible = self._visible(text, params.get("parse_mode"))
        chat = self._sendable_chat(chat_id)
        reply_to = self._reply_target(params, chat)
        if not visible:
            raise bad_request("message text is empty")
        if utf16_length(visible) > MAX_MESSAGE_LENGTH:
            raise bad_request("message is too long")
        markup = self._check_reply_markup(params.get("reply_markup"))
        body: JSON = {"text": visible}
        if params.get("entities") and not params.get("parse_mode"):
            body["entities"] = params["entities"]
        message = self._bot_message(chat, body, reply_to, markup)
        self._format_keys[(chat["id"], message["message_id"])] = self._format_key(
            text, params.get("parse_mode"), params.get("entities")
        )
        return message

    def _send_photo(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        stored = self._input_file(params, files, "photo")
        caption = self._caption(params)
        chat = self._sendable_chat(_required_chat_id(params))
        reply_to = self._reply_target(params, chat)
        if stored.width is None or stored.height is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        width, height = stored.width, stored.height
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        markup = self._check_reply_markup(params.get("reply_markup"))
        photo = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "width": width,
            "height": height,
        }
        body: JSON = {"photo": [photo]}
        if caption:
            body["caption"] = caption
        return self._bot_message(chat, body, reply_to, markup)

    def _send_document(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        stored = self._input_file(params, files, "document")
        caption = self._caption(params)
        chat = self._sendable_chat(_required_chat_id(params))
        reply_to = self._reply_target(params, chat)
        markup = self._check_reply_markup(params.get("reply_markup"))
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        body: JSON = {"document": document}
        if caption:
            body["caption"] = caption
        return self._bot_message(chat, body, reply_to, markup)

    def _edit_message_text(self, params: JSON, files: dict[str, UploadedFile]) -> JSON | bool:
        text = "" if params.get("text") is None else str(params["text"])
        visible = self._visible(text, params.get("parse_mode"))
        format_key = self._format_key(text, params.get("parse_mode"), params.get("entities"))
        markup = self._check_reply_markup(params.get("reply_markup"), inline_only=True)
        if params.get("inline_message_id"):
            inline = self._inline_message(params)
            self._check_new_text(visible)
            if inline.format_key == format_key and inline.reply_markup == markup:
                raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
            inline.text, inline.format_key, inline.reply_markup = visible, format_key, markup
            return True
        message = self._editable_message(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        self._check_new_text(visible)
        key = (message["chat"]["id"], message["message_id"])
        if self._format_keys.get(key) == format_key and message.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        message["text"] = visible
        message.pop("entities", None)
        if params.get("entities") and not params.get("parse_mode"):
            message["entities"] = params["entities"]
        self._set_markup(message, markup)
        message["edit_date"] = int(time.time())
        self._format_keys[key] = format_key
        return copy.deepcopy(message)

    def _edit_message_reply_markup(
        self, params: JSON, files: dict[str, UploadedFile]
    ) -> JSON | bool:
        markup = self._check_reply_markup(params.get("reply_markup"), inline_only=True)
        if params.get("inline_message_id"):
            inline = self._inline_message(params)
            if inline.reply_markup == markup:
                raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
            inline.reply_markup = markup
            return True
        message = self._editable_message(params)
        if message.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        self._set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _delete_message(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat = self._known_chat(_required_chat_id(params))
        message_id = _int(params, "message_id", None)
        if message_id is None:
            raise bad_request("message identifier is not specified")
        if self._messages.get(chat["id"], {}).pop(message_id, None) is None:
            raise bad_request("message to delete not found")
        self._format_keys.pop((chat["id"], message_id), None)
        return True

    def _answer_callback_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query = self._callback_queries.get(str(params.get("callback_query_id") or ""))
        if query is None or query.answered:
            raise ApiError(400, QUERY_TOO_OLD)
        if len(str(params.get("text") or "")) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        return True

    def _answer_inline_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        results = params.get("results")
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            result_id = result.get("id")
            if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= 64:
                raise bad_request("RESULT_ID_INVALID")
            if result_id in seen:
                raise bad_request("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            content = result.get("input_message_content")
            if result.get("type") == "article" and not isinstance(content, dict):
                raise bad_request(
                    "can't parse InlineQueryResultArticle: Field "
                    '"input_message_content" must be of type Object'
                )
            if isinstance(content, dict) and "message_text" in content:
                visible = self._visible(str(content["message_text"]), content.get("parse_mode"))
                if not visible:
                    raise bad_request("MESSAGE_EMPTY")
                if utf16_length(visible) > MAX_MESSAGE_LENGTH:
                    raise bad_request("MESSAGE_TOO_LONG")
            self._check_reply_markup(result.get("reply_markup"), inline_only=True)
        query = self._inline_queries.get(str(params.get("inline_query_id") or ""))
        if query is None or query.answered:
            raise ApiError(400, QUERY_TOO_OLD)
        query.answered = True
        query.results = copy.deepcopy(results)
        return True

    def _send_chat_action(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat_id = _required_chat_id(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._sendable_chat(chat_id)
        return True

    def _get_file(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        file_id = params.get("file_id")
        if not file_id:
            raise bad_request("file_id not specified")
        stored = self._files.get(str(file_id))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_SIZE:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember says of `user_id` in group `chat_id`: "creator",
        "administrator", "member" (the default for anyone), "left" or "kicked"."""
        with self._lock:
            self._member_status[chat_id, user_id] = status

    def _get_chat_member(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._known_chat(_required_chat_id(params))
        user_id = params.get("user_id")
        if not isinstance(user_id, int) or user_id not in self._users:
            raise bad_request("PARTICIPANT_ID_INVALID")
        status = self._member_status.get((chat["id"], user_id), "member")
        if status == "creator":
            member: JSON = {"status": "creator", "is_anonymous": False}
        else:
            member = self._chat_member(status)
        member["user"] = copy.deepcopy(self._users[user_id])
        return member

    def _get_chat(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._known_chat(_required_chat_id(params))
        full = copy.deepcopy(chat)
        full.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        return full

    # ------------------------------------------------------------------ helpers (under lock)

    def _wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(what, timeout))
                self._changed.wait(remaining)

    def _timeout_message(self, what: str, timeout: float) -> str:
        recent = "\n".join(
            f"  #{c.index} {c.method} {c.status} {c.params}" for c in self._calls[-10:]
        )
        return f"no {what} within {timeout} s; the latest calls:\n{recent or '  (none)'}"

    def _first_match(self, predicate: Callable[[Call], bool], after: int) -> Call | None:
        return next((call for call in self._calls[after:] if predicate(call)), None)

    @staticmethod
    def _call_matcher(method: str, params: Mapping[str, Any]) -> Callable[[Call], bool]:
        wanted = method.lower()

        def matches(call: Call) -> bool:
            return (
                call.ok
                and call.method.lower() == wanted
                and all(call.params.get(k) == v for k, v in params.items())
            )

        return matches

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        elif offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
        self._changed.notify_all()

    def _deliverable(self, limit: int) -> list[JSON]:
        allowed = self._allowed_updates
        kept: deque[JSON] = deque()
        for update in self._updates:
            kind = next(key for key in update if key != "update_id")
            if (kind in allowed) if allowed is not None else (kind not in NOT_DELIVERED_BY_DEFAULT):
                kept.append(update)
        if len(kept) != len(self._updates):
            self._updates = kept
            self._changed.notify_all()
        return copy.deepcopy(list(itertools.islice(kept, limit)))

    def _user(
        self,
        user_id: int,
        first_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> JSON:
        user = self._users.get(user_id)
        if user is None or first_name or username or language_code:
            current = user or {}
            user = self.add_user(
                user_id,
                first_name=first_name or current.get("first_name"),
                last_name=current.get("last_name"),
                username=username if username is not None else current.get("username"),
                language_code=language_code or current.get("language_code", "en"),
                started=False,
            )
        return copy.deepcopy(user)

    @staticmethod
    def _private_chat(user: JSON) -> JSON:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        return chat

    def _open_private_chat(self, user: JSON) -> JSON:
        chat = self._chats.get(user["id"])
        if chat is None:
            chat = self._chats[user["id"]] = self._private_chat(user)
        return copy.deepcopy(chat)

    def _group(
        self,
        chat_id: int,
        title: str | None = None,
        chat_type: str | None = None,
        *,
        joining: bool = False,
    ) -> JSON:
        if chat_id >= 0:
            raise ValueError(f"group ids are negative, got {chat_id}")
        if chat_id in self._migrated:
            raise ValueError(f"group {chat_id} became supergroup {self._migrated[chat_id]}")
        chat = self._chats.get(chat_id)
        if chat is None:
            kind = chat_type or ("supergroup" if chat_id <= -(10**12) else "group")
            chat = {"id": chat_id, "type": kind, "title": title or f"Group {abs(chat_id)}"}
            self._chats[chat_id] = chat
            if not joining:
                self._bot_status.setdefault(chat_id, "member")
        elif title:
            chat["title"] = title
        return copy.deepcopy(chat)

    def _chat_member(self, status: str) -> JSON:
        member: JSON = {"status": status, "user": self.bot_user}
        if status == "administrator":
            granted = "can_manage_chat can_delete_messages can_restrict_members can_invite_users"
            member.update(dict.fromkeys((*granted.split(), "can_pin_messages"), True))
            denied = (
                "can_be_edited is_anonymous can_manage_video_chats can_promote_members "
                "can_change_info can_post_stories can_edit_stories can_delete_stories"
            )
            member.update(dict.fromkeys(denied.split(), False))
        elif status == "kicked":
            member["until_date"] = 0
        elif status not in ("member", "left"):
            raise ValueError(f"unsupported chat member status {status!r}")
        return member

    def _new_message(
        self,
        chat: JSON,
        sender: JSON | None,
        body: JSON,
        reply_to: JSON | None = None,
        *,
        sender_chat: JSON | None = None,
    ) -> JSON:
        counter = self._message_ids.setdefault(chat["id"], itertools.count(1))
        message: JSON = {"message_id": next(counter)}
        if sender is not None:  # a channel post has none
            message["from"] = copy.deepcopy(sender)
        message.update({"chat": copy.deepcopy(chat), "date": int(time.time())})
        if sender_chat is not None:
            message["sender_chat"] = copy.deepcopy(sender_chat)
        if reply_to is not None:
            replied = copy.deepcopy(reply_to)
            replied.pop("reply_to_message", None)  # Telegram nests one level only
            message["reply_to_message"] = replied
        message.update(copy.deepcopy(body))
        self._messages.setdefault(chat["id"], {})[message["message_id"]] = message
        return message

    def _user_message(
        self,
        chat: JSON,
        user: JSON,
        text: str,
        entities: list[JSON] | None,
        reply_to_message: JSON | int | None,
    ) -> JSON:
        body: JSON = {"text": text}
        built = self._auto_entities(text) if entities is None else entities
        if built:
            body["entities"] = built
        reply_to = None
        if reply_to_message is not None:
            if isinstance(reply_to_message, int):
                reply_to = self._messages.get(chat["id"], {}).get(reply_to_message)
                if reply_to is None:
                    raise ValueError(f"no message {reply_to_message} in chat {chat['id']}")
            else:
                reply_to = self._stored(reply_to_message)
        return self._new_message(chat, user, body, reply_to)

    def _stored(self, message: JSON) -> JSON:
        try:
            return self._messages[message["chat"]["id"]][message["message_id"]]
        except KeyError:
            raise ValueError(
                f"message {message.get('message_id')} is not in chat "
                f"{message.get('chat', {}).get('id')} (deleted, or not from this fake)"
            ) from None

    @staticmethod
    def _auto_entities(text: str) -> list[JSON]:
        """bot_command and mention entities, with offsets and lengths in UTF-16 units."""
        found = [("bot_command", m) for m in _COMMAND_RE.finditer(text)]
        found += [("mention", m) for m in _MENTION_RE.finditer(text)]
        found.sort(key=lambda item: item[1].start())
        return [
            {
                "offset": utf16_length(text[: match.start()]),
                "length": utf16_length(match[0]),
                "type": kind,
            }
            for kind, match in found
        ]

    def _bot_message(
        self, chat: JSON, body: JSON, reply_to: JSON | None, markup: JSON | None
    ) -> JSON:
        if markup is not None:
            body = {**body, "reply_markup": markup}
        # In a channel the post is the channel's (the bot stays `from`, so it can edit it).
        channel = chat if chat["type"] == "channel" else None
        return copy.deepcopy(
            self._new_message(chat, self.bot_user, body, reply_to, sender_chat=channel)
        )

    @staticmethod
    def _set_markup(message: JSON, markup: JSON | None) -> None:
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup

    def _visible(self, text: str, parse_mode: Any) -> str:
        """The text Telegram would show, stripped; 400 on HTML it can't parse."""
        mode = str(parse_mode or "").lower()
        if mode == "html":
            try:
                text = parse_telegram_html(text)
            except TelegramHtmlError as error:
                raise bad_request(f"can't parse entities: {error.reason}") from None
        elif mode not in ("", "markdown", "markdownv2"):
            raise bad_request("unsupported parse_mode")
        return text.strip()

    @staticmethod
    def _format_key(text: str, parse_mode: Any, entities: Any) -> str:
        """What makes two texts "the same content" for "message is not modified"."""
        mode = str(parse_mode or "").lower()
        if mode == "html" and "<" not in text:  # no tags, so no entities: plain text
            return json.dumps(["", parse_telegram_html(text).strip(), []])
        if mode:
            return json.dumps([mode, text.strip()])
        return json.dumps(["", text.strip(), entities or []], sort_keys=True)

    def _check_new_text(self, visible: str) -> None:
        if not visible:
            raise bad_request("message text is empty")
        if utf16_length(visible) > MAX_MESSAGE_LENGTH:
            raise bad_request("message is too long")

    def _caption(self, params: JSON) -> str:
        caption = "" if params.get("caption") is None else str(params["caption"])
        visible = self._visible(caption, params.get("parse_mode"))
        if utf16_length(visible) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        return visible

    def _check_reply_markup(self, markup: Any, *, inline_only: bool = False) -> JSON | None:
        """Validate reply_markup; returns it when it is an inline keyboard (kept on the
        message), None for no markup or a reply keyboard (not part of the message)."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            if inline_only:
                raise bad_request("inline keyboard expected")
            if not {"keyboard", "remove_keyboard", "force_reply"} & markup.keys():
                raise bad_request("can't parse reply keyboard markup JSON object")
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        for button in itertools.chain.from_iterable(rows):
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not any(action in button for action in BUTTON_ACTIONS):
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are "
                    "unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                size = len(data.encode("utf-8")) if isinstance(data, str) else 0
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button and not _BUTTON_URL_RE.fullmatch(str(button["url"])):
                raise bad_request("BUTTON_URL_INVALID")
        return copy.deepcopy(markup)

    def _resolve_chat_id(self, chat_id: Any) -> int:
        if isinstance(chat_id, int) and not isinstance(chat_id, bool):
            return chat_id
        if isinstance(chat_id, str):
            value = chat_id.strip()
            if re.fullmatch(r"-?\d+", value):
                return int(value)
            if value.startswith("@"):
                for chat in self._chats.values():
                    if str(chat.get("username", "")).lower() == value[1:].lower():
                        return int(chat["id"])
        raise bad_request("chat not found")

    def _known_chat(self, chat_id: Any) -> JSON:
        resolved = self._resolve_chat_id(chat_id)
        if resolved in self._migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[resolved]},
            )
        chat = self._chats.get(resolved)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _sendable_chat(self, chat_id: Any) -> JSON:
        resolved = self._resolve_chat_id(chat_id)
        if resolved not in self._chats and resolved in self._users:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        chat = self._known_chat(resolved)
        status = self._bot_status.get(chat["id"], "member")
        if chat["type"] == "channel" and status != "administrator":
            # A bot is in a channel only as an administrator.
            raise ApiError(403, "Forbidden: bot is not a member of the channel chat")
        if chat["type"] == "private" and status == "kicked":
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {chat['type']} chat")
        if status == "left":
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat['type']} chat")
        return copy.deepcopy(chat)

    def _reply_target(self, params: JSON, chat: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        if reply is None and params.get("reply_to_message_id") is not None:
            reply = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": params.get("allow_sending_without_reply"),
            }
        if reply is None:
            return None
        if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
            raise bad_request("can't parse reply parameters JSON object")
        target_chat = self._resolve_chat_id(reply["chat_id"]) if "chat_id" in reply else chat["id"]
        target = self._messages.get(target_chat, {}).get(reply["message_id"])
        if target is None:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return target

    def _editable_message(self, params: JSON) -> JSON:
        if params.get("chat_id") is None or params.get("message_id") is None:
            raise bad_request("message identifier is not specified")
        chat = self._known_chat(params["chat_id"])
        message_id = _int(params, "message_id", 0)
        message = self._messages.get(chat["id"], {}).get(message_id)
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise bad_request("message can't be edited")
        return message

    def _inline_message(self, params: JSON) -> _InlineMessage:
        inline = self._inline_messages.get(str(params["inline_message_id"]))
        if inline is None:
            raise bad_request("MESSAGE_ID_INVALID")
        return inline

    def _input_file(
        self, params: JSON, files: dict[str, UploadedFile], field_name: str
    ) -> StoredFile:
        """The file a send method refers to: an upload, an attach://, or a known file_id."""
        upload = files.get(field_name)
        value = params.get(field_name)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
        if upload is not None:
            if not upload.data:
                raise bad_request("file must be non-empty")
            if len(upload.data) > MAX_UPLOAD_SIZE:
                raise ApiError(413, "Request Entity Too Large")
            folder = "photos" if field_name == "photo" else "documents"
            name = upload.filename if field_name != "photo" else None
            return self._store_file(upload.data, folder, name, upload.content_type)
        if value is None or value == "":
            raise bad_request(f"there is no {field_name} in the request")
        stored = self._files.get(str(value))
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored

    def _store_file(
        self, data: bytes, folder: str, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        number = next(self._file_numbers)
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        size = _image_size(data)
        if folder == "photos":
            suffix = ".jpg"
        stored = StoredFile(
            file_id=f"BQACAgIAAxkBAAFake{number:06d}",
            file_unique_id=f"AgADFake{number:06d}",
            data=data,
            file_path=f"{folder}/file_{number}{suffix}",
            file_name=file_name,
            mime_type=mime_type,
            file_size=len(data),
            width=size[0] if size else None,
            height=size[1] if size else None,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _scope(self, params: JSON) -> JSON:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in SCOPE_TYPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        scope = dict(scope)
        if scope["type"] in ("chat", "chat_administrators", "chat_member"):
            chat = self._known_chat(scope.get("chat_id"))
            scope["chat_id"] = chat["id"]
            if scope["type"] == "chat_member":
                if not isinstance(scope.get("user_id"), int):
                    raise bad_request("user not found")
                if chat["type"] == "private":
                    raise bad_request("can't use chat_member scope in private chats")
        return scope

    @staticmethod
    def _commands_key(scope: JSON, language_code: str) -> str:
        return json.dumps([scope, language_code], sort_keys=True)


# ---------------------------------------------------------------------- request parsing


def _too_many_requests(seconds: float) -> ApiError:
    """Telegram's 429: whole seconds, at least one."""
    retry_after = max(1, math.ceil(seconds - 1e-9))
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def _json_answer(body: JSON, status: int) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body, ensure_ascii=False).encode("utf-8")


def _decode_value(name: str, value: str) -> Any:
    """A form value as PTB meant it: JSON for non-string parameters, else the text."""
    if name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _header_params(name: str, value: str) -> email.message.Message:
    message = email.message.Message()
    message[name] = value
    return message


def _parse_request(
    query: str, content_type: str, body: bytes
) -> tuple[dict[str, str], JSON, dict[str, UploadedFile]]:
    """(raw values, parsed params, files) from a query string and a body of any of the
    content types Telegram accepts."""
    raw: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, UploadedFile] = {}
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body:
        pass
    elif kind == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError:
            raise ValueError("can't parse JSON request body") from None
        if not isinstance(decoded, dict):
            raise ValueError("JSON request body must be an Object")
        params = {k: _decode_value(k, v) for k, v in raw.items()}
        params.update(decoded)
        raw.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in decoded.items()})
        return raw, params, files
    elif kind == "multipart/form-data":
        boundary = _header_params("Content-Type", content_type).get_param("boundary")
        if not isinstance(boundary, str) or not boundary:
            raise ValueError("multipart body without a boundary")
        fields, files = _parse_multipart(body, boundary)
        raw.update(fields)
    else:  # application/x-www-form-urlencoded, or no content type
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("request body is not UTF-8") from None
        raw.update(parse_qsl(text, keep_blank_values=True))
    return raw, {k: _decode_value(k, v) for k, v in raw.items()}, files


def _parse_multipart(body: bytes, boundary: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Fields and file parts of a multipart/form-data body, byte-exact."""
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        raise ValueError("malformed multipart body")
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("malformed multipart part")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = _header_params("Content-Disposition", headers.get("content-disposition", ""))
        name = disposition.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("multipart part without a name")
        filename = disposition.get_filename()
        if filename is None:
            fields[name] = content.decode("utf-8")
        else:
            files[name] = UploadedFile(
                field=name,
                filename=filename.replace("%22", '"'),
                content_type=headers.get("content-type"),
                data=content,
            )
    return fields, files


def _chat_key(chat_id: Any) -> int | None:
    """A chat_id parameter as an int (forms send it as text), or None."""
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        return None


def _int(params: JSON, name: str, default: int | None) -> Any:
    value = params.get(name, default)
    if value is None or value == default:
        return value
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise bad_request(f'field "{name}" must be of type Integer')
    try:
        return int(value)
    except ValueError:
        raise bad_request(f'field "{name}" must be of type Integer') from None


def _number(params: JSON, name: str, default: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise bad_request(f'field "{name}" must be of type Number')
    try:
        return float(value)
    except ValueError:
        raise bad_request(f'field "{name}" must be of type Number') from None


def _required_chat_id(params: JSON) -> Any:
    chat_id = params.get("chat_id")
    if chat_id is None or chat_id == "":
        raise bad_request("chat_id is empty")
    return chat_id


def _allowed_updates(value: Any) -> frozenset[str] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable) or not all(isinstance(v, str) for v in value):
        raise bad_request("can't parse allowed updates JSON object")
    return frozenset(value) or None


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, JPEG, GIF or WebP image; None if it is none of those."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return (width, height) if width and height else None
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return (width, height) if width and height else None
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(
                data[27:30], "little"
            )
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        if chunk == b"VP8 ":
            width, height = struct.unpack("<HH", data[26:30])
            return width & 0x3FFF, height & 0x3FFF
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 9 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return (width, height) if width and height else None
        position += 2 + length
    return None
