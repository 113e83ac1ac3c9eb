"""The command line: `python -m bot [run|ask|chat|check|stats|forget|backup]`.

`ask` and `chat` answer from the terminal with no token (and log each question with
via=cli unless `--no-log`; the chat itself is bot/cli_chat.py); `check` validates the content
folder; `stats` and `forget` read and prune the query log; `backup` copies the database
while the bot runs (bot/backup.py); `run` (the default) starts the Telegram bot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import aiosqlite

# ChatSession is imported from here too (the tests, older callers).
from bot.cli_chat import ChatSession as ChatSession
from bot.cli_chat import chat
from bot.config import ConfigError, Settings, configure_logging, load_settings
from bot.library import Library, load_library
from bot.parsing import ContentLimits, LoadResult, load_folder
from bot.querylog import (
    BackgroundQueryLog,
    QueryLog,
    SchemaTooNewError,
    StorageError,
    answer_fields,
)
from bot.rendering import PLAIN, render_answer
from bot.stats import passage_labels, render_stats
from bot.subscription_stats import SubscriptionFigures, read_figures, render_subscriptions

NO_TOKEN_MESSAGE = (
    "TELEGRAM_BOT_TOKEN is not set: put it in .env (see .env.example) or the environment; "
    "`python -m bot chat` works without one."
)
CLI_DRAIN_TIMEOUT = 1.0  # seconds close() retries a failing query log before giving up


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Answer questions about news-article digests."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="run the Telegram bot (the default; needs TELEGRAM_BOT_TOKEN)")
    ask = commands.add_parser("ask", help="answer one question ('-' reads one a line from stdin)")
    ask.add_argument("question", nargs="+", help="the question, or - to read stdin")
    ask.add_argument("--json", action="store_true", help="one JSON object a line")
    ask.add_argument("--article", metavar="ID", help="answer only from this article")
    ask.add_argument("--no-log", action="store_true", help="do not write the query log")
    chat = commands.add_parser("chat", help="a conversation in the terminal")
    chat.add_argument("--no-log", action="store_true", help="do not write the query log")
    commands.add_parser("check", help="validate SEEDS_DIR; exit 1 if a file is rejected")
    stats = commands.add_parser("stats", help="what readers asked, from the query log")
    stats.add_argument("--days", type=_days, default=30, help="the window (default 30)")
    stats.add_argument("--json", action="store_true", help="one JSON object (docs/privacy.md)")
    stats.add_argument("--chart", metavar="FILE.png", type=Path, help="write the daily chart")
    stats.add_argument("--export", metavar="FILE.csv", type=Path, help="write the window's rows")
    forget = commands.add_parser("forget", help="delete every logged row of one user")
    forget.add_argument("user_id", type=int, metavar="USER_ID", help="numeric Telegram user id")
    backup = commands.add_parser(
        "backup", help="copy DATABASE_PATH consistently, bot running or not"
    )
    backup.add_argument("path", type=Path, metavar="PATH", help="the copy's file, or a folder")
    return parser


def _days(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number of days of at least 1")
    return int(raw)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    command = args.command or "run"
    if command == "run":
        return run(settings)
    if command == "check":
        return check(settings)
    if command == "stats":
        return asyncio.run(stats(settings, args.days, args.json, args.chart, args.export))
    if command == "forget":
        return asyncio.run(forget(settings, args.user_id))
    if command == "backup":
        return backup(settings, args.path)
    library, loaded = load_library(settings)
    report_problems(loaded, sys.stderr)
    log = None if args.no_log else open_cli_log(settings)
    try:
        if command == "ask":
            return ask(library, " ".join(args.question), args.json, args.article, log)
        return chat(library, sys.stdin, sys.stdout, log)
    finally:
        if log is not None:
            log.close()


def open_cli_log(settings: Settings) -> BackgroundQueryLog | None:
    """The query log for ask/chat; a refused database only costs the log, not the answers."""
    try:
        # A terminal user waits for close(): give a locked database a moment, not minutes.
        return BackgroundQueryLog.open(settings, drain_timeout=CLI_DRAIN_TIMEOUT)
    except SchemaTooNewError as error:
        print(f"warning: not logging questions: {error}", file=sys.stderr)
        return None


def run(settings: Settings) -> int:
    """Start the Telegram bot (polling, or a webhook when WEBHOOK_URL is set)."""
    if not settings.telegram_bot_token:
        print(NO_TOKEN_MESSAGE, file=sys.stderr)
        return 2
    # Imported here: the terminal commands must work without loading the Telegram stack.
    from bot.app import run as run_telegram

    return run_telegram(settings)


def ask(
    library: Library,
    question: str,
    as_json: bool,
    article_id: str | None,
    log: BackgroundQueryLog | None = None,
) -> int:
    """Answer one question, or one a line from stdin when the question is '-'."""
    if article_id is not None and library.article(article_id) is None:
        print(
            f"error: no article {article_id!r} (`python -m bot check` lists them)", file=sys.stderr
        )
        return 2
    if question != "-":
        _print_answer(library, question, as_json, article_id, log)
        return 0
    # Other tools drive this: one line out for every line in, flushed, whatever the bytes.
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(encoding="utf-8", errors="replace", newline="\n")
    for line in sys.stdin:
        _print_answer(library, line.rstrip("\r\n"), as_json, article_id, log)
    return 0


def _print_answer(
    library: Library,
    question: str,
    as_json: bool,
    article_id: str | None,
    log: BackgroundQueryLog | None,
) -> None:
    started = time.perf_counter()
    answer = library.ask(question, article_id)
    latency_ms = (time.perf_counter() - started) * 1000
    if as_json:
        print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
    else:
        several = len(library.articles) > 1  # suggestions then name their headline
        print(render_answer(answer, PLAIN, headlines=several) + "\n", flush=True)
    if log is not None:  # after the reply is out; queuing the row never waits for the disk
        log.record_query(via="cli", latency_ms=round(latency_ms, 3), **answer_fields(answer))


def check(settings: Settings) -> int:
    """Print what SEEDS_DIR holds and why any file was rejected."""
    library, loaded = load_library(settings)
    for article in library.articles:
        print(f"{article.id}  ({article.path})")
        print(f"  headline:  {article.title}")
        print(f"  source:    {article.display_source or '-'} · {article.published_text or '-'}")
        if article.display_source != article.source:
            print(f"  written:   {article.source or '-'}")
        if article.english_title:
            print(f"  title-en:  {article.english_title}")
        if article.link:
            print(f"  link:      {article.link}")
        bullets = len(article.passages) - 1
        print(f"  passages:  {bullets + 1} (core viewpoint + {bullets} bullets)")
        for number, section in enumerate(article.sections, 1):
            print(f"  section {number}: {section.title} ({len(section.bullets)} bullets)")
    report_problems(loaded, sys.stdout)
    print(
        f"{len(library.articles)} articles, {library.passage_count} passages, "
        f"{len(loaded.rejected)} rejected, {len(loaded.warnings)} warnings"
    )
    return 1 if loaded.rejected else 0


def report_problems(loaded: LoadResult, stream: TextIO) -> None:
    """One line per rejected file and per warning: file:line: reason."""
    for problem in loaded.rejected:
        print(f"rejected {problem}", file=stream)
    for problem in loaded.warnings:
        print(f"warning {problem}", file=stream)


async def _open_log(settings: Settings) -> QueryLog | None:
    """The query log for `stats` and `forget`, or None after saying why it cannot open."""
    try:
        return await QueryLog.open(settings)
    except StorageError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


async def stats(
    settings: Settings, days: int, as_json: bool, chart: Path | None, export: Path | None
) -> int:
    """Print the query log's figures; optionally write the chart and the rows as CSV."""
    from bot.charts import ChartsUnavailableError, questions_chart

    log = await _open_log(settings)
    if log is None:
        return 2
    try:
        figures = await log.stats(days)
        exported = await log.export_csv(export, days) if export else None
    except StorageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        await log.close()
    # Passages are named by the articles in SEEDS_DIR now (read, not indexed: no matcher);
    # a passage no longer there keeps its id.
    labels = passage_labels(load_folder(settings.seeds_dir, ContentLimits.of(settings)).articles)
    try:  # the outbox's tables, read-only: no sender runs here
        subscriptions = read_figures(settings.database_path)
    except sqlite3.Error as error:
        print(f"warning: the subscriptions cannot be read: {error}", file=sys.stderr)
        subscriptions = SubscriptionFigures()
    if as_json:
        data = figures.to_json(labels)
        data["subscriptions"] = subscriptions.to_json()
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(render_stats(figures, labels))
        print("\n" + render_subscriptions(subscriptions))
    if exported is not None:
        print(f"wrote {exported} rows to {export}", file=sys.stderr)
    if chart is not None:
        try:
            chart.write_bytes(questions_chart(figures.per_day))
        except ChartsUnavailableError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"wrote the chart to {chart}", file=sys.stderr)
    return 0


