"""Button presses: a suggested passage, the full summary, a group summary's section, an
example question, and 👍 / 👎 feedback.

Every callback query is answered exactly once, whatever happens: an expired or unknown
button, a forged payload, a press over the reader's flood limit, a failure halfway. Telegram
refuses a second answer, and an unanswered press leaves the reader's button spinning.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import CallbackQuery, Message, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import CallbackQueryHandler

from bot.answers import Answer, Outcome
from bot.callbacks import (
    EXAMPLE,
    FEEDBACK,
    PICK,
    SECTION,
    SUMMARY,
    Action,
    article_version,
    decode,
    example_version,
    passage_version,
)
from bot.i18n import ENGLISH, N_, Translator
from bot.limits import Verdict
from bot.querylog import answer_fields, new_query_id
from bot.rendering import HTML, render_match, render_section, render_summary, split_message
from handlers.ask import answer_question, answered_keyboard
from handlers.common import (
    Context,
    Handlers,
    Incoming,
    Pressed,
    conversation_of,
    logged_delivery,
    on_press,
    reply,
    translator_for,
    typing_indicator,
)

logger = logging.getLogger(__name__)

EXPIRED = N_("This button has expired. Please ask again.")
FAILED = N_("Sorry, that did not work. Please try again.")
SLOW_DOWN = N_("Slow down a little: try again in a few seconds.")
SENT_PRIVATELY = N_("Sent you the full summary in our private chat.")
START_PRIVATE = N_(
    "I can only send the full summary in a private chat you have started: open @{bot}, "
    "press Start, then press this button again."
)
HELPED = N_("Thanks, glad it helped!")
NOT_HELPED = N_("Thanks, noted. Sorry it didn't help.")


class Press:
    """One callback query and whether it was answered: the only place that answers it."""

    def __init__(self, query: CallbackQuery, translator: Translator = ENGLISH) -> None:
        self.query = query
        self.answered = False
        self.t = translator  # the presser's language (or the chat's choice)

    async def answer(self, text: str | None = None, *, show_alert: bool | None = None) -> None:
        """Answer the press unless that already happened (Telegram refuses a second answer)."""
        if self.answered:
            logger.warning("callback query %s: a second answer was dropped", self.query.id)
            return
        # Marked before the call: an answer that timed out may still have arrived, and
        # answering again would fail or, worse, replace what the reader saw.
        self.answered = True
        await self.query.answer(text, show_alert=show_alert)


@on_press
async def on_button(pressed: Pressed, context: Context) -> None:
    """Act on a press, or say why not; answer it exactly once either way."""
    query = pressed.query
    press = Press(query, translator_for(pressed.update, context))
    try:
        await dispatch(pressed.update, context, press)
    except Exception:
        # Answer the press (unless that already happened), then let the error handler log it.
        if not press.answered:
            with contextlib.suppress(TelegramError):
                await press.answer(press.t.gettext(FAILED))
        raise
    if not press.answered:  # every path answers; this only guards against a forgotten one
        logger.warning("callback query %s: no answer was given, answering empty", query.id)
        await press.answer()


async def dispatch(update: Update, context: Context, press: Press) -> None:
    """Check the press (flood limit, known and carried data), then run its action."""
    query = press.query
    expired = press.t.gettext(EXPIRED)
    if context.bot_data.allowed_to_ask(query.from_user.id) is not Verdict.ALLOW:
        # A short note on the button, never a new message: pressing is not asking.
        await press.answer(press.t.gettext(SLOW_DOWN))
        return
    action = decode(query.data)
    if action is None or not carried(query, action, context):
        await press.answer(expired, show_alert=True)
    elif action.kind == PICK:
        await show_passage(update, context, press, action)
    elif action.kind == SUMMARY:
        await show_summary(update, context, press, action)
    elif action.kind == FEEDBACK:
        await record_feedback(press, context, action)
    elif action.kind == EXAMPLE:
        await ask_example(update, context, press, action)
    elif action.kind == SECTION:
        await show_section(update, context, press, action)
    else:  # decode() made an action this module has no handler for
        await press.answer(expired, show_alert=True)


def carried(query: CallbackQuery, action: Action, context: Context) -> bool:
    """Whether the pressed message really offers this button (a modified client can send any
    data). Telegram sends the message as it is, keyboard included; a message sent via inline
    mode is not sent, so a vote on one must name a query id issued for an inline result.
    Picks and summaries on inline messages are checked by their content versions instead.
    """
    message = query.message
    if message is None:
        return action.kind != FEEDBACK or context.bot_data.issued_inline_query_id(action.key)
    markup = getattr(message, "reply_markup", None)  # an InaccessibleMessage has none
    if markup is None:
        return False
    buttons = (button for row in markup.inline_keyboard for button in row)
    return any(button.callback_data == query.data for button in buttons)


async def show_passage(update: Update, context: Context, press: Press, action: Action) -> None:
    """A suggestion was chosen: turn the message into that passage's full answer."""
    query = press.query
    state = context.bot_data
    passage_id = state.button_keys.passage_id(action.key)
    match = state.library.passage(passage_id) if passage_id else None
    if match is None or passage_version(match.passage, match.article) != action.version:
        await press.answer(press.t.gettext(EXPIRED), show_alert=True)
        return
    await press.answer()
    message = query.message
    # A message sent via inline mode has no chat, so no chat_data (PTB gives None).
    chat_data = context.chat_data
    asked = (
        chat_data.questions.get(message.message_id) if message and chat_data is not None else None
    )
    question = asked[0] if asked else match.passage.section
    chosen = Answer(question, Outcome.ANSWERED, (match,))
    query_id = new_query_id()
    if message is None:  # its new 👍 / 👎 name this id: votes on it must be accepted
        context.bot_data.issue_inline_query_id(query_id)
    text = split_message(render_match(match, HTML, press.t))[0]
    fields = answer_fields(chosen)
    fields["kind"] = "pick"
    async with logged_delivery(update, context, "callback", None, query_id=query_id, **fields):
        # PTB edits through inline_message_id when the press came from an inline message.
        keyboard = answered_keyboard(match, query_id, press.t, context.bot.username)
        await query.edit_message_text(text, reply_markup=keyboard)
    # Its article becomes the chat's current one (an inline message has no chat: no effect).
    conversation_of(context).choose(match)
    if chat_data is not None and message is not None:
        chat_data.remember_question(message.message_id, question, query_id)


