"""Questions: where the bot answers them.

Any text in private, /ask anywhere, replies to the bot and mentions in groups; an edited
question updates its answer. `answer_question` asks the library (bot/library.py), replies
with the answer and its buttons, remembers it in the chat's state and logs it. After
suggestions, a number chooses one (bot/conversation.py), and a number that is not among
them gets a hint, not a search.
"""

from __future__ import annotations

import html
import logging
import re
import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity
from telegram.error import BadRequest
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.answers import Answer, Match, Outcome
from bot.callbacks import example_data, feedback_data, pick_data, summary_data, watch_data
from bot.conversation import Conversation
from bot.i18n import ENGLISH, N_, Translator
from bot.limits import Verdict
from bot.querylog import answer_fields, new_query_id
from bot.rendering import (
    HTML,
    render_answer,
    render_choice_hint,
    render_how_to_choose,
    render_match,
    split_message,
)
from bot.share import share_url
from bot.smalltalk import SmallTalk, small_talk
from bot.subscriptions import FULL_SUMMARY
from handlers.common import (
    Context,
    Handlers,
    Incoming,
    chat_state,
    conversation_of,
    logged_delivery,
    on_message,
    reply,
    translator_for,
    via_of,
)

logger = logging.getLogger(__name__)

LABEL_LENGTH = 48
EXAMPLE_LENGTH = 64  # an example question's button: the whole question, as a rule
# TRANSLATORS: the example in /ask's usage line; any question the articles answer.
USAGE_QUESTION = N_("How many customers does Alibaba Cloud serve?")
SLOW_DOWN = N_("You're asking faster than I can answer well. Please wait a few seconds.")
# TRANSLATORS: the button under an unanswered or suggested question (handlers/follows.py).
WATCH = N_("🔔 Tell me when answered")
# TRANSLATORS: the button under an answer that shares the passage's link to another chat.
SHARE = N_("↗️ Share")
# Small talk's replies: with the example questions as buttons below, or (no examples: no
# content loaded) without.
REPLIES = {
    (SmallTalk.GREETING, True): N_(
        "Hello! I answer questions about the news articles I know. "
        "Tap an example below, or just ask."
    ),
    (SmallTalk.GREETING, False): N_(
        "Hello! I answer questions about the news articles I know. /articles lists them."
    ),
    (SmallTalk.THANKS, True): N_(
        "You're welcome! Ask me anything else about the articles, or tap an example below."
    ),
    (SmallTalk.THANKS, False): N_("You're welcome! Ask me anything else about the articles."),
}

_ASK_COMMAND_RE = re.compile(r"^/ask(@\w+)?(\s+|$)", re.IGNORECASE)


# -- the handlers ------------------------------------------------------------------------


@on_message
async def ask_private(incoming: Incoming, context: Context) -> None:
    """In a private chat any text is a question."""
    if incoming.message.text:
        await answer_question(incoming, context, incoming.message.text)


@on_message
async def ask_command(incoming: Incoming, context: Context) -> None:
    """/ask <question>, in private or in a group."""
    question = " ".join(context.args or [])
    if not question.strip():
        t = translator_for(incoming.update, context)
        name = html.escape(context.bot.username or "bot")
        usage = t.gettext("Ask me like this: {example}").format(
            example=f"<code>/ask@{name} {html.escape(t.gettext(USAGE_QUESTION))}</code>"
        )
        await reply(incoming.message, usage)
        return
    await answer_question(incoming, context, question)


@on_message
async def ask_in_group(incoming: Incoming, context: Context) -> None:
    """A group message that replies to the bot or mentions it is a question."""
    message = incoming.message
    if not message.text:
        return
    replied = message.reply_to_message
    to_bot = replied is not None and replied.from_user and replied.from_user.id == context.bot.id
    mention = f"@{context.bot.username}".lower()
    mentions = message.parse_entities([MessageEntity.MENTION]).values()
    if to_bot or any(text.lower() == mention for text in mentions):
        question = question_in(message, context.bot.username or "")
        if question:
            await answer_question(incoming, context, question)


@on_message
async def on_edited(incoming: Incoming, context: Context) -> None:
    """A reader edited a question the bot answered: edit the answer to match."""
    answer_id = chat_state(context).answers.get(incoming.message.message_id)
    if answer_id is None:
        return  # not a question the bot answered (or answered too long ago)
    question = question_in(incoming.message, context.bot.username or "")
    if question:
        await answer_question(incoming, context, question, edit_message_id=answer_id)


def question_in(message: Message, bot_username: str) -> str:
    """The question a message asks: its text without `/ask[@bot]` and `@bot` mentions."""
    text = message.text or ""
    text = _ASK_COMMAND_RE.sub("", text, count=1)
    if bot_username:
        text = re.sub(rf"@{re.escape(bot_username)}\b", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split())


# -- answering ---------------------------------------------------------------------------


