"""`python -m bot chat`: the conversation in a terminal, as plain text."""

from __future__ import annotations

import time
from typing import TextIO

from bot.answers import Outcome
from bot.content import Article
from bot.library import Library
from bot.rendering import PLAIN, render_answer, render_article_list, render_match, render_summary
from bot.storage import BackgroundQueryLog, answer_fields

CHAT_HELP = """Ask any question about the articles, in English or Chinese.
  /summary [N|topic]  the current article's core viewpoint and sections (or article N)
  /articles           the articles, newest first
  /help               this text
  1, 2, 3             after suggestions: read that passage
Ctrl-D (or /quit) leaves."""


def chat(
    library: Library, stdin: TextIO, stdout: TextIO, log: BackgroundQueryLog | None = None
) -> int:
    """A terminal conversation that keeps the current article and pending suggestions."""
    session = ChatSession(library, log)
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

    def __init__(self, library: Library, log: BackgroundQueryLog | None = None) -> None:
        self.library = library
        self.log = log
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
        started = time.perf_counter()
        current = self.current.id if self.current else None
        answer = self.library.ask(text, prefer_article=current)
        if self.log is not None:
            latency_ms = round((time.perf_counter() - started) * 1000, 3)
            self.log.record_query(via="cli", latency_ms=latency_ms, **answer_fields(answer))
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
