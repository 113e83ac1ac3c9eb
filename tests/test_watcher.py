"""bot/watcher.py: which files matter, the debounce, and noticing changes (watchfiles, and
the polling fallback) without a real multi-second wait: the clock and sleep are injected."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.watcher import (
    Debounce,
    SeedsWatcher,
    WatchMode,
    changed_files,
    fingerprint,
    is_content_file,
    snapshot,
)
from tests.conftest import ROVER


class FakeTime:
    """A clock that `sleep` moves on at once; `at(t, action)` runs `action` when the clock
    passes `t` during a sleep (a change arriving while the watcher waits)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.events: list[tuple[float, Callable[[], None]]] = []

    def clock(self) -> float:
        return self.now

    def at(self, moment: float, action: Callable[[], None]) -> None:
        self.events.append((moment, action))
        self.events.sort(key=lambda event: event[0])

    async def sleep(self, seconds: float) -> None:
        target = self.now + seconds
        while self.events and self.events[0][0] <= target:
            moment, action = self.events.pop(0)
            self.now = moment
            action()
        self.now = target
        await asyncio.sleep(0)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the timeout"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("name", "matters"),
    [
        ("rover.md", True),
        ("000_4859508c0bdee28a.txt", True),
        ("aliases.toml", True),
        ("sources.toml", True),
        ("README.md", False),
        (".upload-x1y2.md", False),  # the bot's own temporary (bot/uploads.py)
        (".rover.md.swp", False),  # vim
        ("rover.md~", False),  # a backup
        ("#rover.md#", False),  # emacs
        ("rover.md.part", False),  # a download in progress
        ("rover.md.tmp", False),
        ("notes.docx", False),
        ("other.toml", False),
    ],
)
def test_which_files_matter(name: str, matters: bool) -> None:
    assert is_content_file(name) is matters