async def answer_question(
    incoming: Incoming,
    context: Context,
    question: str,
    *,
    edit_message_id: int | None = None,
    limited: bool = True,
) -> Answer | None:
    """Answer by the conversation rules (bot/conversation.py: the replied message's article,
    then the chat's current article, win ties), reply, and log it.

    With `edit_message_id` (the reader edited their question) the earlier answer is edited
    instead. Past the reader's flood limit: one polite note, then nothing (`limited=False`:
    the caller has counted this question already, a tapped example). A greeting or a
    thank-you gets a friendly reply (`reply_small_talk`) instead of an answer, and a number
    after suggestions chooses one (`choose_by_number`).
    """
    conversation = conversation_of(context)
    state = conversation.state
    t = translator_for(incoming.update, context)
    verdict = context.bot_data.allowed_to_ask(incoming.user_id) if limited else Verdict.ALLOW
    if verdict is not Verdict.ALLOW:
        if verdict is Verdict.NOTIFY:
            await reply(incoming.message, t.gettext(SLOW_DOWN))
        return None
    talk = small_talk(question)
    if talk is not None:
        await reply_small_talk(incoming, context, question, talk, t, edit_message_id)
        return None
    number = conversation.choice_in(question)
    if number is not None:
        await choose_by_number(incoming, context, conversation, number, t, edit_message_id)
        return None
    replied = incoming.message.reply_to_message
    replied_to = replied.message_id if replied is not None else None
    started = time.perf_counter()
    answer = conversation.ask(question, replied_to)
    latency_ms = (time.perf_counter() - started) * 1000
    # The id exists before the row is written, so the buttons can carry it; the row is
    # written once the send is over, with whether the reply got through.
    query_id = new_query_id()
    # Suggestions name their headline whenever more than one article is loaded.
    headlines = len(conversation.library.articles) > 1
    text = render_answer(answer, HTML, t, headlines=headlines)
    if answer.outcome is Outcome.SUGGESTED and answer.matches:
        how = render_how_to_choose(len(answer.matches), t, tap=True)
        text += f"\n\n{HTML.italic(how)}"
    keyboard = answer_keyboard(
        answer,
        query_id,
        t,
        context.bot.username,
        headlines=headlines,
        watch=context.bot_data.watches is not None,
    )
    via = via_of(incoming.chat)
    fields = answer_fields(answer)
    async with logged_delivery(
        incoming.update, context, via, latency_ms, query_id=query_id, **fields
    ):
        answer_id = await _send_or_edit(incoming, context, text, keyboard, edit_message_id)
    if answer_id is not None:
        state.remember_answer(incoming.message.message_id, answer_id)
        state.remember_question(answer_id, question, query_id)
        conversation.remember_reply(answer_id, answer)  # a reply to it asks about its article
    logger.debug(
        "update %s: %s in %.1f ms", incoming.update.update_id, answer.outcome.value, latency_ms
    )
    return answer


async def choose_by_number(
    incoming: Incoming,
    context: Context,
    conversation: Conversation,
    number: int,
    t: Translator,
    edit_message_id: int | None = None,
) -> None:
    """A number typed after suggestions: that suggestion as a full answer (logged as a pick
    of the question they answered), or, for a number that is not among them, how many there
    are (not a question: neither searched nor logged, so never a content gap)."""
    state = conversation.state
    question = conversation.suggested_for
    match = conversation.choose(number)
    if match is None:
        hint = HTML.esc(render_choice_hint(len(conversation.suggestions), t))
        answer_id = await _send_or_edit(incoming, context, hint, None, edit_message_id)
        if answer_id is not None:
            state.remember_answer(incoming.message.message_id, answer_id)
        return
    query_id = new_query_id()
    keyboard = answered_keyboard(match, query_id, t, context.bot.username)
    fields = answer_fields(Answer(question, Outcome.ANSWERED, (match,)))
    fields["kind"] = "pick"
    async with logged_delivery(
        incoming.update, context, via_of(incoming.chat), None, query_id=query_id, **fields
    ):
        text = render_match(match, HTML, t)
        answer_id = await _send_or_edit(incoming, context, text, keyboard, edit_message_id)
    if answer_id is not None:
        state.remember_answer(incoming.message.message_id, answer_id)
        state.remember_question(answer_id, question, query_id)
        conversation.remember_reply(answer_id, match.article)


async def reply_small_talk(
    incoming: Incoming,
    context: Context,
    text: str,
    talk: SmallTalk,
    t: Translator,
    edit_message_id: int | None = None,
) -> None:
    """A greeting or thanks: a short reply pointing to the example questions (as buttons),
    logged as small talk (kind `small_talk`: not a question, nor a content gap)."""
    keyboard = examples_keyboard(context, t)
    answer_text = HTML.esc(t.gettext(REPLIES[talk, keyboard is not None]))
    fields = {"question": text, "outcome": "answered", "kind": "small_talk"}
    async with logged_delivery(incoming.update, context, via_of(incoming.chat), None, **fields):
        answer_id = await _send_or_edit(incoming, context, answer_text, keyboard, edit_message_id)
    if answer_id is not None:
        chat_state(context).remember_answer(incoming.message.message_id, answer_id)


