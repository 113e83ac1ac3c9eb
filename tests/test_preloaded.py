"""The launcher the subprocess tests start the bot from (tests/preloaded.py): a child is a
process of its own with exactly the test's environment, folder and output file."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import SEEDS, hermetic_environment
from tests.fake_telegram import FakeTelegram
from tests.preloaded import launcher
from tests.telegram_harness import bot_environment

SEED_ID = "4859508c0bdee28a"


def start(argv: list[str], folder: Path, **env: str) -> tuple[int, str]:
    """Run `python -m bot ARGV` from the launcher to its end: its exit code and output."""
    output = folder / f"out-{len(list(folder.glob('out-*.log')))}.log"
    process = launcher(hermetic_environment()).start(
        argv, hermetic_environment(**env), folder, output
    )
    code = process.wait(timeout=60)
    return code, output.read_text(encoding="utf-8")


def test_a_child_runs_in_its_folder_with_only_the_tests_environment(tmp_path: Path) -> None:
    # SEEDS_DIR from the folder's .env, relative to it: the child works in the folder.
    shutil.copytree(SEEDS, tmp_path / "content")
    (tmp_path / "content" / "empty.md").write_text("\n", encoding="utf-8")
    (tmp_path / ".env").write_text("SEEDS_DIR=content\n", encoding="utf-8")
    code, output = start(["check"], tmp_path)
    assert code == 1
    assert "empty.md:1: empty file" in output
    assert SEED_ID in output and "1 articles, 9 passages, 1 rejected" in output
    # A setting given by the test counts, and nothing else: the same check, broken setting.
    code, output = start(["check"], tmp_path, ADMIN_USER_IDS="12,bob")
    assert code == 2
    assert output.strip() == "error: ADMIN_USER_IDS: 'bob' is not a numeric Telegram user id"


@pytest.mark.slow
def test_exit_codes_and_signals_are_as_popens(fake: FakeTelegram, tmp_path: Path) -> None:
    # `run` without a token exits 2 at once; a chat reading stdin (nothing: /dev/null) ends 0.
    assert start(["run"], tmp_path)[0] == 2
    assert start(["chat"], tmp_path)[0] == 0
    # A running bot: a signal ends it, negative as Popen's returncode says, and waiting on
    # it before then times out.
    polls = fake.polls
    process = launcher(hermetic_environment()).start(
        ["run"], bot_environment(fake, SEEDS_DIR=str(SEEDS)), tmp_path, tmp_path / "bot.log"
    )
    fake.wait_until_polling(timeout=60, since=polls)
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=0.2)
    assert process.poll() is None
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    deadline = time.monotonic() + 5
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.returncode == -signal.SIGKILL
