"""The Telegram application's state, typed: `BotState` (shared) and `ChatState` (per chat).

python-telegram-bot makes them (`ContextTypes(bot_data=BotState, chat_data=ChatState)` in
bot/app.py): `context.bot_data` is the BotState, `context.chat_data` the chat's ChatState.
Only ChatState outlives a restart, as the plain dict of `ChatState.to_dict` that
bot/persistence.py hands to bot/chat_state.py; BotState is rebuilt at every start.

No Telegram import, like the rest of the domain.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from bot.callbacks import ButtonKeys
from bot.config import Settings
from bot.examples import example_questions
from bot.i18n import LANGUAGES, Translators, translators
from bot.inline_log import InlineLog
from bot.library import Library, load_library
from bot.limits import Verdict
from bot.parsing import LoadResult
from bot.watcher import Fingerprint

if TYPE_CHECKING:
    from bot.digests import Digests
    from bot.follows import Follows
    from bot.limits import Cooldown, QuestionLimiter
    from bot.outbox import Outbox
    from bot.querylog import QueryLog
    from bot.watches import Watches

logger = logging.getLogger(__name__)

REMEMBERED = 200  # per chat, for each of ChatState's remembered maps
MAX_ISSUED = 10_000  # ~1 MB at most; older inline messages' votes are answered "expired"

# The keys of a chat's stored dict: the ones the bot wrote before ChatState existed, so
# the rows already in users' databases (and old pickles) load as they are.
CURRENT_ARTICLE = "article_id"
ANSWERS = "answers"
QUESTIONS = "questions"
MESSAGE_ARTICLES = "message_articles"
GREETED = "greeted"
LANGUAGE = "language"  # added with /language: older rows have none (the reader's language)
# Added with choosing suggestions by number on Telegram: (question, (passage id, ...)).
SUGGESTIONS = "suggestions"
KNOWN_KEYS = frozenset(
    {CURRENT_ARTICLE, ANSWERS, QUESTIONS, MESSAGE_ARTICLES, GREETED, LANGUAGE, SUGGESTIONS}
)
MAX_SUGGESTIONS = 10  # passage ids kept for the last question's suggestions (3 in practice)

K = TypeVar("K")
V = TypeVar("V")


def remember(mapping: dict[K, V], key: K, value: V, limit: int = REMEMBERED) -> None:
    """Store key -> value in a map that keeps only the last `limit` entries."""
    mapping.pop(key, None)
    mapping[key] = value
    while len(mapping) > limit:
        del mapping[next(iter(mapping))]


@dataclass
class ChatState:
    """One chat's memory (`context.chat_data`), kept across restarts.

    The maps are bounded (the last REMEMBERED entries each) and keep insertion order: the
    oldest entry goes first.
    """

    # The chat's current article: the last one summarised, answered or chosen.
    current_article: str | None = None
    # Question message id -> the answer's message id, for edited questions.
    answers: dict[int, int] = field(default_factory=dict)
    # Answer message id -> (question, query id), for button presses.
    questions: dict[int, tuple[str, str]] = field(default_factory=dict)
    # Bot message id -> the article it answered or summarised: a reply to it asks about that.
    message_articles: dict[int, str] = field(default_factory=dict)
    greeted: bool = False  # the group greeting is sent once
    # The language chosen with /language (bot/i18n.py LANGUAGES); None: each reader's own.
    language: str | None = None
    # The last question's suggestions, best first, while they wait to be chosen by number:
    # the question and its suggested passages' ids (bot/conversation.py). Empty: none.
    suggested_for: str = ""
    suggestions: tuple[str, ...] = ()

    def remember_answer(self, question_id: int, answer_id: int) -> None:
        remember(self.answers, question_id, answer_id)

    def remember_question(self, answer_id: int, question: str, query_id: str) -> None:
        remember(self.questions, answer_id, (question, query_id))

    def remember_article(self, message_id: int, article_id: str) -> None:
        remember(self.message_articles, message_id, article_id)

    def suggest(self, question: str, passage_ids: tuple[str, ...]) -> None:
        """Keep `question`'s suggestions to be chosen by number (none: forget the last ones)."""
        self.suggestions = passage_ids[:MAX_SUGGESTIONS]
        self.suggested_for = question if self.suggestions else ""

    def clear(self) -> None:
        """Forget everything (/forget): the chat starts afresh."""
        self.current_article = None
        self.answers.clear()
        self.questions.clear()
        self.message_articles.clear()
        self.greeted = False
        self.language = None
        self.suggest("", ())

    def to_dict(self) -> dict[str, Any]:
        """The stored form: a plain dict with what is set (the keys the bot always used)."""
        data: dict[str, Any] = {}
        if self.current_article is not None:
            data[CURRENT_ARTICLE] = self.current_article
        if self.answers:
            data[ANSWERS] = dict(self.answers)
        if self.questions:
            data[QUESTIONS] = dict(self.questions)
        if self.message_articles:
            data[MESSAGE_ARTICLES] = dict(self.message_articles)
        if self.greeted:
            data[GREETED] = True
        if self.language is not None:
            data[LANGUAGE] = self.language
        if self.suggestions:
            data[SUGGESTIONS] = (self.suggested_for, self.suggestions)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[Any, Any]) -> ChatState:
        """The state a stored dict holds. Never raises: unknown keys (an older or newer bot's)
        and entries of the wrong type are left out, so a chat keeps what can be read."""
        state = cls()
        current = data.get(CURRENT_ARTICLE)
        if isinstance(current, str):
            state.current_article = current
        for key, value in _pairs(data.get(ANSWERS)):
            if _is_id(key) and _is_id(value):
                remember(state.answers, key, value)
        for key, value in _pairs(data.get(QUESTIONS)):
            if _is_id(key) and _is_text_pair(value):
                remember(state.questions, key, (value[0], value[1]))
        for key, value in _pairs(data.get(MESSAGE_ARTICLES)):
            if _is_id(key) and isinstance(value, str):
                remember(state.message_articles, key, value)
        state.greeted = data.get(GREETED) is True
        language = data.get(LANGUAGE)
        if language in LANGUAGES:  # a language this bot no longer has: the reader's own
            state.language = language
        suggested = data.get(SUGGESTIONS)
        if (
            isinstance(suggested, (tuple, list))
            and len(suggested) == 2
            and isinstance(suggested[0], str)
            and isinstance(suggested[1], (tuple, list))
            and all(isinstance(p, str) for p in suggested[1])
        ):
            state.suggest(suggested[0], tuple(suggested[1]))
        unknown = set(data) - KNOWN_KEYS
        if unknown:
            logger.debug("chat state: unknown keys left out: %s", sorted(map(repr, unknown)))
        return state


