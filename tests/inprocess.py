"""The bot in process: the real Application and handlers, the Bot API answered without HTTP.

`InProcessBot.start` builds the Application with `bot.app.build_application` from settings
read like the bot's own environment (a temporary folder's copy of the seeds, database and
state file; ADMIN as the admin) and runs its whole lifecycle in the test's event loop:
initialize, post_init, start ... stop, shutdown, post_shutdown. Every request its Bot makes
goes through `InProcessRequest`, a `telegram.request.BaseRequest` that hands it to the
strict fake's API model (`FakeTelegram.request`, no server started): the call is validated
as Telegram would (HTML, 4,096 characters, 64-byte callback data, known messages and
queries...), recorded as a `Call` with its decoded parameters, and answered with realistic
JSON (messages with their ids, chats and keyboards; files to download).

Updates are made by the fake (`bot.telegram.private_message(...)`, `group_message`,
`callback_query`, `inline_query`, `edited_message`, `document_message`, ...), which keeps the
chats and messages Telegram would, and `deliver` hands them to
`Application.process_update(Update.de_json(...))` one at a time: when it returns the handlers
have finished, so "the bot said nothing" is a plain assertion, not a wait.

    bot = await InProcessBot.start(FakeTelegram(username=BOT), tmp_path)
    answer = await bot.private(READER, "Huawei strategy")  # the bot's sendMessage
    assert "Competitive Strategies" in text_of(answer)
    await bot.stop()

Time: what the bot schedules runs on the real clock, so `fast_forward(seconds)` runs what
is due within `seconds` at once: the event loop's timers (a typed inline query is logged
LOG_DELAY after the last keystroke) and the job queue's jobs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import shutil
import sqlite3
import time
from collections.abc import Awaitable, Callable
from io import StringIO
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.app import build_application
from bot.config import Settings, load_settings
from tests.conftest import SEEDS
from tests.fake_telegram import Call, FakeTelegram, UploadedFile
from tests.telegram_harness import ADMIN, text_of

__all__ = ["InProcessBot", "InProcessRequest", "StartBot", "query_log_rows", "text_of"]

JSON = dict[str, Any]
# As `configure_logging` formats the bot's log, so tests read the same lines as from a
# subprocess's output.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PROJECT_LOGGERS = ("bot", "handlers")


class InProcessRequest(BaseRequest):
    """PTB's request layer, answered by the fake's API model in process (no sockets)."""

    def __init__(self, telegram: FakeTelegram) -> None:
        self.telegram = telegram

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = None,
        write_timeout: object = None,
        connect_timeout: object = None,
        pool_timeout: object = None,
    ) -> tuple[int, bytes]:
        """What HTTPXRequest would send (the form values and the multipart files), answered
        by the fake; yields to the event loop once, as a real round trip does. Nothing
        waits on the network, so the timeouts do not matter."""
        form: dict[str, str] = {}
        files: dict[str, UploadedFile] = {}
        if request_data is not None:
            form = request_data.json_parameters
            if request_data.contains_files:
                for name, (filename, content, mime) in request_data.multipart_data.items():
                    data = content if isinstance(content, bytes) else content.read()
                    files[name] = UploadedFile(name, filename, mime, data)
        await asyncio.sleep(0)
        return self.telegram.request(method, url, form, files)


class InProcessBot:
    """A running Application in this event loop and the fake Telegram it talks to."""

    def __init__(self, telegram: FakeTelegram, folder: Path, **env: str) -> None:
        """Set up (not start) the bot on `folder`: its seeds copied there unless present,
        its database and old state file there, configured from `env` as `python -m bot run`
        would be."""
        self.telegram = telegram
        self.folder = folder
        self.env = env
        if not self.seeds.exists():
            shutil.copytree(SEEDS, self.seeds)
        environment = {
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "ADMIN_USER_IDS": str(ADMIN),
            "SEEDS_DIR": str(self.seeds),
            "DATABASE_PATH": str(self.database),
            "PERSISTENCE_PATH": str(folder / "data" / "bot-state.pickle"),
            # No watcher thread per test bot: tests/test_telegram_watcher.py drives the
            # watcher itself, and its subprocess test runs the real one.
            "SEEDS_WATCH": "off",
            **env,
        }
        self.settings: Settings = load_settings(environment, env_file=None)
        self.application: Application | None = None
        self._log = StringIO()
        self._log_handler: logging.Handler | None = None
        self._levels: dict[str, int] = {}
        # fast_forward's clock: the seconds skipped, and the loop whose time it moved on.
        self._skipped = 0.0
        self._loop_time: tuple[asyncio.AbstractEventLoop, Callable[[], float]] | None = None

    # ---------------------------------------------------------------- lifecycle

    @classmethod
    async def start(cls, telegram: FakeTelegram, folder: Path, **env: str) -> InProcessBot:
        """Set up and start the bot (see __init__)."""
        running = cls(telegram, folder, **env)
        await running.launch()
        return running

    async def launch(self) -> None:
        """Build the Application and run it as Application.run_polling does, less the
        polling: initialize, post_init, start. Its log starts afresh (as a new process's)."""
        assert self.application is None, "already running"
        application = build_application(self.settings, request=InProcessRequest(self.telegram))
        self._capture_logs()
        try:
            await application.initialize()
            if application.post_init is not None:
                await application.post_init(application)
            await application.start()
        except BaseException:
            self._release_logs()
            raise
        self.application = application

    async def stop(self) -> None:
        """Stop as at SIGTERM: stop, post_stop, shutdown, post_shutdown (the chats' state
        and the query log are saved)."""
        application, self.application = self.application, None
        if application is None:
            return
        try:
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
            await application.shutdown()
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
        finally:
            self._release_logs()
            self._real_loop_time()

    async def restart(self) -> None:
        """Stop, then start a new Application on the same folder, settings and fake."""
        await self.stop()
        await self.launch()

    @property
    def app(self) -> Application:
        """The running Application."""
        assert self.application is not None, "the bot is not running"
        return self.application

    def _capture_logs(self) -> None:
        """Record the bot's log from now on, at its LOG_LEVEL, as its own process would."""
        self._log = StringIO()
        self._log_handler = logging.StreamHandler(self._log)
        self._log_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logging.getLogger().addHandler(self._log_handler)
        for name in PROJECT_LOGGERS:
            logger = logging.getLogger(name)
            self._levels.setdefault(name, logger.level)
            logger.setLevel(self.settings.log_level)

    def _release_logs(self) -> None:
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)
            self._log_handler = None
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)
        self._levels.clear()

    # ---------------------------------------------------------------- paths

    @property
    def seeds(self) -> Path:
        return self.folder / "seeds"

    @property
    def database(self) -> Path:
        return self.folder / "data" / "log.sqlite3"

    @property
    def output(self) -> str:
        """What the bot logged so far, formatted as its log file would be."""
        return self._log.getvalue()

    # ---------------------------------------------------------------- updates

    async def deliver(self) -> list[Call]:
        """Hand every update Telegram has queued to the bot, in order, each handled to the
        end before the next; the calls the bot made meanwhile."""
        mark = self.telegram.mark()
        for data in self.telegram.take_updates():
            update = Update.de_json(data, self.app.bot)
            await self.app.process_update(update)
        return self.telegram.calls[mark:]

    async def reply_to(self, chat_id: int) -> Call:
        """Deliver the queued updates; the first message the bot got through to `chat_id`
        meanwhile (a sendMessage Telegram accepted: refused ones show in the error)."""
        calls = await self.deliver()
        for call in calls:
            if call.method == "sendMessage" and call.ok and call.params.get("chat_id") == chat_id:
                return call
        raise AssertionError(f"no message to {chat_id}; the bot called:\n{describe(calls)}")

    def sent_to(self, chat_id: int, after: int = 0) -> list[Call]:
        """The messages Telegram accepted for `chat_id` since call `after` (fake.mark())."""
        return [
            c
            for c in self.telegram.calls[after:]
            if c.method == "sendMessage" and c.ok and c.params.get("chat_id") == chat_id
        ]

    async def upload(self, data: bytes, name: str) -> str:
        """ADMIN sends the file `name` in private; the text of the bot's report."""
        self.telegram.document_message(ADMIN, self.telegram.add_file(data, name))
        return text_of(await self.reply_to(ADMIN))

    async def private(self, user_id: int, text: str, **message: Any) -> Call:
        """`user_id` writes `text` to the bot in private; the bot's reply."""
        self.telegram.private_message(user_id, text, **message)
        return await self.reply_to(user_id)

    async def group(self, chat_id: int, user_id: int, text: str, **message: Any) -> Call:
        """`user_id` writes `text` in group `chat_id`; the bot's reply there."""
        self.telegram.group_message(chat_id, user_id, text, **message)
        return await self.reply_to(chat_id)

    async def press(
        self,
        user_id: int,
        message: JSON | None,
        data: str,
        *,
        inline_message_id: str | None = None,
        forged: bool = False,
    ) -> Call:
        """`user_id` presses the button with `data`; the bot's answerCallbackQuery (exactly
        one, and accepted: a second answer, or none, fails the test)."""
        query = self.telegram.callback_query(
            user_id, message, data, inline_message_id=inline_message_id, forged=forged
        )
        calls = await self.deliver()
        answers = [
            c
            for c in calls
            if c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query["id"]
        ]
        assert len(answers) == 1, f"{len(answers)} answers to one press:\n{describe(calls)}"
        assert answers[0].ok, f"Telegram refused the answer: {answers[0].description}"
        return answers[0]

    async def inline(self, user_id: int, query: str, *, offset: str = "") -> Call:
        """`user_id` types `@bot query`; the bot's (successful) answerInlineQuery."""
        inline = self.telegram.inline_query(user_id, query, offset=offset)
        calls = await self.deliver()
        for call in calls:
            if (
                call.method == "answerInlineQuery"
                and call.params["inline_query_id"] == inline["id"]
            ):
                assert call.ok, f"Telegram refused the results: {call.description}"
                return call
        raise AssertionError(f"no answerInlineQuery; the bot called:\n{describe(calls)}")

    async def silent_in(self, chat_id: int, calls: list[Call] | None = None) -> None:
        """Deliver the queued updates and check the bot sent nothing about `chat_id`."""
        calls = await self.deliver() if calls is None else calls
        about = [c for c in calls if c.params.get("chat_id") == chat_id]
        assert about == [], describe(about)

    # ---------------------------------------------------------------- time

    async def fast_forward(self, seconds: float) -> None:
        """Let `seconds` pass at once for what the bot has scheduled: the event loop's timers
        (asyncio's call_later and sleep: the inline log's wait after a keystroke) and the
        job queue's jobs due by then run now, once. Wall-clock readings (time.monotonic:
        flood windows, cooldowns) do not move."""
        loop = asyncio.get_running_loop()
        if self._loop_time is None:
            real_time = loop.time
            self._loop_time = (loop, real_time)
            loop.time = lambda: real_time() + self._skipped  # type: ignore[method-assign]
        self._skipped += seconds
        job_queue = self.app.job_queue
        if job_queue is not None:  # APScheduler reads the wall clock, not the loop's
            horizon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
            for job in job_queue.jobs():
                if job.removed or job.next_t is None or job.next_t > horizon:
                    continue
                if job.job.trigger.__class__.__name__ == "DateTrigger":  # a one-off job
                    job.schedule_removal()
                await job.run(self.app)
        for _ in range(3):  # the timers now due run before this returns
            await asyncio.sleep(0)

    def _real_loop_time(self) -> None:
        """Give the event loop its own clock back."""
        if self._loop_time is not None:
            loop, _ = self._loop_time
            del loop.time  # the instance attribute set by fast_forward
            self._loop_time = None


# The `start_bot` fixture (tests/conftest.py): start_bot(folder=None, telegram=None, **env).
StartBot = Callable[..., Awaitable[InProcessBot]]


def describe(calls: list[Call]) -> str:
    return "\n".join(f"  {c.method} {c.status} {c.params}" for c in calls) or "  (nothing)"


async def query_log_rows(
    database: Path,
    sql: str,
    *params: object,
    until: Callable[[list[tuple[Any, ...]]], bool] = bool,
    timeout: float = 10.0,
) -> list[tuple[Any, ...]]:
    """The rows of `sql` on the query log once `until(rows)` holds, or whatever is there at
    the timeout. The log's writer batches its rows on the bot's event loop, so a row lands a
    moment after the reply: this waits without blocking that loop, and reads only."""
    deadline = time.monotonic() + timeout
    while True:
        rows: list[tuple[Any, ...]] = []
        if database.exists():
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
                try:
                    rows = db.execute(sql, params).fetchall()
                except sqlite3.OperationalError:  # the tables are not created yet
                    rows = []
        if until(rows) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.02)