def test_fingerprints_say_what_changed(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_bytes(ROVER)
    (tmp_path / ".a.md.swp").write_bytes(b"swap")
    before = fingerprint(tmp_path)
    assert list(before) == ["a.md"]
    (tmp_path / "a.md").write_bytes(ROVER)  # the same bytes again: not a change
    assert changed_files(before, fingerprint(tmp_path)) == []
    (tmp_path / "b.md").write_bytes(ROVER)
    (tmp_path / "a.md").unlink()
    assert changed_files(before, fingerprint(tmp_path)) == ["a.md", "b.md"]
    assert fingerprint(tmp_path / "missing") == {} == snapshot(tmp_path / "missing")


def test_debounce_waits_for_quiet_and_not_forever() -> None:
    debounce = Debounce(quiet=2.0, longest=10.0)
    assert debounce.due_at() is None and not debounce.take(100.0)
    debounce.notice(0.0)
    debounce.notice(1.5)
    assert debounce.due_at() == 3.5
    assert not debounce.take(3.0)
    assert debounce.take(3.5)
    assert not debounce.pending
    for moment in range(0, 20):  # a folder that never goes quiet
        debounce.notice(100.0 + moment)
    assert debounce.due_at() == 110.0


async def test_a_burst_of_changes_is_one_reload() -> None:
    fake = FakeTime()
    reloaded_at: list[float] = []

    async def reload() -> None:
        reloaded_at.append(fake.now)

    watcher = SeedsWatcher(Path("."), reload, quiet=2.0, clock=fake.clock, sleep=fake.sleep)
    # A file copied in pieces and two more dropped with it: changes 0.5 s apart.
    for moment in (0.5, 1.0, 1.5, 2.5):
        fake.at(moment, watcher.notice)
    watcher.notice()  # at 0
    task = asyncio.create_task(watcher.reload_when_quiet())
    try:
        await until(lambda: len(reloaded_at) == 1)
        await asyncio.sleep(0.05)
        assert reloaded_at == [4.5]  # 2 s after the last change, once
        # The next change, later, is a reload of its own.
        fake.now = 60.0
        watcher.notice()
        await until(lambda: len(reloaded_at) == 2)
        assert reloaded_at[1] == 62.0
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_failing_reload_does_not_stop_the_watcher() -> None:
    fake = FakeTime()
    calls: list[float] = []

    async def reload() -> None:
        calls.append(fake.now)
        raise OSError("disk gone")

    watcher = SeedsWatcher(Path("."), reload, quiet=0.0, clock=fake.clock, sleep=fake.sleep)
    task = asyncio.create_task(watcher.reload_when_quiet())
    try:
        watcher.notice()
        await until(lambda: len(calls) == 1)
        watcher.notice()
        await until(lambda: len(calls) == 2)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def run_watcher(watcher: SeedsWatcher) -> asyncio.Task[None]:
    task = asyncio.create_task(watcher.run())
    await asyncio.sleep(0.05)  # its first listing, or watchfiles' start
    return task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_polling_notices_a_new_file(tmp_path: Path) -> None:
    reloads: list[str] = []

    async def reload() -> None:
        reloads.append("reload")

    async def short_sleep(seconds: float) -> None:
        await asyncio.sleep(0.01)  # the poll interval, shortened

    watcher = SeedsWatcher(
        tmp_path, reload, mode=WatchMode.POLL, quiet=0.0, poll_seconds=5.0, sleep=short_sleep
    )
    task = await run_watcher(watcher)
    try:
        assert watcher.how == "poll"
        (tmp_path / ".upload-1.md").write_bytes(ROVER)  # a temporary: not seen
        await asyncio.sleep(0.1)
        assert reloads == []
        (tmp_path / ".upload-1.md").rename(tmp_path / "rover.md")
        await until(lambda: len(reloads) == 1)
    finally:
        await stop(task)


async def test_a_missing_folder_is_polled_until_it_appears(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    reloads: list[str] = []

    async def reload() -> None:
        reloads.append("reload")

    async def short_sleep(seconds: float) -> None:
        await asyncio.sleep(0.01)

    watcher = SeedsWatcher(folder, reload, quiet=0.0, sleep=short_sleep)  # AUTO
    task = await run_watcher(watcher)
    try:
        await until(lambda: watcher.how == "poll")  # watchfiles cannot watch it: polled
        folder.mkdir()
        (folder / "rover.md").write_bytes(ROVER)
        await until(lambda: len(reloads) == 1)
    finally:
        await stop(task)


async def test_watchfiles_notices_a_new_file(tmp_path: Path) -> None:
    reloads: list[str] = []

    async def reload() -> None:
        reloads.append("reload")

    watcher = SeedsWatcher(tmp_path, reload, quiet=0.0)
    task = await run_watcher(watcher)
    try:
        assert watcher.how == "watchfiles"
        await asyncio.sleep(0.2)  # the watch is set up in its thread
        (tmp_path / "rover.md").write_bytes(ROVER)
        await until(lambda: len(reloads) >= 1)
    finally:
        await stop(task)


async def test_a_watched_folder_removed_and_made_again_is_polled(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    reloads: list[str] = []

    async def reload() -> None:
        reloads.append("reload")

    async def short_sleep(seconds: float) -> None:
        await asyncio.sleep(0.01)

    watcher = SeedsWatcher(folder, reload, quiet=0.0, sleep=short_sleep)
    task = await run_watcher(watcher)
    try:
        assert watcher.how == "watchfiles"
        await asyncio.sleep(0.2)
        folder.rmdir()  # e.g. a volume remounted: the watch goes with the folder
        await until(lambda: watcher.how == "poll")
        folder.mkdir()
        (folder / "rover.md").write_bytes(ROVER)
        await until(lambda: len(reloads) >= 1)
    finally:
        await stop(task)


async def test_a_check_at_start_sees_what_arrived_before_the_watch(tmp_path: Path) -> None:
    fake = FakeTime()
    checks: list[float] = []

    async def reload() -> None:
        checks.append(fake.now)

    watcher = SeedsWatcher(
        tmp_path,
        reload,
        mode=WatchMode.POLL,
        poll_seconds=3600.0,
        clock=fake.clock,
        sleep=fake.sleep,
        check_at_start=True,
    )
    task = asyncio.create_task(watcher.run())
    try:
        await until(lambda: len(checks) == 1)
        assert checks == [2.0]  # once, after the first quiet period
    finally:
        await stop(task)


async def test_off_watches_nothing(tmp_path: Path) -> None:
    async def reload() -> None:
        raise AssertionError("no reload when off")

    watcher = SeedsWatcher(tmp_path, reload, mode=WatchMode.OFF)
    await asyncio.wait_for(watcher.run(), 1.0)  # returns at once
    assert watcher.how == "off"