def examples_keyboard(context: Context, t: Translator) -> InlineKeyboardMarkup | None:
    """The example questions of the reader's language (checked at load to be answered), one
    button each; None when there are none."""
    examples = context.bot_data.button_keys.examples_for(t.language)
    if not examples:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_fit(q, EXAMPLE_LENGTH), callback_data=example_data(q))]
            for q in examples
        ]
    )


def _fit(label: str, length: int = LABEL_LENGTH) -> str:
    return label if len(label) <= length else label[: length - 1] + "…"


async def _send_or_edit(
    incoming: Incoming,
    context: Context,
    text: str,
    keyboard: InlineKeyboardMarkup | None,
    edit_message_id: int | None,
) -> int | None:
    """Send the answer (or edit the earlier one); the id of the message holding it."""
    if edit_message_id is None:
        sent = await reply(incoming.message, text, keyboard)
        return sent[-1].message_id if sent else None
    try:
        await context.bot.edit_message_text(
            split_message(text)[0],
            chat_id=incoming.chat.id,
            message_id=edit_message_id,
            reply_markup=keyboard,
        )
    except BadRequest as error:
        if "not modified" not in error.message.lower():
            raise
    return edit_message_id


# -- the answer's buttons ----------------------------------------------------------------


def match_label(match: Match, with_headline: bool) -> str:
    """A button label: the section title, and the headline when articles differ."""
    label = match.passage.section
    if with_headline:
        label = f"{label} — {match.article.title}"
    return _fit(label)


def answer_keyboard(
    answer: Answer,
    query_id: str,
    t: Translator = ENGLISH,
    bot_username: str | None = None,
    *,
    headlines: bool | None = None,
    watch: bool = False,
) -> InlineKeyboardMarkup | None:
    """Suggestions as buttons (labelled by headline too when `headlines`, by default when
    they come from several articles); an answer gets "Full summary", 👍 / 👎 and "Share".
    With `watch` (answer requests are on), suggestions and a miss get "🔔 Tell me when
    answered" last (handlers/follows.py)."""
    rows: list[list[InlineKeyboardButton]] = []
    if answer.outcome is Outcome.ANSWERED and answer.best is not None:
        return answered_keyboard(answer.best, query_id, t, bot_username)
    if answer.outcome is Outcome.SUGGESTED:
        with_headline = answer.spans_articles if headlines is None else headlines
        rows = [
            [
                InlineKeyboardButton(
                    match_label(m, with_headline),
                    callback_data=pick_data(m.passage, m.article),
                )
            ]
            for m in answer.matches
        ]
    if watch:
        rows.append([watch_button(query_id, t)])
    return InlineKeyboardMarkup(rows) if rows else None


def answered_keyboard(
    match: Match, query_id: str, t: Translator = ENGLISH, bot_username: str | None = None
) -> InlineKeyboardMarkup:
    """An answer's buttons: "Full summary", 👍 / 👎 naming its query id, and below them
    "Share" (the passage's deep link through Telegram's share sheet, bot/share.py) when the
    bot's username is known."""
    summary = InlineKeyboardButton(
        t.gettext(FULL_SUMMARY), callback_data=summary_data(match.article)
    )
    rows = [
        [
            summary,
            InlineKeyboardButton("👍", callback_data=feedback_data(query_id, True)),
            InlineKeyboardButton("👎", callback_data=feedback_data(query_id, False)),
        ]
    ]
    share = share_button(match, t, bot_username)
    if share is not None:
        rows.append([share])
    return InlineKeyboardMarkup(rows)


def watch_button(query_id: str, t: Translator) -> InlineKeyboardButton:
    """ "🔔 Tell me when answered" under a reply (its data names the reply's query id)."""
    return InlineKeyboardButton(t.gettext(WATCH), callback_data=watch_data(query_id))


def share_button(
    match: Match, t: Translator, bot_username: str | None
) -> InlineKeyboardButton | None:
    """A URL button (no callback data, so nothing to expire) opening Telegram's share sheet
    with the passage's deep link; None without a username to link to."""
    if not bot_username:
        return None
    try:
        url = share_url(bot_username, match.passage, match.article)
    except ValueError:  # not a username Telegram would link to
        logger.warning("no share button: %r is not a Telegram username", bot_username)
        return None
    return InlineKeyboardButton(t.gettext(SHARE), url=url)


def handlers() -> Handlers:
    new_text = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND
    return [
        CommandHandler("ask", ask_command, filters=filters.UpdateType.MESSAGE),
        MessageHandler(new_text & filters.ChatType.PRIVATE, ask_private),
        MessageHandler(
            new_text
            & filters.ChatType.GROUPS
            & (filters.REPLY | filters.Entity(MessageEntity.MENTION)),
            ask_in_group,
        ),
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.TEXT, on_edited),
    ]