async def show_summary(update: Update, context: Context, press: Press, action: Action) -> None:
    """ "Full summary": send the article's summary below the answer (or privately)."""
    query = press.query
    state = context.bot_data
    article_id = state.button_keys.article_id(action.key)
    article = state.library.article(article_id) if article_id else None
    if article is None or article_version(article) != action.version:
        await press.answer(press.t.gettext(EXPIRED), show_alert=True)
        return
    if query.message is None:
        await send_summary_privately(context, press, render_summary(article, HTML, press.t))
        return
    await press.answer()
    conversation_of(context).summary(article)  # it becomes the chat's current article
    if not isinstance(query.message, Message):  # too old to reach: carried() refused it
        return
    async with typing_indicator(update, context):
        await reply(query.message, render_summary(article, HTML, press.t))


async def show_section(update: Update, context: Context, press: Press, action: Action) -> None:
    """A group summary's section button: that section's points, as a reply to the summary
    (a reply to them asks about the article, which becomes the chat's current one)."""
    query = press.query
    state = context.bot_data
    article_id = state.button_keys.article_id(action.key)
    article = state.library.article(article_id) if article_id else None
    number = action.number or 0
    if (
        article is None
        or article_version(article) != action.version
        or not 1 <= number <= len(article.sections)
    ):
        await press.answer(press.t.gettext(EXPIRED), show_alert=True)
        return
    text = render_section(article, number, HTML, press.t)
    if query.message is None:  # not a button the bot puts on an inline message: be safe
        await send_summary_privately(context, press, text)
        return
    await press.answer()
    conversation = conversation_of(context)
    conversation.summary(article)  # it becomes the chat's current article
    if not isinstance(query.message, Message):  # too old to reach: carried() refused it
        return
    for message in await reply(query.message, text):
        conversation.remember_reply(message.message_id, article)


async def send_summary_privately(context: Context, press: Press, summary: str) -> None:
    """The summary of an inline message's article, in the reader's private chat.

    An inline message lives in a chat of the sender's choosing, where the bot may not be a
    member, and everyone there shares it: editing it into a long summary would take the
    answer away from them, for one reader's press. So the summary goes to the reader who
    pressed, in private; Telegram allows that only once they have started the bot, and the
    alert says so (the bot's /start takes no payload a deep link could carry).
    """
    user_id = press.query.from_user.id
    try:
        for part in split_message(summary):
            await context.bot.send_message(user_id, part)
    except Forbidden:
        text = press.t.gettext(START_PRIVATE).format(bot=context.bot.username)
        await press.answer(text, show_alert=True)
        return
    await press.answer(press.t.gettext(SENT_PRIVATELY))


async def record_feedback(press: Press, context: Context, action: Action) -> None:
    """👍 / 👎: one vote per reader and answer; pressing again changes it."""
    log = context.bot_data.query_log
    if log is not None:
        log.record_feedback(
            query_id=action.key, user_id=press.query.from_user.id, helpful=bool(action.helpful)
        )
    await press.answer(press.t.gettext(HELPED if action.helpful else NOT_HELPED))


async def ask_example(update: Update, context: Context, press: Press, action: Action) -> None:
    """One of /start's example questions: asked and answered in the chat, as if typed (the
    press was counted against the flood limit already)."""
    question = context.bot_data.button_keys.question(action.key)
    message = press.query.message
    if question is None or example_version(question) != action.version:
        await press.answer(press.t.gettext(EXPIRED), show_alert=True)
        return
    await press.answer()
    if not isinstance(message, Message):  # too old to reach: carried() refused it
        return
    incoming = Incoming(update, message, message.chat, press.query.from_user)
    await answer_question(incoming, context, question, limited=False)


def handlers() -> Handlers:
    # Presses with any other data are answered "expired" by handlers.fallback (on_button).
    return [CallbackQueryHandler(on_button, pattern=r"^[psfec]:")]
