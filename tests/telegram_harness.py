"""The subprocess harness: `python -m bot run` as a subprocess against the fake Bot API.

For what only a real process shows (signals, restarts, polling, webhook mode, floods under
load); everything else runs in process (tests/inprocess.py). `RunningBot` starts the bot
with its own copy of the seeds and its own query log, and waits until it polls; `reply_to`
injects an update and waits for the bot's answer. The ids below are shared by both.
"""

from __future__ import annotations

import atexit
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import SEEDS, hermetic_environment
from tests.fake_telegram import Call, FakeTelegram
from tests.preloaded import PreloadedProcess, launcher
from tests.telegram_html import parse_telegram_html

ADMIN = 42
READER = 1001
OTHER_READER = 1002
GROUP = -100500
BOT = "digest_test_bot"


def bot_environment(fake: FakeTelegram, **env: str) -> dict[str, str]:
    """A from-scratch environment pointed at the fake Bot API: the shell's variables
    (a real token, DATABASE_PATH, thresholds) never leak in."""
    return hermetic_environment(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_BASE_URL=fake.base_url,
        TELEGRAM_BASE_FILE_URL=fake.base_file_url,
        **env,
    )


class RunningBot:
    """A `python -m bot run` subprocess and the fake it talks to.

    The process is forked from a launcher that has done the bot's imports already
    (tests/preloaded.py), or, with `fresh_interpreter`, is a new interpreter. It starts
    with its own copy of the seeds and its own query log in `folder`, and (unless
    `polling` is off, as in webhook mode) returns once the bot is waiting for updates.
    """

    def __init__(
        self,
        fake: FakeTelegram,
        folder: Path,
        *,
        polling: bool = True,
        fresh_interpreter: bool = False,
        **env: str,
    ) -> None:
        self.fake = fake
        self.folder = folder
        self.seeds = folder / "seeds"
        self.database = folder / "data" / "log.sqlite3"
        self.output_path = folder / "bot.log"
        if not self.seeds.exists():
            shutil.copytree(SEEDS, self.seeds)
        environment = bot_environment(
            fake,
            **{
                "ADMIN_USER_IDS": str(ADMIN),
                "SEEDS_DIR": str(self.seeds),
                "DATABASE_PATH": str(self.database),
                **env,
            },
        )
        self._output = self.output_path.open("wb")
        polls = fake.polls
        self.process: subprocess.Popen[bytes] | PreloadedProcess
        if fresh_interpreter:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=folder,  # no .env there: only the environment above counts
                env=environment,
                stdout=self._output,
                stderr=subprocess.STDOUT,
            )
        else:  # the same, forked from an interpreter that has done the imports
            self.process = launcher(hermetic_environment()).start(
                ["run"], environment, folder, self.output_path
            )
        STARTED.append(self)
        if polling:
            fake.wait_until_polling(timeout=60, since=polls)

    def reply_to(self, inject: Callable[[], object], chat_id: int, timeout: float = 15.0) -> Call:
        """Run `inject()` and wait for the bot's next sendMessage to `chat_id`."""
        mark = self.fake.mark()
        inject()
        return self.fake.wait_for_call("sendMessage", timeout, after=mark, chat_id=chat_id)

    def silent_after(self, inject: Callable[[], object], chat_id: int) -> None:
        """Run `inject()`, let the bot take the update, and check it sent nothing to the chat."""
        mark = self.fake.mark()
        inject()
        self.fake.wait_until_confirmed(timeout=15)
        # One more round trip: the bot handles an update before confirming the next batch.
        self.reply_to(lambda: self.fake.private_message(OTHER_READER, "/help"), OTHER_READER)
        sent = [c for c in self.fake.calls[mark:] if c.params.get("chat_id") == chat_id]
        assert sent == []

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=30)
        finally:
            self._output.close()

    def wait_for_output(self, text: str, timeout: float = 15.0) -> str:
        """Wait until the bot's log contains `text` (a log line may trail the reply it
        describes); returns the whole log."""
        deadline = time.monotonic() + timeout
        while text not in (output := self.output):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the bot's log after {timeout} s:\n{output}")
            time.sleep(0.05)
        return output

    @property
    def output(self) -> str:
        if not self._output.closed:
            self._output.flush()
        return self.output_path.read_text(encoding="utf-8", errors="replace")


# Every bot started, so that one a failed test left running is killed (kill_leftovers).
STARTED: list[RunningBot] = []


def kill_leftovers(since: int = 0) -> None:
    """Kill the bots started after the first `since` that are still running: a test that
    failed before stopping its bot would leave it polling a fake that is gone. Called after
    each test with the bots it started (tests/conftest.py), and for all at exit."""
    while len(STARTED) > since:
        running = STARTED.pop()
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=30)
        running._output.close()


atexit.register(kill_leftovers)


def buttons(call: Call) -> list[dict[str, Any]]:
    """The inline keyboard's buttons of a sendMessage (or edit), row by row, in order."""
    markup = call.params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def text_of(call: Call) -> str:
    """The visible text of a sendMessage (the fake has already validated its HTML)."""
    return parse_telegram_html(call.params["text"])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