async def forget(settings: Settings, user_id: int) -> int:
    """Delete every row of one user from the query log and say how many went."""
    log = await _open_log(settings)
    if log is None:
        return 2
    try:
        result = await log.forget(user_id)
    except StorageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        await log.close()
    print(
        f"deleted {result.total} rows of user {user_id}: {result.queries} queries, "
        f"{result.feedback} votes, {result.admin_actions} admin actions, "
        f"{result.reloads} reloads"
    )
    try:
        follows, requests = await forget_follows(settings.database_path, user_id)
    except (OSError, aiosqlite.Error) as error:
        print(f"error: follows and answer requests not deleted: {error}", file=sys.stderr)
        return 1
    print(f"deleted {follows} followed topics and {requests} answer requests of user {user_id}")
    return 0


async def forget_follows(database: Path, user_id: int) -> tuple[int, int]:
    """Delete the topics a reader's private chat follows and their answer requests, where
    the bot has made those tables (the outbox itself is not opened: a running bot's items
    in flight stay as they are)."""
    from bot.follows import Follows
    from bot.watches import Watches

    if not database.exists():
        return 0, 0
    async with aiosqlite.connect(database, isolation_level=None) as db:
        await db.execute("PRAGMA busy_timeout = 5000")
        async with db.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
            tables = {row[0] for row in await cursor.fetchall()}
        follows = await Follows(db).forget_chat(user_id) if "follows" in tables else 0
        requests = await Watches(db).forget_chat(user_id) if "watches" in tables else 0
    return follows, requests


def backup(settings: Settings, path: Path) -> int:
    """Copy DATABASE_PATH to PATH with SQLite's online backup (bot/backup.py)."""
    from bot.backup import BackupError
    from bot.backup import backup as copy_database

    try:
        result = copy_database(Path(settings.database_path), path)
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    rows = ", ".join(f"{table} {count}" for table, count in result.rows.items())
    print(f"backed up {settings.database_path} to {result.path}: {result.size} bytes, integrity ok")
    print(f"rows: {rows}")
    return 0
