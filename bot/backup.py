"""`python -m bot backup PATH`: a consistent copy of DATABASE_PATH, taken while the bot runs.

SQLite's online backup API copies the database in one step inside a read transaction: in
WAL mode (the bot's) that is a snapshot as of its start, every committed row in it, and the
running bot keeps writing meanwhile (readers never block its writer). The copy is written
beside PATH, checked (`PRAGMA integrity_check`), switched to a plain rollback journal so
that it is one self-contained file, and only then renamed to PATH: a backup that failed
halfway never leaves a file that looks like one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

# How long the backup waits for a lock the bot holds (a checkpoint, a migration).
BUSY_TIMEOUT_SECONDS = 30.0


class BackupError(Exception):
    """The backup could not be made; the message says why (and nothing was left behind)."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int  # bytes
    rows: dict[str, int]  # table -> rows in the copy


def backup(source: Path, target: Path, now: dt.datetime | None = None) -> BackupResult:
    """Copy the database at `source` to `target` (a folder: a dated file in it)."""
    if not source.is_file():
        raise BackupError(f"no database at {source} (DATABASE_PATH)")
    if target.is_dir():
        stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
        target = target / f"{source.stem}-{stamp}.sqlite3"
    if target.exists():
        raise BackupError(f"{target} exists already; give a new file name or a folder")
    if not target.parent.is_dir():
        raise BackupError(f"no folder {target.parent} to write the backup in")
    if target.resolve() == source.resolve():
        raise BackupError("the backup cannot be the database itself")
    partial = target.with_name(f".{target.name}.partial")
    try:
        rows = _copy(source, partial)
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, target)
    except sqlite3.Error as error:
        raise BackupError(f"{source}: {error}") from error
    except OSError as error:
        raise BackupError(f"{target}: {error.strerror or error}") from error
    finally:
        for leftover in (partial, Path(f"{partial}-journal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return BackupResult(target, target.stat().st_size, rows)


def _copy(source: Path, partial: Path) -> dict[str, int]:
    """The online backup into `partial`, checked; the rows of each table."""
    with (
        contextlib.closing(sqlite3.connect(source, timeout=BUSY_TIMEOUT_SECONDS)) as src,
        contextlib.closing(sqlite3.connect(partial)) as copy,
    ):
        src.backup(copy)  # one step: a snapshot as of its start
        copy.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
        (check,) = copy.execute("PRAGMA integrity_check").fetchone()
        if check != "ok":
            raise sqlite3.DatabaseError(f"the copy fails its integrity check: {check}")
        tables = [
            name
            for (name,) in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {
            table: copy.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] for table in tables
        }
