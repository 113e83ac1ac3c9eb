"""Admin uploads: an article (`.txt`/`.md`) or the glossary (`aliases.toml`) sent as a document.

Private chats only: in a group the file would be shown to every member first, and with
privacy mode on the bot would not even see it. The checks come in the cheapest order, so a
refused file is never downloaded when the refusal can be known before: the sender's user
id, then the name and the size Telegram announces, then the bytes themselves.
"""

from __future__ import annotations

import asyncio
import html
import logging

from telegram.error import TelegramError
from telegram.ext import MessageHandler, filters

from bot.parsing import ContentLimits
from bot.uploads import UploadRefused, accept_upload, check_upload
from handlers.access import admin_only
from handlers.admin import reload_library
from handlers.common import (
    Context,
    Handlers,
    Incoming,
    on_message,
    reply,
    translator_for,
    typing_indicator,
)

logger = logging.getLogger(__name__)

MAX_WARNINGS_SHOWN = 10


@on_message
@admin_only("upload")
async def upload(incoming: Incoming, context: Context) -> None:
    """Check, download, validate and write the file, then reload and report."""
    document = incoming.message.document
    if document is None:  # the filter passes documents only
        return
    user_id = incoming.user_id
    t = translator_for(incoming.update, context)
    settings = context.bot_data.settings
    limits = ContentLimits.of(settings)
    try:
        check_upload(document.file_name, document.file_size, limits.max_bytes)
        async with typing_indicator(incoming.update, context):
            file = await document.get_file()
            # getFile's size, for a document whose message did not say.
            check_upload(document.file_name, file.file_size, limits.max_bytes)
            data = bytes(await file.download_as_bytearray())
            # In a thread: parsing a big article or compiling a big glossary takes long.
            result = await asyncio.to_thread(
                accept_upload, settings.seeds_dir, document.file_name, data, limits
            )
    except UploadRefused as refused:
        logger.info("upload by user %s refused: %s", user_id, refused)
        await reply(incoming.message, html.escape(str(refused)))
        return
    except TelegramError as error:
        logger.warning("upload by user %s: download failed: %s", user_id, error)
        name = html.escape(document.file_name or t.gettext("the file"))
        text = t.gettext("Could not download {name}: {error}")
        await reply(incoming.message, text.format(name=name, error=html.escape(str(error))))
        return
    logger.info("upload by user %s: %s", user_id, result.describe())
    lines = [html.escape(result.describe()) + "."]
    if result.warnings:
        heading = t.gettext("Warnings ({count})").format(count=len(result.warnings))
        lines += ["", f"<b>{heading}</b>"]
        lines += [f"• {html.escape(str(w))}" for w in result.warnings[:MAX_WARNINGS_SHOWN]]
    lines += ["", await reload_library(incoming, context)]
    await reply(incoming.message, "\n".join(lines))


def handlers() -> Handlers:
    documents = filters.UpdateType.MESSAGE & filters.Document.ALL & filters.ChatType.PRIVATE
    return [MessageHandler(documents, upload)]
