"""Questions: any text in private, /ask anywhere, replies to the bot and mentions in groups."""

from __future__ import annotations

import html

from telegram import MessageEntity, Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, MessageHandler, filters

from handlers.common import answer_question, is_group, reply

VIA_PRIVATE = "private"
VIA_GROUP = "group"


async def ask_private(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a private chat any text is a question."""
    message = update.effective_message
    if message is not None and message.text:
        await answer_question(update, context, message.text, VIA_PRIVATE)


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
    via = VIA_GROUP if is_group(update.effective_chat) else VIA_PRIVATE
    await answer_question(update, context, question, via)


async def ask_in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group message that replies to the bot or mentions it is a question."""
    message = update.effective_message
    if message is None or not message.text:
        return
    replied = message.reply_to_message
    if replied is not None and replied.from_user and replied.from_user.id == context.bot.id:
        await answer_question(update, context, message.text, VIA_GROUP)
        return
    mention = f"@{context.bot.username}".lower()
    entities = message.parse_entities([MessageEntity.MENTION])
    if any(text.lower() == mention for text in entities.values()):
        question = message.text
        for text in entities.values():
            question = question.replace(text, " ")
        if question.strip():
            await answer_question(update, context, question.strip(), VIA_GROUP)


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
    ]
