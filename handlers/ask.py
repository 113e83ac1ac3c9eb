"""Questions: any text in private, /ask anywhere, replies to the bot and mentions in groups;
an edited question updates its answer."""

from __future__ import annotations

import html
import re

from telegram import Message, MessageEntity, Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, MessageHandler, filters

from handlers.common import ANSWERS, answer_question, reply

_ASK_COMMAND_RE = re.compile(r"^/ask(@\w+)?(\s+|$)", re.IGNORECASE)


def question_in(message: Message, bot_username: str) -> str:
    """The question a message asks: its text without `/ask[@bot]` and `@bot` mentions."""
    text = message.text or ""
    text = _ASK_COMMAND_RE.sub("", text, count=1)
    if bot_username:
        text = re.sub(rf"@{re.escape(bot_username)}\b", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split())


async def ask_private(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a private chat any text is a question."""
    message = update.effective_message
    if message is not None and message.text:
        await answer_question(update, context, message.text)


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask <question>, in private or in a group."""
    question = " ".join(context.args or [])
    if not question.strip():
        name = html.escape(context.bot.username or "bot")
        await reply(
            update,
            f"Ask me like this: <code>/ask@{name} How many customers does Alibaba Cloud "
            "serve?</code>",
        )
        return
    await answer_question(update, context, question)


async def ask_in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group message that replies to the bot or mentions it is a question."""
    message = update.effective_message
    if message is None or not message.text:
        return
    replied = message.reply_to_message
    to_bot = replied is not None and replied.from_user and replied.from_user.id == context.bot.id
    mention = f"@{context.bot.username}".lower()
    mentions = message.parse_entities([MessageEntity.MENTION]).values()
    if to_bot or any(text.lower() == mention for text in mentions):
        question = question_in(message, context.bot.username or "")
        if question:
            await answer_question(update, context, question)


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A reader edited a question the bot answered: edit the answer to match."""
    message = update.edited_message
    if message is None or context.chat_data is None:
        return
    answer_id = context.chat_data.get(ANSWERS, {}).get(message.message_id)
    if answer_id is None:
        return  # not a question the bot answered (or answered too long ago)
    question = question_in(message, context.bot.username or "")
    if question:
        await answer_question(update, context, question, edit_message_id=answer_id)


def handlers() -> list[BaseHandler]:
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
