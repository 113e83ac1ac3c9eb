"""One chat's conversation rules, shared by the Telegram handlers and `python -m bot chat`.

A chat has a current article: the last one answered from, chosen or summarised. A new
question prefers it when passages tie, and `/summary` without an argument shows it. A reply
to one of the bot's messages asks about that message's article first (it wins ties before
the current article does). Suggestions are chosen by number (in the terminal, and on
Telegram too), or by their button on Telegram (the button carries the passage); the
chosen passage's article becomes the current one. A number that is not among the
suggestions is a slip, not a question: the caller says how many there are instead of
searching for it.

The state is the chat's `ChatState` (bot/state.py): the bot's, persisted per chat, or a
fresh one for the terminal. Rendering, sending and the query log stay with the callers.
No Telegram import, like the rest of the domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.answers import Answer, Match, Outcome
from bot.content import Article
from bot.library import Library
from bot.state import ChatState


@dataclass
class Conversation:
    """The conversation rules over one chat's state; cheap to make (the bot makes one per
    update, the terminal one per session)."""

    library: Library
    state: ChatState = field(default_factory=ChatState)

    # A number typed to choose a suggestion: one or two digits (a year is a question).
    CHOICE_DIGITS = 2

    @property
    def suggestions(self) -> tuple[Match, ...]:
        """The last question's suggestions, best first, for choosing by number: kept in the
        chat's state (persisted, as the bot makes a Conversation per update) until the next
        question; a passage the library no longer has is left out."""
        found = (self.library.passage(p) for p in self.state.suggestions)
        return tuple(m for m in found if m is not None)

    @suggestions.setter
    def suggestions(self, matches: tuple[Match, ...]) -> None:
        self.state.suggest(self.state.suggested_for, tuple(m.passage.id for m in matches))

    @property
    def suggested_for(self) -> str:
        """The question the pending suggestions answer ("" when there are none)."""
        return self.state.suggested_for

    def choice_in(self, text: str) -> int | None:
        """The number `text` chooses, when suggestions are pending and `text` is a number of
        one or two digits (full-width ones too); None when it is a question. The number may
        be out of range: `choose` says None, and the caller hints at the right ones."""
        text = text.strip()
        if not self.state.suggestions or not text.isdecimal() or len(text) > self.CHOICE_DIGITS:
            return None
        return int(text)

    @property
    def current(self) -> Article | None:
        """The chat's current article, if the library still has it."""
        article_id = self.state.current_article
        return self.library.article(article_id) if article_id is not None else None

    def ask(self, question: str, replied_to: int | None = None) -> Answer:
        """Answer a question; `replied_to` is the id of the bot's message it replies to.

        The replied message's article wins ties first, then the current article; an answer
        makes its article the current one, and suggestions wait to be chosen.
        """
        about = self.state.message_articles.get(replied_to) if replied_to is not None else None
        answer = self.library.ask(
            question, prefer_article=self.state.current_article, about_article=about
        )
        suggested = answer.matches if answer.outcome is Outcome.SUGGESTED else ()
        self.state.suggest(question, tuple(m.passage.id for m in suggested))
        if answer.outcome is Outcome.ANSWERED and answer.best is not None:
            self.state.current_article = answer.best.article.id
        return answer

    def choose(self, choice: int | Match) -> Match | None:
        """The suggestion chosen by its number (1 is the first of `suggestions`), or the match
        a suggestion's button carries; its article becomes the current one. None: no such
        suggestion (nothing changes)."""
        if isinstance(choice, Match):
            match: Match | None = choice
        elif 1 <= choice <= len(self.suggestions):
            # As a full-score match, like a pressed button's (Library.passage).
            match = self.suggestions[choice - 1]
        else:
            match = None
        if match is not None:
            self.state.current_article = match.article.id
        return match

    def summary(self, reference: str | Article = "") -> Article | None:
        """The article to summarise, which becomes the current one: the one `reference`
        names (a number from the list, an id, a topic, or the article itself), or without
        a reference the current article, else the latest. None: no such article."""
        if isinstance(reference, Article):
            article: Article | None = reference
        elif reference.strip():
            article = self.library.find_article(reference)
        else:
            article = self.current or self.library.find_article("")
        if article is not None:
            self.state.current_article = article.id
        return article

    def remember_reply(self, message_id: int, about: Answer | Article) -> None:
        """Remember the article of the bot's message `message_id` (an answer's or a summary's),
        so that a reply to it asks about that article. An answer without one is not kept."""
        if isinstance(about, Article):
            self.state.remember_article(message_id, about.id)
        elif about.outcome is Outcome.ANSWERED and about.best is not None:
            self.state.remember_article(message_id, about.best.article.id)
