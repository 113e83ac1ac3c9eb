"""The query log from the command line: ask/chat log with via=cli, stats, forget.

`bot.cli.main` runs in this process (conftest's run_main: the same from-scratch environment,
working folder, input and exit code as `python -m bot`), except where the point is what a
process prints on stderr.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.querylog import iso, utc_now
from tests.conftest import MainRunner
from tests.test_stats import JSON_KEYS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def test_ask_and_chat_log_with_via_cli_unless_no_log(run_main: MainRunner, tmp_path: Path) -> None:
    database = tmp_path / "data" / "bot.sqlite3"  # the default DATABASE_PATH, from cwd
    stdin = "Alibaba Cloud customers\nwhat's the weather in Paris\n"
    asked = run_main("ask", "--json", "-", cwd=tmp_path, stdin=stdin)
    assert asked.returncode == 0, asked.stderr
    assert len(asked.stdout.splitlines()) == 2
    chatted = run_main("chat", cwd=tmp_path, stdin="Huawei strategy\n/articles\n")
    assert chatted.returncode == 0, chatted.stderr
    silent = run_main("ask", "--no-log", "Tencent capital expenditure", cwd=tmp_path)
    silent_chat = run_main("chat", "--no-log", cwd=tmp_path, stdin="Tencent capex\n")
    assert silent.returncode == silent_chat.returncode == 0
    logged = rows(database, "SELECT via, question, outcome, passage_id IS NOT NULL FROM queries")
    assert sorted(logged) == [
        ("cli", "Alibaba Cloud customers", "answered", 1),
        ("cli", "Huawei strategy", "answered", 1),
        ("cli", "what's the weather in Paris", "unanswered", 0),
    ]
    assert all(r[0] is not None for r in rows(database, "SELECT latency_ms FROM queries"))


def test_unwritable_log_still_answers(
    run_main: MainRunner,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.cli.CLI_DRAIN_TIMEOUT", 0.1)  # its retries, not a real second
    (tmp_path / "blocker").write_text("", encoding="utf-8")
    result = run_main(
        "ask", "--json", "Alibaba Cloud customers", cwd=tmp_path,
        DATABASE_PATH=str(tmp_path / "blocker" / "bot.sqlite3"),
    )  # fmt: skip
    assert result.returncode == 0
    assert json.loads(result.stdout)["outcome"] == "answered"
    assert "query log: cannot write" in caplog.text  # on stderr, in a real run


def test_stats_json_chart_export_and_forget(run_main: MainRunner, tmp_path: Path) -> None:
    environment = {"QUERY_LOG_USERS": "raw", "DATABASE_PATH": str(tmp_path / "log.sqlite3")}
    stdin = "Alibaba Cloud customers\nfootball scores\nfootball scores\n"
    run_main("ask", "-", cwd=tmp_path, stdin=stdin, **environment)
    chart, export = tmp_path / "chart.png", tmp_path / "rows.csv"
    result = run_main(
        "stats", "--json", "--days", "3", "--chart", str(chart), "--export", str(export),
        cwd=tmp_path, **environment,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    figures = json.loads(line)
    assert set(figures) == JSON_KEYS | {"subscriptions"}  # the outbox's, beside the log's
    assert figures["questions"] == 3 and figures["days"] == 3 and len(figures["per_day"]) == 3
    assert figures["top_unanswered"] == [{"question": "football scores", "count": 2}]
    assert chart.read_bytes().startswith(PNG_SIGNATURE)
    assert len(export.read_text(encoding="utf-8").splitlines()) == 1 + 3

    text = run_main("stats", cwd=tmp_path, **environment)
    assert "Content gaps" in text.stdout

    # Rows of reader 42 written by another process (as the Telegram bot would).
    with sqlite3.connect(tmp_path / "log.sqlite3") as db:
        db.execute(
            "INSERT INTO queries (id, ts, via, chat_ref, chat_type, user_ref, question, outcome)"
            " VALUES ('0123456789ab', ?, 'private', '42', 'private', '42', 'mine', 'answered')",
            (iso(utc_now()),),
        )
    forgotten = run_main("forget", "42", cwd=tmp_path, **environment)
    assert forgotten.returncode == 0, forgotten.stderr
    assert forgotten.stdout.startswith("deleted 1 rows of user 42: 1 queries")
    assert rows(tmp_path / "log.sqlite3", "SELECT COUNT(*) FROM queries") == [(3,)]


def test_stats_refuses_a_newer_database_in_one_line(run_main: MainRunner, tmp_path: Path) -> None:
    database = tmp_path / "future.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA user_version = 999")
    result = run_main("stats", cwd=tmp_path, DATABASE_PATH=str(database))
    assert result.returncode == 2
    (message,) = result.stderr.strip().splitlines()
    assert message.startswith("error: ") and "newer" in message
