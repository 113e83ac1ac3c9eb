"""Watching SEEDS_DIR: content dropped into the folder is served without a restart.

Which files matter (`is_content_file`): the article files, `aliases.toml` and
`sources.toml`; never hidden files (an upload's `.upload-*` temporary, an editor's
`.x.md.swp`), backups (`x.md~`, `#x.md#`) or partial downloads, whose suffixes are not
an article's anyway. A change is noticed by watchfiles (inotify and its kin) or, where
those cannot see changes (network and container volumes) or cannot start, by comparing
the folder's listing every `poll_seconds` (`SEEDS_WATCH=auto|poll|off`).

Changes are debounced (`Debounce`): a reload waits until the folder has been quiet for
`quiet` seconds, so a file copied in pieces or several files dropped together cause one
reload; a folder that never stops changing is still reloaded every `longest` seconds.

Whether a reload is needed at all is decided by the files' contents (`fingerprint`), not
by the event: a touched file, or a file the bot wrote itself (an upload, already
reloaded), has the fingerprint of the last load and causes nothing.

No Telegram import: `SeedsWatcher` is handed the `reload` to call (handlers/watcher.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from bot.parsing import GLOSSARY_NAME, is_article_file
from bot.sources import SOURCES_NAME

logger = logging.getLogger(__name__)

DEFAULT_QUIET = 2.0  # seconds without a change before a reload (SEEDS_DEBOUNCE_SECONDS)
DEFAULT_POLL = 5.0  # seconds between two listings when polling (SEEDS_POLL_SECONDS)
LONGEST_WAIT = 30.0  # a folder that keeps changing is reloaded at least this often
UNREADABLE = "unreadable"  # a file's fingerprint when it cannot be read (a change too)
# watchfiles' own grouping of raw events (milliseconds): short, our Debounce does the rest.
WATCHFILES_DEBOUNCE_MS = 200
WATCHFILES_STEP_MS = 50
# Suffixes of partial or temporary files, refused even if a tool names them oddly.
TEMPORARY_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".swp", ".swx")
# A snapshot: file name -> (modification time in ns, size), for the polling fallback.
Snapshot = dict[str, tuple[int, int]]
# A fingerprint: file name -> the SHA-256 of its bytes (or UNREADABLE).
Fingerprint = dict[str, str]


class WatchMode(Enum):
    AUTO = "auto"  # watchfiles, polling when it cannot start
    POLL = "poll"  # polling only (network and container volumes)
    OFF = "off"  # no watching: /reload and uploads only


def is_content_file(name: str) -> bool:
    """Whether a file of SEEDS_DIR named `name` is content: an article, the glossary or the
    sources; not hidden, temporary, a backup or a README."""
    lower = name.lower()
    if not name or name.startswith((".", "#", "~")) or lower.endswith(TEMPORARY_SUFFIXES):
        return False
    if lower in (GLOSSARY_NAME, SOURCES_NAME):
        return True
    return is_article_file(Path(name))


def _content_files(folder: Path) -> list[Path]:
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError:  # missing or unreadable: nothing to see (yet)
        return []
    return [p for p in entries if is_content_file(p.name)]


def snapshot(folder: Path) -> Snapshot:
    """The content files' times and sizes (cheap: what polling compares); never raises."""
    found: Snapshot = {}
    for path in _content_files(folder):
        with contextlib.suppress(OSError):
            info = path.stat()
            if path.is_file():
                found[path.name] = (info.st_mtime_ns, info.st_size)
    return found


