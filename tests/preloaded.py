"""`python -m bot ...` in a new process that has not paid for its imports again.

A bot process spends most of its start in imports and one-off loads (python-telegram-bot,
numpy, rjieba's dictionary, the embedding model: about 0.7 s of CPU); the subprocess tests
start fifteen. A *launcher* (`python -m tests.preloaded`, one per pytest worker, started on
first use) does those once, then forks a child for each start: the child takes the test's
environment, working folder and output file, and runs the `bot` module as `python -m bot`
would (`runpy`), in a process of its own, so signals, exit codes, its own event loop and a
SIGKILL are as real as with `subprocess.Popen`. Only what a fresh interpreter does before
`bot.cli.main` is skipped: the tests that look at that (the token never logged from the
first line, the CLI's subprocess tests) start `python -m bot` afresh.

Protocol (JSON lines): the test writes {"argv" (what follows `-m bot`), "env", "cwd",
"output"} to the launcher's stdin; the launcher answers {"pid"} for each start, and
{"pid", "returncode"} (negative for a signal, as Popen's) when a child ends. The launcher
forks from one thread only, and ends when its stdin closes (the pytest worker is gone).
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# -------------------------------------------------------------------- the launcher side


def _preload() -> None:
    """What every `python -m bot run` imports and loads at its start, done once."""
    for module in ("bot.cli", "bot.app"):  # bot.app: python-telegram-bot, the handlers
        importlib.import_module(module)
    from bot.config import load_settings
    from bot.i18n import translators
    from bot.library import load_library
    from bot.monitoring import tls_context

    translators()  # the languages' catalogs, parsed
    tls_context()  # the certificates Telegram is verified with, read

    # Loading the bundled seeds reads what the matcher loads on first use (the embedding
    # model, the synonyms and spelling lists, the Chinese lexicon and rjieba's dictionary).
    load_library(load_settings({"SEEDS_DIR": str(ROOT / "seeds")}, env_file=None))


def _serve() -> dict[str, Any] | None:
    """Answer start requests until stdin closes (None); in a forked child, return its
    request instead."""
    replies = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)  # the protocol has its own descriptor; nothing else writes there
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    # Ctrl-C in the terminal reaches the whole process group: pytest handles it, and
    # closing our stdin ends us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def reply(message: dict[str, Any]) -> None:
        os.write(replies, (json.dumps(message) + "\n").encode())

    pending = b""
    while True:
        readable, _, _ = select.select([0, wake_read], [], [])
        if wake_read in readable:
            os.read(wake_read, 4096)
            while True:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                reply({"pid": pid, "returncode": os.waitstatus_to_exitcode(status)})
        if 0 in readable:
            chunk = os.read(0, 65536)
            if not chunk:
                return None
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                # Forking copies only this thread: there must be no other to lose.
                assert threading.active_count() == 1, threading.enumerate()
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    for descriptor in (replies, wake_read, wake_write):
                        os.close(descriptor)
                    os.dup2(devnull, 0)
                    os.close(devnull)
                    return request  # type: ignore[no-any-return]
                reply({"pid": pid})


def _run_child(request: dict[str, Any]) -> None:
    """In the forked child: become `python -m bot ARGV` with the test's environment."""
    for signum in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    output = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["-m", *request["argv"]]  # runpy puts the module's path first, as -m does
    runpy.run_module("bot", run_name="__main__", alter_sys=True)  # raises SystemExit


def main() -> None:
    _preload()
    # What is loaded now is shared with every child until written to: kept out of the
    # garbage collector's passes, it stays shared (gc.freeze's purpose).
    gc.freeze()
    request = _serve()
    if request is not None:
        _run_child(request)


# ------------------------------------------------------------------------ the test side


class PreloadedProcess:
    """A child of the launcher, with the part of `subprocess.Popen` the harness uses."""

    def __init__(self, launcher: Launcher, pid: int) -> None:
        self._launcher = launcher
        self.pid = pid
        self.args = ["python", "-m", "bot"]

    @property
    def returncode(self) -> int | None:
        return self._launcher.returncodes.get(self.pid)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        with self._launcher.changed:
            if not self._launcher.changed.wait_for(lambda: self.returncode is not None, timeout):
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Launcher:
    """The launcher process and the thread that reads its answers."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.preloaded"],
            cwd=ROOT,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.changed = threading.Condition()
        self.returncodes: dict[int, int] = {}
        self._started: list[int] = []
        self.ended = False
        self._lock = threading.Lock()  # one start at a time: answers come in order
        threading.Thread(target=self._read, name="launcher-replies", daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            message = json.loads(line)
            with self.changed:
                if "returncode" in message:
                    self.returncodes[message["pid"]] = message["returncode"]
                else:
                    self._started.append(message["pid"])
                self.changed.notify_all()
        with self.changed:  # the launcher ended: nothing more will start
            self.ended = True
            self.changed.notify_all()

    def start(
        self, argv: list[str], env: dict[str, str], cwd: Path, output: Path
    ) -> PreloadedProcess:
        """Start `python -m bot ARGV` in `cwd` with exactly `env`, its stdout and stderr
        appended to `output`."""
        assert self.process.stdin is not None
        request = {"argv": argv, "env": env, "cwd": str(cwd), "output": str(output)}
        with self._lock, self.changed:
            count = len(self._started)
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            self.changed.wait_for(lambda: len(self._started) > count or self.ended, timeout=60)
            if len(self._started) <= count:  # a launcher that died left its traceback on stderr
                raise RuntimeError(f"the launcher did not start the bot: {self.process.poll()=}")
            return PreloadedProcess(self, self._started[count])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


_launcher: Launcher | None = None


def launcher(environment: dict[str, str]) -> Launcher:
    """This process's launcher, started on first use (with `environment`, a hermetic one:
    the imports it does see nothing of the developer's shell either)."""
    global _launcher
    if _launcher is None or _launcher.process.poll() is not None:
        _launcher = Launcher(environment)
        atexit.register(_launcher.close)
    return _launcher


if __name__ == "__main__":
    main()
