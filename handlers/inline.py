"""Inline mode: `@bot question` in any chat offers up to 5 cited passages to send.

Each passage is offered titled by its section (with the headline when another article's
section has the same title) and described by its first words, so no two results look
alike. A passage is sent with "Full summary", 👍 / 👎 and "Share" buttons, whose votes
name the query id issued for its inline query (remembered in memory, see
`BotState.issue_inline_query_id`: Telegram does not show the bot a message sent via inline
mode, so a vote cannot be checked against its keyboard). An empty query lists the
articles, newest first, each sent as its summary. What readers type and pick is logged by
`bot.inline_log` (`BotState.inline_log`), once they stop typing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence

from telegram import (
    ChosenInlineResult,
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
)
from telegram.constants import InlineQueryLimit
from telegram.error import BadRequest
from telegram.ext import ChosenInlineResultHandler, InlineQueryHandler

from bot.answers import Match, Outcome
from bot.content import Article, Passage
from bot.deeplinks import question_payload
from bot.i18n import ENGLISH, N_, Translator
from bot.inline_log import TypedQuery
from bot.library import Library
from bot.querylog import new_query_id
from bot.rendering import (
    HTML,
    TELEGRAM_MESSAGE_LIMIT,
    render_match,
    render_summary,
    shorten,
    split_message,
    telegram_length,
)
from handlers.ask import answered_keyboard
from handlers.common import Context, Handlers, on_chosen_result, on_inline_query

logger = logging.getLogger(__name__)

RESULT_LIMIT = 5  # passages offered for a question
TITLE_LENGTH = 64  # characters of a result's title (one line in Telegram's list)
DESCRIPTION_LENGTH = 90  # characters of a passage's first words (about two lines)
CACHE_SECONDS = 5  # how long Telegram may reuse an answer for the same query
NOTHING_FOUND = N_("Nothing found — ask me in private")
PASSAGE, ARTICLE = "p", "a"  # result id prefixes


def result_id(kind: str, stable_id: str) -> str:
    """A short result id (17 ASCII characters): the kind's letter and a hash of the id."""
    return kind + hashlib.blake2b(stable_id.encode(), digest_size=8).hexdigest()


def fit_message(text: str, more: str = "", limit: int = TELEGRAM_MESSAGE_LIMIT) -> str:
    """The HTML text if it fits in one message, else as many whole lines as fit and `more`.

    The lines go through split_message, which closes any tag left open at the cut; cutting
    at lines rather than its preferred paragraph breaks keeps a summary's long last section.
    """
    if telegram_length(text) <= limit:
        return text
    room = limit - (telegram_length(more) + 2 if more else 0)
    lines, width = [], -1
    for line in text.split("\n"):
        width += telegram_length(line) + 1
        if width > room:
            break
        lines.append(line)
    head = split_message("\n".join(lines) if lines else text, room)[0]
    return f"{head}\n\n{more}" if more else head


def summary_message(article: Article, number: int, t: Translator = ENGLISH) -> str:
    """Article `number`'s summary, cut to one message with a pointer to /summary N."""
    more = t.gettext("… /summary {number} for the rest").format(number=number)
    return fit_message(render_summary(article, HTML, t), HTML.esc(more))


def article_page(
    library: Library, start: int, end: int, t: Translator = ENGLISH
) -> list[InlineQueryResultArticle]:
    """The results for articles `start` to `end` (0-based) of an empty query."""
    return [article_result(library.articles[i], i + 1, t) for i in range(start, end)]


def inline_matches(library: Library, question: str) -> list[Match]:
    """Up to RESULT_LIMIT passages for the question, best first, none below the suggest bar."""
    return library.candidates(question, RESULT_LIMIT)


def outcome_of(matches: Sequence[Match], answer_threshold: float) -> Outcome:
    """The log's outcome for the offered passages: answered when the best clears the bar."""
    if not matches:
        return Outcome.UNANSWERED
    return Outcome.ANSWERED if matches[0].score >= answer_threshold else Outcome.SUGGESTED


