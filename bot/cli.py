"""The command line: `python -m bot [run|ask|chat|check]`.

`ask` and `chat` answer from the terminal with no token; `check` validates the content
folder; `run` (the default) starts the Telegram bot.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from bot.config import ConfigError, Settings, configure_logging, load_settings
from bot.content import Article
from bot.library import Library, load_library
from bot.matching import Outcome
from bot.parsing import LoadResult
from bot.rendering import PLAIN, render_answer, render_article_list, render_match, render_summary

NO_TOKEN_MESSAGE = (
    "TELEGRAM_BOT_TOKEN is not set: put it in .env (see .env.example) or the environment; "
    "`python -m bot chat` works without one."
)
CHAT_HELP = """Ask any question about the articles, in English or Chinese.
  /summary [N|topic]  the current article's core viewpoint and sections (or article N)
  /articles           the articles, newest first
  /help               this text
  1, 2, 3             after suggestions: read that passage
Ctrl-D (or /quit) leaves."""


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
    commands.add_parser("chat", help="a conversation in the terminal")
    commands.add_parser("check", help="validate SEEDS_DIR; exit 1 if a file is rejected")
    return parser


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
    library, loaded = load_library(settings)
    report_problems(loaded, sys.stderr)
    if command == "ask":
        return ask(library, " ".join(args.question), args.json, args.article)
    return chat(library, sys.stdin, sys.stdout)


def run(settings: Settings) -> int:
    """Start the Telegram bot."""
    if not settings.telegram_bot_token:
        print(NO_TOKEN_MESSAGE, file=sys.stderr)
        return 2
    print(
        "The Telegram front end is not part of this version yet; "
        "`python -m bot chat` and `python -m bot ask` answer in the terminal.",
        file=sys.stderr,
    )
    return 2


def ask(library: Library, question: str, as_json: bool, article_id: str | None) -> int:
    """Answer one question, or one a line from stdin when the question is '-'."""
    if article_id is not None and library.article(article_id) is None:
        print(
            f"error: no article {article_id!r} (`python -m bot check` lists them)", file=sys.stderr
        )
        return 2
    if question != "-":
        _print_answer(library, question, as_json, article_id)
        return 0
    # Other tools drive this: one line out for every line in, flushed, whatever the bytes.
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(encoding="utf-8", errors="replace", newline="\n")
    for line in sys.stdin:
        _print_answer(library, line.rstrip("\r\n"), as_json, article_id)
    return 0


def _print_answer(library: Library, question: str, as_json: bool, article_id: str | None) -> None:
    answer = library.ask(question, article_id)
    if as_json:
        print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
    else:
        print(render_answer(answer, PLAIN) + "\n", flush=True)


def check(settings: Settings) -> int:
    """Print what SEEDS_DIR holds and why any file was rejected."""
    library, loaded = load_library(settings)
    for article in library.articles:
        print(f"{article.id}  ({article.path})")
        print(f"  headline:  {article.title}")
        print(f"  source:    {article.source or '-'} · {article.published_text or '-'}")
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


def chat(library: Library, stdin: TextIO, stdout: TextIO) -> int:
    """A terminal conversation that keeps the current article and pending suggestions."""
    session = ChatSession(library)
    interactive = stdin.isatty()
    print(
        f"{len(library.articles)} article(s), {library.passage_count} passages loaded. "
        "Ask a question, or /help. Ctrl-D leaves.",
        file=stdout,
    )
    while True:
        if interactive:
            print("> ", end="", file=stdout, flush=True)
        try:
            line = stdin.readline()
        except KeyboardInterrupt:
            line = ""
        if not line or line.strip() in ("/quit", "/exit"):
            print(file=stdout)
            return 0
        reply = session.respond(line.strip())
        if reply:
            print(reply + "\n", file=stdout, flush=True)


class ChatSession:
    """The terminal conversation's state: the current article and the last suggestions."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.current: Article | None = None
        self.suggestions: list[str] = []

    def respond(self, text: str) -> str:
        """The reply to one line the reader typed."""
        if not text:
            return ""
        command, _, argument = text.partition(" ")
        if command == "/help" or command == "/start":
            return CHAT_HELP
        if command == "/articles":
            return render_article_list(self.library.articles, PLAIN)
        if command == "/summary":
            return self._summary(argument)
        if text.isdigit() and 1 <= int(text) <= len(self.suggestions):
            match = self.library.passage(self.suggestions[int(text) - 1])
            if match:
                self.current = match.article
                return render_match(match, PLAIN)
        if text.startswith("/"):
            return f"Unknown command {command}. {CHAT_HELP}"
        answer = self.library.ask(text)
        self.suggestions = (
            [m.passage.id for m in answer.matches] if answer.outcome is Outcome.SUGGESTED else []
        )
        if answer.outcome is Outcome.ANSWERED and answer.best:
            self.current = answer.best.article
        reply = render_answer(answer, PLAIN)
        if self.suggestions:
            reply += f"\n\nType 1-{len(self.suggestions)} to read one, or ask again in other words."
        return reply

    def _summary(self, reference: str) -> str:
        if reference.strip():
            article = self.library.find_article(reference)
        else:
            article = self.current or self.library.find_article("")
        if article is None:
            if not self.library.articles:
                return "No articles are loaded."
            return f"No article matches {reference.strip()!r}. See /articles for the list."
        self.current = article
        return render_summary(article, PLAIN)