def fingerprint(folder: Path) -> Fingerprint:
    """The content files' hashes: what a reload would read (files are at most
    CONTENT_MAX_BYTES each, so this is quick); never raises."""
    found: Fingerprint = {}
    for path in _content_files(folder):
        if not path.is_file():
            continue
        try:
            found[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            found[path.name] = UNREADABLE
    return found


def changed_files(before: Fingerprint | None, after: Fingerprint) -> list[str]:
    """The names added, changed or removed between two fingerprints, sorted."""
    if before is None:
        return sorted(after)
    names = before.keys() | after.keys()
    return sorted(name for name in names if before.get(name) != after.get(name))


@dataclass
class Debounce:
    """When a burst of changes is over: `quiet` seconds after the last change, and at the
    latest `longest` seconds after the first (times from any one monotonic clock)."""

    quiet: float = DEFAULT_QUIET
    longest: float = LONGEST_WAIT
    first: float | None = None
    last: float | None = None

    def notice(self, now: float) -> None:
        """A change was seen at `now`."""
        if self.first is None:
            self.first = now
        self.last = now

    @property
    def pending(self) -> bool:
        return self.last is not None

    def due_at(self) -> float | None:
        """When the reload is due (None: no change pending)."""
        if self.first is None or self.last is None:
            return None
        return min(self.last + self.quiet, self.first + max(self.longest, self.quiet))

    def take(self, now: float) -> bool:
        """True (and the burst forgotten) when a reload is due at `now`."""
        due = self.due_at()
        if due is None or now < due:
            return False
        self.first = self.last = None
        return True


Reload = Callable[[], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


class SeedsWatcher:
    """Notices changes in `folder` and calls `reload` once per burst (see the module doc).

    `run` until cancelled (or `stop`); `clock` and `sleep` are injectable so that tests
    need not wait real seconds. With `check_at_start`, `reload` is called once after the
    first quiet period, for what changed before the watch began (it must then skip itself
    when nothing changed, as handlers/watcher.py's does). Changes are noticed by
    watchfiles in AUTO mode, by a listing every `poll_seconds` in POLL mode or when
    watchfiles cannot start (or its folder went away).
    """

    def __init__(
        self,
        folder: Path,
        reload: Reload,
        *,
        mode: WatchMode = WatchMode.AUTO,
        quiet: float = DEFAULT_QUIET,
        poll_seconds: float = DEFAULT_POLL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        check_at_start: bool = False,
    ) -> None:
        self.folder = folder
        self.reload = reload
        self.mode = mode
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.sleep = sleep
        self.debounce = Debounce(quiet=quiet)
        self.check_at_start = check_at_start
        self.how = mode.value  # what is watching now: "watchfiles", "poll" or "off"
        self.reloads = 0
        self._changed = asyncio.Event()
        self._stop = threading.Event()  # watchfiles checks it from its thread

    def notice(self) -> None:
        """A change was seen now (called by the change source; tests call it directly)."""
        self.debounce.notice(self.clock())
        self._changed.set()

    async def run(self) -> None:
        """Watch and reload until cancelled. Never raises for a reload that fails."""
        if self.mode is WatchMode.OFF:
            self.how = "off"
            return
        source = asyncio.create_task(self._watch(), name="seeds-watch-source")
        if self.check_at_start:
            # A file that arrived after the content was loaded but before the watch began
            # is seen by no event: one reload check, `quiet` seconds in (the reload skips
            # itself when nothing changed).
            self.notice()
        try:
            await self.reload_when_quiet()
        finally:
            self._stop.set()
            source.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await source

    async def reload_when_quiet(self) -> None:
        """The debouncing loop: after a change, wait for the quiet, then reload once."""
        while True:
            await self._changed.wait()
            self._changed.clear()
            while (due := self.debounce.due_at()) is not None:
                if self.debounce.take(self.clock()):
                    await self._reload()
                    break
                await self.sleep(max(0.0, due - self.clock()))

    async def _reload(self) -> None:
        self.reloads += 1
        try:
            await self.reload()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("content folder: the reload after a change failed")

    def stop(self) -> None:
        """Ask the change source to end (watchfiles' thread notices within a step)."""
        self._stop.set()

    # -- change sources ------------------------------------------------------------------

    async def _watch(self) -> None:
        # Polling compares with the folder as it was when watching began (or, below, when it
        # went away): a file that arrives while watchfiles fails to start is not missed.
        baseline = await asyncio.to_thread(snapshot, self.folder)
        if self.mode is WatchMode.AUTO:
            try:
                self.how = "watchfiles"
                async for count in self.watchfiles_changes():
                    if count:
                        self.notice()
                    if not self.folder.is_dir():
                        # Its watch went with it: a folder made again in its place is
                        # only seen by polling.
                        logger.warning(
                            "content folder %s is gone; checking it every %s s",
                            self.folder, self.poll_seconds,
                        )  # fmt: skip
                        baseline = {}
                        break
                else:
                    return  # stopped
            except asyncio.CancelledError:
                raise
            except Exception as error:  # no inotify, no folder, too many watches...
                logger.warning(
                    "content folder %s cannot be watched for changes (%s: %s); checking it "
                    "every %s s instead",
                    self.folder, type(error).__name__, error, self.poll_seconds,
                )  # fmt: skip
        self.how = "poll"
        await self.poll(baseline)

    async def watchfiles_changes(self) -> AsyncIterator[int]:
        """How many content files each batch of watchfiles' events changed (0: only the
        folder itself, e.g. removed); raises when it cannot watch."""
        from watchfiles import awatch

        if not self.folder.is_dir():
            raise FileNotFoundError(f"{self.folder} is not a folder")
        folder = self.folder.resolve()

        def relevant(changed: Path) -> bool:
            return changed.parent == folder and is_content_file(changed.name)

        async for changes in awatch(
            folder,
            watch_filter=lambda _change, path: Path(path) == folder or relevant(Path(path)),
            debounce=WATCHFILES_DEBOUNCE_MS,
            step=WATCHFILES_STEP_MS,
            stop_event=self._stop,
            recursive=False,
            force_polling=False,
        ):
            yield sum(1 for _change, path in changes if relevant(Path(path)))

    async def poll(self, baseline: Snapshot | None = None) -> None:
        """Compare the folder's listing every `poll_seconds` (a missing folder is empty),
        the first time with `baseline` (default: the listing now)."""
        last = await asyncio.to_thread(snapshot, self.folder) if baseline is None else baseline
        while not self._stop.is_set():
            await self.sleep(self.poll_seconds)
            now = await asyncio.to_thread(snapshot, self.folder)
            if now != last:
                last = now
                self.notice()