def _pairs(value: object) -> list[tuple[Any, Any]]:
    return list(value.items()) if isinstance(value, dict) else []


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text_pair(value: object) -> bool:
    return (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(item, str) for item in value)
    )


@dataclass
class BotState:
    """What every handler shares (`context.bot_data`); filled in by bot/app.py, not persisted.

    python-telegram-bot makes it with no arguments when it builds the Application;
    `build_application` sets the settings and the limits, `post_init` the library and the
    query log, before any update is handled.
    """

    settings: Settings = field(default_factory=Settings)
    query_log: QueryLog | None = None  # None until post_init opened it
    outbox: Outbox | None = None  # pushes to subscribers (bot/outbox.py), opened in post_init
    sender_task: asyncio.Task[None] | None = None  # draining the outbox (handlers/subscriptions)
    digests: Digests | None = None  # digests and time zones (bot/digests.py), on the outbox
    follows: Follows | None = None  # topic follows (bot/follows.py), on the outbox's database
    watches: Watches | None = None  # "tell me when answered" requests (bot/watches.py)
    question_limiter: QuestionLimiter | None = None  # None: no flood limit per reader
    summary_cooldown: Cooldown | None = None  # None: no /summary cooldown in groups
    # Admins whose private command menu Telegram refused (it does not know the chat yet).
    admin_menu_pending: set[int] = field(default_factory=set)
    # Query ids issued for inline results, oldest first (a dict used as an ordered set).
    inline_query_ids: dict[str, None] = field(default_factory=dict)
    # Inline queries logged once the reader stops typing (its delay is set here).
    inline_log: InlineLog = field(default_factory=InlineLog)
    # Every language's messages (bot/i18n.py), read from the catalogs when the bot is built.
    translators: Translators = field(default_factory=Translators)
    # SEEDS_DIR's content files as last loaded (bot/watcher.py): the watcher reloads only
    # when they differ, so a touched file or the bot's own upload causes nothing.
    content_fingerprint: Fingerprint | None = None
    # One reload at a time: /reload, an upload and the folder watcher (handlers/admin.py).
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The content folder's watcher (handlers/watcher.py), started in post_init.
    watcher_task: asyncio.Task[None] | None = None
    # Admins' Telegram language_code as last seen (not persisted): the folder watcher's
    # reports go out in it when the admin chose no /language.
    admin_languages: dict[int, str] = field(default_factory=dict)
    _library: Library | None = field(default=None, init=False, repr=False)
    # What the library's buttons name, by their short keys (bot.callbacks).
    button_keys: ButtonKeys = field(default_factory=ButtonKeys, init=False, repr=False)

    @property
    def library(self) -> Library:
        """The content: loaded before the first update, swapped whole on /reload (questions
        already running keep the library they started with)."""
        if self._library is None:
            raise RuntimeError("the library is used before post_init loaded it")
        return self._library

    def use(self, library: Library, keys: ButtonKeys) -> None:
        """Swap in new content with the keys its buttons carry, together (one step on the
        event loop: questions already running keep the library they started with)."""
        self._library = library
        self.button_keys = keys

    def allowed_to_ask(self, user_id: int | None) -> Verdict:
        """The reader's flood verdict for one more question."""
        if self.question_limiter is None or user_id is None:
            return Verdict.ALLOW
        return self.question_limiter.check(user_id)

    def issue_inline_query_id(self, query_id: str) -> None:
        """Remember that buttons on a message sent via inline mode carry `query_id`."""
        remember(self.inline_query_ids, query_id, None, MAX_ISSUED)

    def issued_inline_query_id(self, query_id: str) -> bool:
        """Whether `query_id` was issued for inline results since the bot started (not
        persisted: after a restart, votes on older inline messages are answered "expired")."""
        return query_id in self.inline_query_ids


def load_content(
    settings: Settings, previous: Library | None = None, languages: Translators | None = None
) -> tuple[Library, ButtonKeys, LoadResult]:
    """Load SEEDS_DIR (`bot.library.load_library`) and make its button keys, with each
    language's example questions (`bot.examples`, checked to be answered): the slow part
    of a start or a reload, run in a thread, then handed to `BotState.use`."""
    library, loaded = load_library(settings, previous)
    languages = languages or translators()
    examples = {language: example_questions(library, languages[language]) for language in LANGUAGES}
    return library, ButtonKeys.of(library.articles, examples), loaded
