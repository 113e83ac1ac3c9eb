"""Questions: any text in private, /ask anywhere, replies to the bot and mentions in groups;
an edited question updates its answer."""

from __future__ import annotations

import html
import re

from telegram import Message, MessageEntity
from telegram.ext import CommandHandler, MessageHandler, filters

from handlers.common import (
    Context,
    Handlers,
    Incoming,
    answer_question,
    chat_state,
    on_message,
    reply,
)

_ASK_COMMAND_RE = re.compile(r"^/ask(@\w+)?(\s+|$)", re.IGNORECASE)


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
        name = html.escape(context.bot.username or "bot")
        await reply(
            incoming.message,
            f"Ask me like this: <code>/ask@{name} How many customers does Alibaba Cloud "
            "serve?</code>",
        )
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