def page_bounds(offset: str, total: int, size: int = InlineQueryLimit.RESULTS) -> tuple[int, int]:
    """The slice of a list that an inline query's `offset` asks for (offsets are start indices)."""
    start = int(offset) if offset.isascii() and offset.isdigit() else (0 if not offset else total)
    start = min(start, total)
    return start, min(start + size, total)


def result_labels(matches: Sequence[Match]) -> list[tuple[str, str]]:
    """Each offered passage's title and description, no two alike: the section, with the
    headline when another offered article has a section of that title ("Core Viewpoint"
    has every article), and the passage's first words, more of them where two begin alike
    (the passage's number as a last resort, for passages that read the same)."""
    articles_by_section: dict[str, set[str]] = {}
    for match in matches:
        articles_by_section.setdefault(match.passage.section, set()).add(match.article.id)
    titles = [
        shorten(
            m.passage.section
            if len(articles_by_section[m.passage.section]) == 1
            else f"{m.passage.section} — {m.article.title}",
            TITLE_LENGTH,
        )
        for m in matches
    ]
    length = DESCRIPTION_LENGTH
    longest = max((len(m.passage.text) for m in matches), default=0)
    while True:
        labels = [
            (t, shorten(m.passage.text, length)) for t, m in zip(titles, matches, strict=True)
        ]
        if len(set(labels)) == len(labels) or length >= longest:
            break
        length += DESCRIPTION_LENGTH
    seen: set[tuple[str, str]] = set()
    distinct = []
    for (title, description), match in zip(labels, matches, strict=True):
        if (title, description) in seen:
            description = f"{description} (#{match.passage.number})"
        seen.add((title, description))
        distinct.append((title, description))
    return distinct


def passage_result(
    match: Match,
    query_id: str,
    t: Translator = ENGLISH,
    bot_username: str | None = None,
    label: tuple[str, str] | None = None,
) -> InlineQueryResultArticle:
    """A passage to send, with the buttons of an answer (votes name `query_id`); `label` is
    its title and description (`result_labels`), by default its section and first words."""
    title, description = label or result_labels([match])[0]
    text = fit_message(render_match(match, HTML, t))
    return InlineQueryResultArticle(
        id=result_id(PASSAGE, match.passage.id),
        title=title,
        description=description,
        input_message_content=InputTextMessageContent(text),
        reply_markup=answered_keyboard(match, query_id, t, bot_username),
    )


def article_result(
    article: Article, number: int, t: Translator = ENGLISH
) -> InlineQueryResultArticle:
    byline = " · ".join(d for d in (article.display_source, article.published_text) if d)
    return InlineQueryResultArticle(
        id=result_id(ARTICLE, article.id),
        title=article.title,
        description=byline or None,
        input_message_content=InputTextMessageContent(summary_message(article, number, t)),
    )


