from __future__ import annotations

import io
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# Cache the test modules as pytest rewrites their asserts (tests/__pycache__, like any
# module's bytecode) even under PYTHONDONTWRITEBYTECODE, which some shells and sandboxes
# set: otherwise every worker rewrites all of them at every run, ~3 s of CPU each. (The
# bot's own subprocesses write their bytecode anyway: their environment is built afresh.)
sys.dont_write_bytecode = False

if TYPE_CHECKING:
    from bot.library import Library
    from tests.fake_telegram import FakeTelegram
    from tests.inprocess import InProcessBot, StartBot

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_ID = "000_4859508c0bdee28a"
# The team's read-only folder beside the project (seeds, the corpus generator).
SHARED = ROOT.parent / "shared"


def synthetic_corpus(folder: Path, articles: int) -> Path:
    """`articles` synthetic digests (../shared/tools/make_corpus.py, seed 1) in `folder`:
    the look-alike distractors of the evaluations. Tests that call it are needs_shared."""
    import subprocess

    subprocess.run(
        [sys.executable, str(SHARED / "tools" / "make_corpus.py"), str(folder),
         "--articles", str(articles), "--seed", "1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return folder


def hermetic_environment(**env: str) -> dict[str, str]:
    """A subprocess environment built from scratch: only what a test sets counts.

    Nothing of the developer's shell leaks in (an exported MATCH_ANSWER_THRESHOLD,
    DATABASE_PATH or TELEGRAM_BOT_TOKEN must not change a result); the interpreter is
    `sys.executable`, so PATH only needs the system's default.
    """
    return {
        "PATH": os.defpath,
        "HOME": tempfile.gettempdir(),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        # matplotlib (the stats chart) wants a writable config folder.
        "MPLCONFIGDIR": str(Path(tempfile.gettempdir()) / "digest-bot-mpl"),
        **env,
    }


class HandClock:
    """A clock a test moves by hand (`clock.now += 30`): no test waits a real second."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.hookimpl(wrapper=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> Iterator[int]:
    """`-n auto` starts one worker more than xdist would (one per core): a few tests wait
    for seconds on a subprocess or a flood wait, and the extra worker uses those cores
    meanwhile (on 2 cores the suite took 34-36 s instead of 40-55). An explicit
    PYTEST_XDIST_AUTO_NUM_WORKERS is taken as it is."""
    workers = yield
    return workers if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") else workers + 1


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_shared: the test reads ../shared (skipped, with the reason, without it)"
    )
    config.addinivalue_line(
        "markers",
        "slow: the test takes a second or more (a bot process, a real flood wait): it starts "
        "first in its worker's share (slow_first)",
    )
    config.addinivalue_line(
        "markers",
        "bot(env={}, files={}, privacy_mode=True): how the `bot` fixture's bot is set up: "
        "environment variables as for `python -m bot run`, extra files in its seeds folder "
        "(name -> text, bytes, or a Path to copy), and Telegram's group privacy mode; a "
        "test's marker adds to (and overrides) its module's",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked needs_shared are skipped visibly (never silently passed) without it;
    the slow tests go first in each worker's share."""
    if not SHARED.is_dir():
        skip = pytest.mark.skip(reason=f"needs the shared folder at {SHARED}, which is absent")
        for item in items:
            if item.get_closest_marker("needs_shared"):
                item.add_marker(skip)
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    items[:] = slow_first(items, workers)


def slow_first(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """`items` reordered so that each of `workers` shares starts with its part of the slow
    tests. xdist's worksteal hands worker k the k-th contiguous share of the collection and
    lets an idle worker take the back half of the longest queue: slow tests at the front of
    every share start at once, side by side, and none is left to run alone at the end (a
    3 s test started last made the suite 3 s longer). Every worker computes the same order."""
    slow = [item for item in items if item.get_closest_marker("slow")]
    rest = [item for item in items if not item.get_closest_marker("slow")]
    if workers <= 1 or not slow:
        return items
    ordered: list[pytest.Item] = []
    remaining = len(items)
    for share in range(workers):  # the sizes xdist's WorkStealingScheduling sends
        size = remaining // (workers - share)
        remaining -= size
        own = slow[share::workers]
        ordered += own + rest[: max(size - len(own), 0)]
        del rest[: max(size - len(own), 0)]
    return ordered + rest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """No `python -m bot run` a test started outlives it, even if the test failed before
    stopping it (a fixture's bot is the fixture's to stop)."""
    harness = sys.modules.get("tests.telegram_harness")
    started = len(harness.STARTED) if harness is not None else 0
    try:
        return (yield)
    finally:
        harness = sys.modules.get("tests.telegram_harness")
        if harness is not None:
            harness.kill_leftovers(since=started)


# An article in the Markdown form, and one that ends in an empty section (rejected):
# what the upload tests send.
ROVER = """# Lunar rover program update
Source: Space Desk · 2025-06-02 09:30

## Core Viewpoint
The lunar rover program is on schedule after its battery redesign [1].

## Battery
- The redesigned solid-state battery keeps the rover running through the lunar night [2][3].

## Payload
- The rover carries a ground-penetrating radar to map water ice near the south pole [4].
""".encode()

BROKEN = b"# Draft\nSource: X \xc2\xb7 2025-01-01\n\n## Core Viewpoint\nA view [1].\n\n## Outlook\n"


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    """A fake Bot API over HTTP (privacy mode on, as Telegram's default), for a bot run as a
    subprocess (tests/telegram_harness.py)."""
    from tests.fake_telegram import FakeTelegram
    from tests.telegram_harness import BOT

    with FakeTelegram(username=BOT) as server:
        yield server


@pytest.fixture
async def start_bot(tmp_path: Path) -> AsyncIterator[StartBot]:
    """Starts the bot in process (tests/inprocess.py) when the test says, on tmp_path/"bot"
    unless told another folder, with a fake Telegram of its own unless given one; every bot
    it started is stopped at the end of the test."""
    from tests.fake_telegram import FakeTelegram
    from tests.inprocess import InProcessBot
    from tests.telegram_harness import BOT

    started: list[InProcessBot] = []

    async def start(
        folder: Path | None = None, telegram: FakeTelegram | None = None, **env: str
    ) -> InProcessBot:
        telegram = telegram or FakeTelegram(username=BOT)
        running = InProcessBot(telegram, folder or tmp_path / "bot", **env)
        started.append(running)
        await running.launch()
        return running

    try:
        yield start
    finally:
        for running in reversed(started):
            await running.stop()


@pytest.fixture
async def bot(request: pytest.FixtureRequest, tmp_path: Path, start_bot: StartBot) -> InProcessBot:
    """The bot in process (tests/inprocess.py), started on a copy of the seeds in tmp_path
    with its own database and fake Telegram; `@pytest.mark.bot(...)` sets it up otherwise."""
    from tests.fake_telegram import FakeTelegram
    from tests.telegram_harness import BOT

    env: dict[str, str] = {}
    files: dict[str, str | bytes | Path] = {}
    privacy_mode = True
    # The module's marker, then the test's: the closer one wins.
    for marker in reversed(list(request.node.iter_markers("bot"))):
        env.update(marker.kwargs.get("env", {}))
        files.update(marker.kwargs.get("files", {}))
        privacy_mode = marker.kwargs.get("privacy_mode", privacy_mode)
    folder = tmp_path / "bot"
    shutil.copytree(SEEDS, folder / "seeds")
    for name, content in files.items():
        target = folder / "seeds" / name
        if isinstance(content, Path):
            shutil.copy(content, target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    telegram = FakeTelegram(username=BOT, can_read_all_group_messages=not privacy_mode)
    return await start_bot(folder, telegram, **env)


@dataclass(frozen=True)
class Ran:
    """What `bot.cli.main` returned and printed."""

    returncode: int
    stdout: str
    stderr: str


MainRunner = Callable[..., Ran]


@pytest.fixture
def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[MainRunner]:
    """`run_main(*ARGS, cwd=, stdin="", **env)`: `bot.cli.main(ARGS)` in this process as
    tests/test_cli.py's `run_bot` runs `python -m bot ARGS`: in a from-scratch environment
    (nothing of the developer's shell), from `cwd`, with `stdin` as its input."""
    from bot.cli import main

    levels = {name: logging.getLogger(name).level for name in ("bot", "handlers")}

    def run(*args: str, cwd: Path, stdin: str | bytes = b"", **env: str) -> Ran:
        environment = hermetic_environment(**{"SEEDS_DIR": str(SEEDS), **env})
        data = stdin.encode() if isinstance(stdin, str) else stdin
        with monkeypatch.context() as patch:
            for name in list(os.environ):
                patch.delenv(name)
            for name, value in environment.items():
                patch.setenv(name, value)
            patch.chdir(cwd)
            patch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
            capsys.readouterr()
            code = main(list(args))
            out, err = capsys.readouterr()
        return Ran(code, out, err)

    yield run
    for name, level in levels.items():  # main() sets the log level of the bot's loggers
        logging.getLogger(name).setLevel(level)


@pytest.fixture(scope="session")
def library() -> Library:
    """The bundled seed, indexed once per session with Library's own default thresholds
    and no glossary (not the bot's settings: the in-process bot loads its own). Tests that
    check loading itself (test_parsing, test_content_limits) load afresh."""
    from bot.library import Library
    from bot.parsing import load_folder

    return Library(load_folder(SEEDS).articles)


@pytest.fixture
def suggested_question(library: Library) -> str:
    """A question the matcher answers with suggestions (checked on the library fixture, not
    assumed)."""
    from bot.answers import Outcome

    for question in ("Did DeepSeek prove the Scaling Law wrong?", "scaling law deepseek"):
        if library.ask(question).outcome is Outcome.SUGGESTED:
            return question
    pytest.fail("no suggested question: update this fixture's candidates")
