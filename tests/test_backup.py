"""`python -m bot backup PATH` (bot/backup.py): a consistent copy while rows are written.

A copy is a snapshot: every row committed before it began, none half-written, nothing
after it but whole transactions. Checked against a writer committing as fast as it can,
and against the running bot logging a stream of questions.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from bot.backup import BackupError, backup
from tests.conftest import MainRunner
from tests.fake_telegram import FakeTelegram
from tests.telegram_harness import BOT, RunningBot


class Writer(threading.Thread):
    """Commits rows 1, 2, 3... one small transaction each (as the query log's batches),
    into a WAL database, until stopped; `committed` is the last id committed."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.committed = 0
        self.stopping = threading.Event()
        db = sqlite3.connect(path)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
        db.execute("CREATE TABLE pairs (id INTEGER PRIMARY KEY, twin INTEGER NOT NULL)")
        db.commit()
        db.close()

    def run(self) -> None:
        db = sqlite3.connect(self.path, timeout=30)
        number = 0
        while not self.stopping.is_set():
            number += 1
            with db:  # one transaction: both tables, or neither
                db.execute("INSERT INTO rows VALUES (?, ?)", (number, "x" * 200))
                db.execute("INSERT INTO pairs VALUES (?, ?)", (number, number))
            self.committed = number
        db.close()


def test_a_backup_is_a_snapshot_while_rows_are_committed(tmp_path: Path) -> None:
    source = tmp_path / "bot.sqlite3"
    writer = Writer(source)
    writer.start()
    try:
        while writer.committed < 200:
            time.sleep(0.01)
        for number in range(5):
            before = writer.committed
            result = backup(source, tmp_path / f"copy{number}.sqlite3")
            after = writer.committed
            with sqlite3.connect(result.path) as copy:
                ids = [i for (i,) in copy.execute("SELECT id FROM rows ORDER BY id")]
                twins = copy.execute("SELECT COUNT(*) FROM pairs").fetchone()[0]
                assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
                assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            # Every row committed before the backup began, in order, no gap, and whole
            # transactions only (each row's twin with it).
            assert ids == list(range(1, len(ids) + 1))
            assert before <= len(ids) <= after
            assert twins == len(ids)
            assert result.rows == {"pairs": len(ids), "rows": len(ids)}
            assert result.size == result.path.stat().st_size
    finally:
        writer.stopping.set()
        writer.join()
    assert writer.committed > 200
    assert sorted(p.name for p in tmp_path.iterdir() if "partial" in p.name) == []


def test_a_folder_gets_a_dated_file_and_nothing_is_overwritten(tmp_path: Path) -> None:
    source = tmp_path / "bot.sqlite3"
    with sqlite3.connect(source) as db:
        db.execute("CREATE TABLE t (x)")
    folder = tmp_path / "backups"
    folder.mkdir()
    moment = dt.datetime(2026, 11, 30, 3, 0, 0, tzinfo=dt.UTC)
    result = backup(source, folder, now=moment)
    assert result.path == folder / "bot-20261130T030000Z.sqlite3"
    with pytest.raises(BackupError, match="exists already"):
        backup(source, folder, now=moment)
    with pytest.raises(BackupError, match="exists already"):
        backup(source, result.path)
    with pytest.raises(BackupError, match="no database at"):
        backup(tmp_path / "missing.sqlite3", tmp_path / "x.sqlite3")
    assert not (tmp_path / "missing.sqlite3").exists()  # never created by looking
    with pytest.raises(BackupError, match="no folder"):
        backup(source, tmp_path / "nowhere" / "x.sqlite3")


def test_a_database_that_is_not_one_leaves_no_backup(tmp_path: Path) -> None:
    source = tmp_path / "bot.sqlite3"
    source.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BackupError, match=str(source)):
        backup(source, tmp_path / "copy.sqlite3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot.sqlite3"]


def stored_ids(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {query_id for (query_id,) in db.execute("SELECT id FROM queries")}


@pytest.mark.slow
def test_backup_while_the_bot_logs_questions(tmp_path: Path, run_main: MainRunner) -> None:
    """`python -m bot backup` (its `main`, here) copies the database a running bot writes."""
    readers = 60  # 2 s of answers at the bot's overall 30 a second: time for three backups
    with FakeTelegram(username=BOT) as fake:
        running = RunningBot(fake, tmp_path)
        try:
            first = 5_000_000

            def ask() -> None:  # one question from each of many readers: no flood limit
                for number in range(readers):
                    fake.private_message(first + number, "How many customers does Alibaba serve?")
                    time.sleep(0.005)

            asking = threading.Thread(target=ask)
            asking.start()
            copies = []
            while len(copies) < 3:
                time.sleep(0.3)
                before = stored_ids(running.database)
                target = tmp_path / f"backup{len(copies)}.sqlite3"
                done = run_main(
                    "backup", str(target), cwd=tmp_path, DATABASE_PATH=str(running.database)
                )
                assert done.returncode == 0, done.stderr
                assert f"to {target}:" in done.stdout and "integrity ok" in done.stdout
                copies.append((before, target))
            asking.join()
            deadline = time.monotonic() + 120
            while len([c for c in fake.calls_to("sendMessage") if c.ok]) < readers:
                assert time.monotonic() < deadline, "not every question was answered"
                time.sleep(0.1)
        finally:
            running.stop()
    final = stored_ids(running.database)
    assert len(final) == readers
    for before, target in copies:
        held = stored_ids(target)
        assert before <= held <= final  # every row committed before it began, nothing made up
        with sqlite3.connect(target) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            tables = {name for (name,) in copy.execute("SELECT name FROM sqlite_master")}
        assert {"queries", "meta"} <= tables
    assert any(len(stored_ids(target)) < readers for _, target in copies[:1]), (
        "the first backup should be taken while questions are still being logged"
    )