@on_inline_query
async def inline_query(query: InlineQuery, context: Context) -> None:
    """Offer the passages for the typed question, or the articles for an empty query."""
    state = context.bot_data
    library = state.library
    # The reader's Telegram language: an inline query has no chat, so no chat's choice.
    t = state.translators.for_reader(None, query.from_user.language_code)
    question = query.query.strip()
    if not question:
        start, end = page_bounds(query.offset, len(library.articles))
        # In a thread: each result renders a whole summary to cut it to one message, up to
        # 50 of them, which for articles at the content limits is a second of work.
        results = await asyncio.to_thread(article_page, library, start, end, t)
        # None, not "": with Defaults set, PTB 22.8 sends an empty string as "[]" (it takes
        # any empty sequence for a list of poll options), which Telegram would echo back.
        next_offset = str(end) if end < len(library.articles) else None
        await _answer(query, results, next_offset=next_offset)
        return
    if query.offset:  # all the passages came on the first page
        await _answer(query, [])
        return
    started = time.perf_counter()
    matches = inline_matches(library, question)
    # One id for the question, made before its row is written (as for a private answer).
    query_id = new_query_id()
    state.issue_inline_query_id(query_id)
    labels = result_labels(matches)
    results = [
        passage_result(m, query_id, t, context.bot.username, label)
        for m, label in zip(matches, labels, strict=True)
    ]
    latency_ms = (time.perf_counter() - started) * 1000
    log = state.query_log
    if log is not None:
        try:
            typed = typed_query(query, question, matches, latency_ms, query_id, library)
            state.inline_log.typed(log, typed)
        except Exception:  # logging never fails the answer
            logger.exception("inline query %s: could not schedule its log row", query.id)
    button = None
    if not results:
        # The deep link carries the question: /start answers it in the private chat.
        button = InlineQueryResultsButton(
            text=t.gettext(NOTHING_FOUND), start_parameter=question_payload(question)
        )
    await _answer(query, results, button=button)


@on_chosen_result
async def chosen_result(chosen: ChosenInlineResult, context: Context) -> None:
    """Log the passage a reader picked, instead of their typed query's row."""
    question = chosen.query.strip()
    if not question:
        return  # an article from the empty query: nothing was asked
    state = context.bot_data
    try:
        typed = state.inline_log.picked(chosen.from_user.id, question)
        log = state.query_log
        if log is None:
            return
        # In a thread: for a result of content reloaded since, every passage is hashed.
        found = await asyncio.to_thread(_chosen_passage, state.library, question, chosen.result_id)
        passage, score = found or (None, None)
        state.inline_log.record_pick(
            log,
            user_id=chosen.from_user.id,
            question=question,
            article_id=passage.article_id if passage else None,
            passage_id=passage.id if passage else None,
            score=score,
            typed=typed,
        )
    except Exception:
        logger.exception("chosen inline result %s: not logged", chosen.result_id)


def typed_query(
    query: InlineQuery,
    question: str,
    matches: Sequence[Match],
    latency_ms: float,
    query_id: str,
    library: Library,
) -> TypedQuery:
    """The log row of a typed inline query, under the query id its results' buttons carry."""
    best = matches[0] if matches else None
    return TypedQuery(
        question=question,
        outcome=outcome_of(matches, library.matcher.answer_threshold).value,
        user_id=query.from_user.id,
        chat_type=query.chat_type,
        article_id=best.article.id if best else None,
        passage_id=best.passage.id if best else None,
        score=round(best.score, 4) if best else None,
        latency_ms=round(latency_ms, 3),
        query_id=query_id,
    )


def _chosen_passage(
    library: Library, question: str, chosen_id: str
) -> tuple[Passage, float | None] | None:
    """The passage behind a chosen result id, with its score for the question if offered."""
    for match in inline_matches(library, question):
        if result_id(PASSAGE, match.passage.id) == chosen_id:
            return match.passage, round(match.score, 4)
    for article in library.articles:  # the content was reloaded since: find it anyway
        for passage in article.passages:
            if result_id(PASSAGE, passage.id) == chosen_id:
                return passage, None
    return None


async def _answer(
    query: InlineQuery,
    results: list[InlineQueryResultArticle],
    *,
    next_offset: str | None = None,
    button: InlineQueryResultsButton | None = None,
) -> None:
    """Answer the inline query; one the reader has typed past in the meantime is let go."""
    try:
        await query.answer(
            results,
            cache_time=CACHE_SECONDS,
            is_personal=False,
            next_offset=next_offset,
            button=button,
        )
    except BadRequest as error:
        if "query is too old" not in error.message.lower():
            raise
        logger.debug("inline query %s expired before it was answered", query.id)


def handlers() -> Handlers:
    return [InlineQueryHandler(inline_query), ChosenInlineResultHandler(chosen_result)]
