"""`python -m bot chat`: the conversation in a terminal, as plain text.

The rules (the current article, suggestions chosen by number, /summary) are those of
bot/conversation.py, which the Telegram handlers follow too; this module reads lines,
writes replies and logs each question with via=cli.
"""

from __future__ import annotations

import time
from typing import TextIO

from bot.content import Article
from bot.conversation import Conversation
from bot.library import Library
from bot.querylog import BackgroundQueryLog, answer_fields
from bot.rendering import (
    PLAIN,
    render_answer,
    render_article_list,
    render_choice_hint,
    render_how_to_choose,
    render_match,
    render_summary,
)

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
    count = len(library.articles)
    articles = "1 article" if count == 1 else f"{count} articles"  # the terminal: English
    print(
        f"{articles}, {library.passage_count} passages loaded. "
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
    """The terminal conversation: a Conversation over a fresh chat state, replies as text."""

    def __init__(self, library: Library, log: BackgroundQueryLog | None = None) -> None:
        self.library = library
        self.log = log
        self.conversation = Conversation(library)

    @property
    def current(self) -> Article | None:
        """The current article (the last one answered from, chosen or summarised)."""
        return self.conversation.current

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
        if text.startswith("/"):
            return f"Unknown command {command}. {CHAT_HELP}"
        number = self.conversation.choice_in(text)
        if number is not None:
            return self._choose(number)
        return self._ask(text)

    def _ask(self, question: str) -> str:
        started = time.perf_counter()
        answer = self.conversation.ask(question)
        if self.log is not None:
            latency_ms = round((time.perf_counter() - started) * 1000, 3)
            self.log.record_query(via="cli", latency_ms=latency_ms, **answer_fields(answer))
        reply = render_answer(answer, PLAIN, headlines=len(self.library.articles) > 1)
        count = len(self.conversation.suggestions)
        if count:
            reply += f"\n\n{render_how_to_choose(count)}"
        return reply

    def _choose(self, number: int) -> str:
        """A pending suggestion by its number; another number is a slip, not a question (so
        it is neither asked nor logged as one)."""
        match = self.conversation.choose(number)
        if match is not None:
            return render_match(match, PLAIN)
        return render_choice_hint(len(self.conversation.suggestions))

    def _summary(self, reference: str) -> str:
        article = self.conversation.summary(reference)
        if article is None:
            if not self.library.articles:
                return "No articles are loaded."
            return f"No article matches {reference.strip()!r}. See /articles for the list."
        return render_summary(article, PLAIN)
