"""The fake Telegram server, driven by the real python-telegram-bot stack: valid calls succeed
and are recorded with parsed parameters, and each of Telegram's rules raises PTB's real
exception with Telegram's description."""

from __future__ import annotations

import asyncio
import datetime as dt
import http.client
import json
import struct
import threading
import urllib.error
import urllib.request
import zlib
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    ReplyParameters,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.ext import CallbackQueryHandler, ChatMemberHandler, CommandHandler, InlineQueryHandler
from telegram.request import HTTPXRequest

from tests.conftest import HandClock
from tests.fake_telegram import Call, FakeTelegram, RateLimits

USER = 42
GROUP = -4000123
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1")]])


def make_bot(fake: FakeTelegram, token: str | None = None) -> Bot:
    """A real PTB Bot on the fake. TLS verification is off only because building httpx's
    default TLS context costs ~50 ms per client, and the fake speaks plain HTTP anyway."""
    return Bot(
        token or fake.token,
        base_url=fake.base_url,
        base_file_url=fake.base_file_url,
        request=HTTPXRequest(httpx_kwargs={"verify": False}),
        get_updates_request=HTTPXRequest(httpx_kwargs={"verify": False}),
    )


@pytest.fixture
async def client(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """A real PTB Bot talking to `fake` (conftest's) over HTTP."""
    async with make_bot(fake) as bot:
        yield bot


def png(width: int, height: int) -> bytes:
    """A valid greyscale PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    pixels = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


async def rejected(
    fake: FakeTelegram, request: Awaitable[Any], error: type[TelegramError], description: str
) -> Call:
    """Assert the request raises PTB's `error` for Telegram's `description`; the call."""
    with pytest.raises(error) as raised:
        await request
    call = fake.calls[-1]
    assert (call.ok, call.description) == (False, description)
    # PTB's own rewriting of a description ("Bad Request: x" -> "X").
    assert raised.value.message == TelegramError(description).message
    return call


async def drain(bot: Bot) -> tuple[Update, ...]:
    """The pending updates, confirmed (as PTB's Updater does with the next offset)."""
    updates = await bot.get_updates(timeout=0)
    if updates:
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    return updates


# ---------------------------------------------------------------------- identity, tokens


async def test_get_me_reports_the_configured_identity() -> None:
    with FakeTelegram(bot_id=555, username="other_bot", can_read_all_group_messages=True) as fake:
        async with make_bot(fake) as bot:
            me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (555, "other_bot", True)
    assert (me.can_join_groups, me.can_read_all_group_messages, me.supports_inline_queries) == (
        True,
        True,
        True,
    )
    assert [call.method for call in fake.calls] == ["getMe", "getMe"]  # initialize + get_me
    assert fake.calls[0].params == {} and fake.calls[0].status == 200


async def test_a_wrong_token_is_unauthorized(fake: FakeTelegram) -> None:
    wrong = make_bot(fake, "123:not-the-token")
    with pytest.raises(InvalidToken):
        await wrong.initialize()
    await wrong.shutdown()
    call = fake.calls[-1]
    assert (call.method, call.status, call.description) == ("getMe", 401, "Unauthorized")
    assert call.token == "123:not-the-token"


async def test_an_unknown_method_is_not_found(fake: FakeTelegram, client: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await client.do_api_request("sendTelepathy", api_kwargs={"chat_id": USER})
    assert (fake.calls[-1].method, fake.calls[-1].status) == ("sendTelepathy", 404)
    assert fake.calls[-1].response == {"ok": False, "error_code": 404, "description": "Not Found"}


# ---------------------------------------------------------------------- sendMessage


async def test_send_message_is_recorded_with_parsed_params(fake: FakeTelegram, client: Bot) -> None:
    question = fake.private_message(USER, "What is BM25?")
    sent = await client.send_message(
        USER,
        "<b>BM25</b> &amp; friends 😀",
        parse_mode="HTML",
        reply_markup=KEYBOARD,
        disable_notification=True,
        reply_parameters=ReplyParameters(question["message_id"]),
    )
    call = fake.calls_to("sendMessage")[-1]
    assert call.params == {
        "chat_id": USER,
        "text": "<b>BM25</b> &amp; friends 😀",
        "parse_mode": "HTML",
        "disable_notification": True,
        "reply_markup": {"inline_keyboard": [[{"text": "More", "callback_data": "more:1"}]]},
        "reply_parameters": {"message_id": question["message_id"]},
    }
    assert call.raw_params["chat_id"] == "42" and call.raw_params["disable_notification"] == "true"
    assert sent.text == "BM25 & friends 😀"
    assert sent.reply_markup == KEYBOARD
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.text == "What is BM25?"
    assert sent.from_user is not None and sent.from_user.id == fake.bot_id
    assert fake.bot_messages(USER)[-1]["text"] == "BM25 & friends 😀"


async def test_a_numeric_text_stays_a_string(fake: FakeTelegram, client: Bot) -> None:
    fake.private_message(USER, "hi")
    await client.send_message(USER, "42")
    assert fake.calls_to("sendMessage")[-1].params["text"] == "42"


async def test_message_ids_increase_per_chat(fake: FakeTelegram, client: Bot) -> None:
    fake.private_message(USER, "hi")  # message 1 in chat 42
    fake.private_message(43, "hi")  # message 1 in chat 43
    ids = [(await client.send_message(chat, "x")).message_id for chat in (USER, USER, 43)]
    assert ids == [2, 3, 2]


@pytest.mark.parametrize(
    ("text", "parse_mode", "visible"),
    [
        ("x" * 4096, None, "x" * 4096),
        ("😀" * 2048, None, "😀" * 2048),  # 4,096 UTF-16 units
        ("<b>" + "x" * 4096 + "</b>", "HTML", "x" * 4096),  # counted after parsing
        ("  padded\n", None, "padded"),  # Telegram strips surrounding whitespace
        ("a > b &lt; c", "HTML", "a > b < c"),
        ("<b>not markup</b>", None, "<b>not markup</b>"),
    ],
)
async def test_valid_texts_are_accepted(
    fake: FakeTelegram, client: Bot, text: str, parse_mode: str | None, visible: str
) -> None:
    fake.private_message(USER, "hi")
    sent = await client.send_message(USER, text, parse_mode=parse_mode)
    assert sent.text == visible
    assert fake.calls_to("sendMessage")[-1].params["text"] == text


@pytest.mark.parametrize(
    ("text", "parse_mode", "description"),
    [
        ("", None, "Bad Request: message text is empty"),
        (" \n\t ", None, "Bad Request: message text is empty"),
        ("<b> </b>", "HTML", "Bad Request: message text is empty"),
        ("x" * 4097, None, "Bad Request: message is too long"),
        ("😀" * 2049, None, "Bad Request: message is too long"),  # 2,049 chars, 4,098 units
        (
            "<b>bold",
            "HTML",
            "Bad Request: can't parse entities: "
            'Can\'t find end tag corresponding to start tag "b"',
        ),
        (
            "fish & chips",
            "HTML",
            "Bad Request: can't parse entities: Unescaped '&' at byte offset 5",
        ),
        ("x", "Pig", "Bad Request: unsupported parse_mode"),
    ],
)
async def test_invalid_texts_are_bad_requests(
    fake: FakeTelegram, client: Bot, text: str, parse_mode: str | None, description: str
) -> None:
    fake.private_message(USER, "hi")
    await rejected(
        fake, client.send_message(USER, text, parse_mode=parse_mode), BadRequest, description
    )
    assert fake.bot_messages(USER) == []


@pytest.mark.parametrize(
    ("data", "valid"),
    [("a" * 64, True), ("ж" * 32, True), ("a" * 65, False), ("ж" * 33, False)],  # ж: 2 bytes
)
async def test_callback_data_is_limited_to_64_bytes(
    fake: FakeTelegram, client: Bot, data: str, valid: bool
) -> None:
    fake.private_message(USER, "hi")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data=data)]])
    if valid:
        sent = await client.send_message(USER, "pick", reply_markup=markup)
        assert sent.reply_markup == markup
    else:
        await rejected(
            fake,
            client.send_message(USER, "pick", reply_markup=markup),
            BadRequest,
            "Bad Request: BUTTON_DATA_INVALID",
        )


async def test_inline_buttons_need_an_action(fake: FakeTelegram, client: Bot) -> None:
    fake.private_message(USER, "hi")
    await rejected(
        fake,
        client.send_message(USER, "x", reply_markup={"inline_keyboard": [[{"text": "bare"}]]}),
        BadRequest,
        "Bad Request: can't parse inline keyboard button: "
        "Text buttons are unallowed in the inline keyboard",
    )


async def test_unknown_and_unreachable_chats(fake: FakeTelegram, client: Bot) -> None:
    await rejected(fake, client.send_message(999, "x"), BadRequest, "Bad Request: chat not found")
    fake.group_message(GROUP, 7, "/help")  # user 7 is known, but never wrote in private
    await rejected(
        fake,
        client.send_message(7, "x"),
        Forbidden,
        "Forbidden: bot can't initiate conversation with a user",
    )
    fake.add_user(8, started=False)
    await rejected(
        fake,
        client.send_message(8, "x"),
        Forbidden,
        "Forbidden: bot can't initiate conversation with a user",
    )
    fake.add_user(9, first_name="Nine")  # started the bot, e.g. through a webhook
    assert (await client.send_message(9, "x")).chat.first_name == "Nine"
    fake.private_message(USER, "hi")
    fake.block_user(USER)
    await rejected(
        fake, client.send_message(USER, "x"), Forbidden, "Forbidden: bot was blocked by the user"
    )
    fake.my_chat_member(GROUP, 7, "kicked", "member")
    await rejected(
        fake,
        client.send_chat_action(GROUP, "typing"),
        Forbidden,
        "Forbidden: bot was kicked from the group chat",
    )


async def test_a_migrated_group_raises_chat_migrated(fake: FakeTelegram, client: Bot) -> None:
    fake.group_message(GROUP, 7, "/start")
    fake.migrate(GROUP, -1009876543210)
    with pytest.raises(ChatMigrated) as raised:
        await client.send_message(GROUP, "x")
    assert raised.value.new_chat_id == -1009876543210
    assert fake.calls[-1].response["parameters"] == {"migrate_to_chat_id": -1009876543210}
    sent = await client.send_message(-1009876543210, "x")
    assert sent.chat.type == "supergroup"


async def test_channel_posts_reach_only_a_bot_that_is_an_admin(
    fake: FakeTelegram, client: Bot
) -> None:
    channel = -1001234000555
    unseen = fake.channel_post(channel, "/subscribe")  # the bot is not in the channel
    assert "from" not in unseen and unseen["sender_chat"]["id"] == channel
    assert fake.pending_updates == []
    await rejected(
        fake,
        client.send_message(channel, "x"),
        Forbidden,
        "Forbidden: bot is not a member of the channel chat",
    )
    fake.my_chat_member(channel, 7, "administrator", chat_type="channel")
    fake.channel_post(channel, "/subscribe")
    updates = await drain(client)
    post = updates[-1].channel_post
    assert post is not None and post.chat.type == "channel" and post.from_user is None
    assert post.text == "/subscribe" and post.sender_chat is not None
    sent = await client.send_message(channel, "x")
    assert sent.chat.id == channel


async def test_replying_to_a_missing_message(fake: FakeTelegram, client: Bot) -> None:
    fake.private_message(USER, "hi")
    await rejected(
        fake,
        client.send_message(USER, "x", reply_parameters=ReplyParameters(999)),
        BadRequest,
        "Bad Request: message to be replied not found",
    )
    sent = await client.send_message(
        USER, "x", reply_parameters=ReplyParameters(999, allow_sending_without_reply=True)
    )
    assert sent.reply_to_message is None


# ---------------------------------------------------------------------- edits and callbacks


async def test_edit_message_text(fake: FakeTelegram, client: Bot) -> None:
    question = fake.private_message(USER, "hi")
    sent = await client.send_message(
        USER, "<b>Page 1</b>", parse_mode="HTML", reply_markup=KEYBOARD
    )
    edited = await client.edit_message_text(
        "Page 2", USER, sent.message_id, parse_mode="HTML", reply_markup=KEYBOARD
    )
    assert isinstance(edited, type(sent)) and edited.text == "Page 2"
    assert edited.edit_date is not None
    assert fake.message(USER, sent.message_id)["text"] == "Page 2"
    not_modified = (
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message"
    )
    same = client.edit_message_text(
        "Page 2", USER, sent.message_id, parse_mode="HTML", reply_markup=KEYBOARD
    )
    await rejected(fake, same, BadRequest, not_modified)
    # Plain "Page 2" has the same text and no entities: still not modified.
    await rejected(
        fake,
        client.edit_message_text("Page 2", USER, sent.message_id, reply_markup=KEYBOARD),
        BadRequest,
        not_modified,
    )
    # Bold is a different content; dropping the keyboard is a different markup.
    bold = client.edit_message_text(
        "<b>Page 2</b>", USER, sent.message_id, parse_mode="HTML", reply_markup=KEYBOARD
    )
    assert (await bold).text == "Page 2"
    bare = await client.edit_message_text("<b>Page 2</b>", USER, sent.message_id, parse_mode="HTML")
    assert bare.reply_markup is None
    assert "reply_markup" not in fake.message(USER, sent.message_id)
    await rejected(
        fake,
        client.edit_message_text("x", USER, question["message_id"]),
        BadRequest,
        "Bad Request: message can't be edited",
    )
    await rejected(
        fake,
        client.edit_message_text("x", USER, 999),
        BadRequest,
        "Bad Request: message to edit not found",
    )
    await rejected(
        fake,
        client.edit_message_text(" ", USER, sent.message_id),
        BadRequest,
        "Bad Request: message text is empty",
    )


async def test_editing_a_photo_message_text(fake: FakeTelegram, client: Bot) -> None:
    fake.private_message(USER, "hi")
    photo = await client.send_photo(USER, png(4, 3))
    await rejected(
        fake,
        client.edit_message_text("x", USER, photo.message_id),
        BadRequest,
        "Bad Request: there is no text in the message to edit",
    )


async def test_callback_queries_are_answered_once(fake: FakeTelegram, client: Bot) -> None:
    fake.private_message(USER, "hi")
    sent = await client.send_message(USER, "pick", reply_markup=KEYBOARD)
    query = fake.callback_query(USER, fake.calls_to("sendMessage")[-1].result, "more:1")
    _, update = await drain(client)
    assert update.callback_query is not None
    assert update.callback_query.id == query["id"]
    assert update.callback_query.data == "more:1"
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == sent.message_id
    assert CallbackQueryHandler(print, pattern="^more:").check_update(update)
    assert await client.answer_callback_query(query["id"], text="Loading") is True
    assert fake.calls[-1].params == {"callback_query_id": query["id"], "text": "Loading"}
    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    await rejected(fake, client.answer_callback_query(query["id"]), BadRequest, too_old)
    await rejected(fake, client.answer_callback_query("123"), BadRequest, too_old)


async def test_a_user_cannot_press_a_button_that_is_not_there(
    fake: FakeTelegram, client: Bot
) -> None:
    fake.private_message(USER, "hi")
    await client.send_message(USER, "pick", reply_markup=KEYBOARD)
    message = fake.bot_messages(USER)[-1]
    with pytest.raises(ValueError, match="more:1"):
        fake.callback_query(USER, message, "more:2")


async def test_a_modified_client_can_send_any_data_when_forged(
    fake: FakeTelegram, client: Bot
) -> None:
    fake.private_message(USER, "hi")
    await client.send_message(USER, "pick", reply_markup=KEYBOARD)
    query = fake.callback_query(USER, fake.bot_messages(USER)[-1], "more:2", forged=True)
    _, update = await drain(client)
    assert update.callback_query is not None and update.callback_query.data == "more:2"
    # The message comes as it is: its keyboard shows the data was not on it.
    keyboard = update.callback_query.message.reply_markup.inline_keyboard
    assert [b.callback_data for row in keyboard for b in row] == ["more:1"]
    too_long = "Bad Request: MESSAGE_TOO_LONG"
    await rejected(
        fake, client.answer_callback_query(query["id"], text="x" * 201), BadRequest, too_long
    )
    assert await client.answer_callback_query(query["id"], text="x" * 200) is True


# ---------------------------------------------------------------------- rate limits


async def test_armed_429s_raise_retry_after(
    fake: FakeTelegram, client: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake.private_message(USER, "hi")
    fake.fail_next("sendMessage", 429, retry_after=3, times=2)
    for _ in range(2):
        with pytest.raises(RetryAfter) as raised:
            await client.send_message(USER, "x")
        assert raised.value.retry_after == dt.timedelta(seconds=3)
    assert (await client.send_message(USER, "x")).text == "x"
    calls = fake.calls_to("sendMessage")
    assert [call.status for call in calls] == [429, 429, 200]
    assert calls[0].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }


async def test_other_armed_failures(fake: FakeTelegram, client: Bot) -> None:
    fake.private_message(USER, "hi")
    fake.fail_next("sendChatAction", 403, "Forbidden: bot was blocked by the user")
    await rejected(
        fake,
        client.send_chat_action(USER, "typing"),
        Forbidden,
        "Forbidden: bot was blocked by the user",
    )
    assert await client.send_chat_action(USER, "typing") is True
    await rejected(
        fake,
        client.send_chat_action(USER, "dancing"),
        BadRequest,
        "Bad Request: wrong parameter action in request",
    )


# ---------------------------------------------------------------------- getUpdates


async def test_get_updates_honours_offset_and_limit(fake: FakeTelegram, client: Bot) -> None:
    for text in ("one", "two", "three"):
        fake.private_message(USER, text)
    updates = await client.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["one", "two", "three"]
    ids = [u.update_id for u in updates]
    assert ids == sorted(ids) and len(set(ids)) == 3
    again = await client.get_updates(timeout=0)  # unconfirmed updates come again
    assert [u.update_id for u in again] == ids
    assert [u.update_id for u in await client.get_updates(offset=ids[1], timeout=0)] == ids[1:]
    assert [u.update_id for u in await client.get_updates(limit=1, timeout=0)] == ids[1:2]
    assert await client.get_updates(offset=ids[2] + 1, timeout=0) == ()
    assert fake.pending_updates == []
    assert fake.calls_to("getUpdates")[-1].params == {"offset": ids[2] + 1, "timeout": 0}


async def test_long_polling_returns_as_soon_as_an_update_is_queued(
    fake: FakeTelegram, client: Bot
) -> None:
    poll = asyncio.create_task(client.get_updates(timeout=30))
    await asyncio.to_thread(fake.wait_until_polling, 5)
    assert not poll.done()
    fake.private_message(USER, "wake up")
    # A hang guard, not a timing assertion: a server that slept 30 s would fail here.
    updates = await asyncio.wait_for(poll, 5)
    assert [u.message.text for u in updates if u.message] == ["wake up"]


async def test_allowed_updates_filter_and_reset(fake: FakeTelegram, client: Bot) -> None:
    fake.private_message(USER, "hi")
    await client.send_message(USER, "pick", reply_markup=KEYBOARD)
    fake.callback_query(USER, fake.bot_messages(USER)[-1], "more:1")
    updates = await client.get_updates(timeout=0, allowed_updates=["callback_query"])
    assert [u.callback_query is not None for u in updates] == [True]
    fake.private_message(USER, "again")
    assert await client.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
    fake.private_message(USER, "back")
    updates = await client.get_updates(timeout=0, allowed_updates=[])  # [] means the default set
    assert [u.message.text for u in updates if u.message] == ["back"]


async def test_a_second_poller_terminates_the_first(fake: FakeTelegram, client: Bot) -> None:
    first = asyncio.create_task(client.get_updates(timeout=30))
    await asyncio.to_thread(fake.wait_until_polling, 5)
    async with make_bot(fake) as second:
        assert await second.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 5)


async def test_webhooks_block_polling(fake: FakeTelegram, client: Bot) -> None:
    fake.private_message(USER, "queued")
    assert await client.set_webhook("https://example.com/hook") is True
    assert (await client.get_webhook_info()).url == "https://example.com/hook"
    assert fake.webhook_url == "https://example.com/hook"
    await rejected(
        fake,
        client.get_updates(timeout=0),
        Conflict,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
        "delete the webhook first",
    )
    await rejected(
        fake,
        client.set_webhook("http://example.com/hook"),
        BadRequest,
        "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
    )
    assert (await client.get_webhook_info()).pending_update_count == 1
    assert await client.delete_webhook(drop_pending_updates=True) is True
    assert fake.webhook_url == ""
    assert await client.get_updates(timeout=0) == ()


# ---------------------------------------------------------------------- files


async def test_send_photo_uploads_multipart(fake: FakeTelegram, client: Bot) -> None:
    fake.private_message(USER, "hi")
    image = png(640, 480)
    sent = await client.send_photo(USER, image, caption="<b>Chart</b>", parse_mode="HTML")
    call = fake.calls_to("sendPhoto")[-1]
    assert call.files["photo"].data == image
    assert call.params == {"chat_id": USER, "caption": "<b>Chart</b>", "parse_mode": "HTML"}
    assert sent.caption == "Chart"
    assert (sent.photo[-1].width, sent.photo[-1].height) == (640, 480)
    again = await client.send_photo(USER, sent.photo[-1].file_id)  # by file_id, no upload
    assert again.photo[-1].file_id == sent.photo[-1].file_id
    assert fake.calls_to("sendPhoto")[-1].files == {}


@pytest.mark.parametrize(
    ("data", "description"),
    [
        (b"not an image", "Bad Request: IMAGE_PROCESS_FAILED"),
        (png(10, 400), "Bad Request: PHOTO_INVALID_DIMENSIONS"),  # ratio over 20
        (png(1, 1), "Bad Request: message caption is too long"),
    ],
)
async def test_invalid_photos(
    fake: FakeTelegram, client: Bot, data: bytes, description: str
) -> None:
    fake.private_message(USER, "hi")
    caption = "x" * 1025 if "caption" in description else None
    await rejected(fake, client.send_photo(USER, data, caption=caption), BadRequest, description)


async def test_send_document_round_trips(fake: FakeTelegram, client: Bot) -> None:
    fake.private_message(USER, "hi")
    sent = await client.send_document(USER, b"# Notes\n", filename="notes.md", caption="Your file")
    upload = fake.calls_to("sendDocument")[-1].files["document"]
    assert (upload.filename, upload.data) == ("notes.md", b"# Notes\n")
    assert sent.document is not None and sent.document.file_name == "notes.md"
    assert sent.caption == "Your file"
    file = await client.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"# Notes\n"
    await rejected(
        fake,
        client.send_document(USER, b"", filename="empty.txt"),
        BadRequest,
        "Bad Request: file must be non-empty",
    )


async def test_get_file_and_download(fake: FakeTelegram, client: Bot) -> None:
    file_id = fake.add_file(b"digest body", "digest.md", "text/markdown")
    file = await client.get_file(file_id)
    assert file.file_path is not None and file.file_path.startswith(fake.base_file_url)
    assert file.file_size == len(b"digest body")
    assert bytes(await file.download_as_bytearray()) == b"digest body"
    assert fake.downloads == [fake.file(file_id).file_path]
    await rejected(fake, client.get_file("nope"), BadRequest, "Bad Request: invalid file_id")
    big = fake.add_file(b"x", "big.pdf", file_size=21 * 1024 * 1024)
    await rejected(fake, client.get_file(big), BadRequest, "Bad Request: file is too big")


# ---------------------------------------------------------------------- commands, chats


async def test_set_my_commands_for_chats(fake: FakeTelegram, client: Bot) -> None:
    commands = [BotCommand("ask", "Ask a question"), BotCommand("reload", "Reload")]
    await rejected(
        fake,
        client.set_my_commands(commands, scope=BotCommandScopeChat(USER)),
        BadRequest,
        "Bad Request: chat not found",
    )
    fake.private_message(USER, "hi")  # now Telegram knows the chat
    assert await client.set_my_commands(commands, scope=BotCommandScopeChat(USER)) is True
    assert fake.calls[-1].params["scope"] == {"type": "chat", "chat_id": USER}
    expected = [
        {"command": "ask", "description": "Ask a question"},
        {"command": "reload", "description": "Reload"},
    ]
    assert fake.my_commands({"type": "chat", "chat_id": USER}) == expected
    assert fake.my_commands() == []  # the default scope is separate
    await client.set_my_commands(commands[:1], scope=BotCommandScopeAllPrivateChats())
    assert fake.my_commands({"type": "all_private_chats"}) == expected[:1]
    got = await client.get_my_commands(scope=BotCommandScopeChat(USER))
    assert [c.command for c in got] == ["ask", "reload"]
    assert await client.delete_my_commands(scope=BotCommandScopeChat(USER)) is True
    assert fake.my_commands({"type": "chat", "chat_id": USER}) == []
    await rejected(
        fake,
        client.set_my_commands([BotCommand("Ask", "Upper case")]),
        BadRequest,
        "Bad Request: BOT_COMMAND_INVALID",
    )


async def test_get_chat_and_delete_message(fake: FakeTelegram, client: Bot) -> None:
    fake.private_message(USER, "hi", first_name="Ada", username="ada")
    chat = await client.get_chat(USER)
    assert (chat.id, chat.type, chat.first_name, chat.username) == (USER, "private", "Ada", "ada")
    await rejected(fake, client.get_chat(999), BadRequest, "Bad Request: chat not found")
    sent = await client.send_message(USER, "bye")
    assert await client.delete_message(USER, sent.message_id) is True
    assert fake.bot_messages(USER) == []
    await rejected(
        fake,
        client.delete_message(USER, sent.message_id),
        BadRequest,
        "Bad Request: message to delete not found",
    )


# ---------------------------------------------------------------------- injected updates


async def test_commands_get_utf16_entities_for_command_handler(
    fake: FakeTelegram, client: Bot
) -> None:
    fake.private_message(USER, "/ask 😀 what is @digest_test_bot for?")
    fake.group_message(GROUP, 7, "/ask@digest_test_bot 😀 @someone")
    private, group = await drain(client)
    assert private.message is not None and group.message is not None
    assert [(e.type, e.offset, e.length) for e in private.message.entities] == [
        ("bot_command", 0, 4),
        ("mention", 16, 16),  # after the emoji's 2 UTF-16 units
    ]
    assert [(e.type, e.offset, e.length) for e in group.message.entities] == [
        ("bot_command", 0, 20),
        ("mention", 24, 8),
    ]
    handler = CommandHandler("ask", print)
    assert handler.check_update(private) and handler.check_update(group)
    assert group.message.chat.type == "group" and group.message.chat.id == GROUP


async def test_privacy_mode_hides_ordinary_group_messages(fake: FakeTelegram, client: Bot) -> None:
    fake.group_message(GROUP, 7, "just chatting")
    fake.group_message(GROUP, 7, "/ask@another_bot x")
    assert fake.pending_updates == []
    fake.group_message(GROUP, 7, "/ask x")
    answer = await client.send_message(GROUP, "answer")
    reply = fake.group_message(GROUP, 7, "thanks", reply_to_message=answer.message_id)
    texts = [u.message.text for u in await drain(client) if u.message]
    assert texts == ["/ask x", "thanks"]
    assert reply["reply_to_message"]["from"]["id"] == fake.bot_id
    with FakeTelegram(can_read_all_group_messages=True) as reader:
        reader.group_message(GROUP, 7, "just chatting")
        assert [u["message"]["text"] for u in reader.pending_updates] == ["just chatting"]


async def test_edited_messages_and_documents(fake: FakeTelegram, client: Bot) -> None:
    original = fake.private_message(USER, "/ask typo")
    fake.edited_message(original, "/ask fixed")
    file_id = fake.add_file(b"%PDF-1.7", "report.pdf", "application/pdf")
    fake.document_message(USER, file_id, caption="read this")
    _, edited, document = await drain(client)
    assert edited.edited_message is not None and edited.edited_message.text == "/ask fixed"
    assert edited.edited_message.edit_date is not None
    assert edited.edited_message.message_id == original["message_id"]
    assert document.message is not None and document.message.document is not None
    assert (document.message.document.file_name, document.message.document.file_size) == (
        "report.pdf",
        8,
    )
    assert document.message.caption == "read this"
    file = await client.get_file(document.message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.7"


async def test_inline_queries_and_chosen_results(fake: FakeTelegram, client: Bot) -> None:
    query = fake.inline_query(USER, "bm25")
    (update,) = await drain(client)
    assert update.inline_query is not None and update.inline_query.query == "bm25"
    assert InlineQueryHandler(print).check_update(update)
    result = InlineQueryResultArticle(
        "r1",
        "BM25",
        InputTextMessageContent("<b>BM25</b>", parse_mode="HTML"),
        reply_markup=KEYBOARD,
    )
    assert await client.answer_inline_query(query["id"], [result]) is True
    assert fake.calls[-1].params["results"][0]["id"] == "r1"
    await rejected(
        fake,
        client.answer_inline_query(query["id"], [result]),
        BadRequest,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )
    chosen = fake.chosen_inline_result(USER, "r1", "bm25")
    (update,) = await drain(client)
    assert update.chosen_inline_result is not None
    assert update.chosen_inline_result.inline_message_id == chosen["inline_message_id"]
    inline_id = chosen["inline_message_id"]
    assert await client.edit_message_text("Done", inline_message_id=inline_id) is True
    with pytest.raises(ValueError, match="r2"):
        fake.chosen_inline_result(USER, "r2", "bm25")


async def test_bot_added_to_a_group_and_migrated(fake: FakeTelegram, client: Bot) -> None:
    fake.my_chat_member(GROUP, 7, "member", "left", title="Readers")
    old, new = fake.migrate(GROUP, user_id=7)
    added, to_message, from_message = await drain(client)
    assert added.my_chat_member is not None
    assert added.my_chat_member.new_chat_member.status == "member"
    assert added.my_chat_member.new_chat_member.user.id == fake.bot_id
    assert added.my_chat_member.chat.title == "Readers"
    assert ChatMemberHandler(print).check_update(added)
    assert to_message.message is not None and from_message.message is not None
    assert to_message.message.migrate_to_chat_id == new["chat"]["id"] == old["migrate_to_chat_id"]
    assert from_message.message.migrate_from_chat_id == GROUP
    assert from_message.message.chat.type == "supergroup"
    assert fake.bot_status(new["chat"]["id"]) == "member"


# ---------------------------------------------------------------------- waiting, sync use


def _post(url: str, body: bytes, content_type: str) -> dict[str, Any]:
    request = urllib.request.Request(url, body, {"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        return json.loads(error.read())


def test_sync_tests_can_wait_for_calls(fake: FakeTelegram) -> None:
    fake.private_message(USER, "hi")
    url = f"{fake.base_url}{fake.token}/sendMessage"
    body = json.dumps({"chat_id": USER, "text": "from a thread"}).encode()
    thread = threading.Thread(target=_post, args=(url, body, "application/json"))
    thread.start()
    call = fake.wait_for(lambda c: c.method == "sendMessage" and c.params["chat_id"] == USER)
    thread.join()
    assert call.result["text"] == "from a thread"
    assert fake.wait_for_call("sendMessage", chat_id=USER) == call
    mark = fake.mark()
    with pytest.raises(TimeoutError, match="sendMessage"):
        fake.wait_for_call("sendMessage", timeout=0.05, after=mark)


def test_form_and_query_string_requests(fake: FakeTelegram) -> None:
    with urllib.request.urlopen(f"{fake.base_url}{fake.token}/getMe?x=1", timeout=5) as answer:
        assert json.loads(answer.read())["result"]["username"] == "digest_test_bot"
    answer = _post(
        f"{fake.base_url}{fake.token}/sendmessage",  # method names are case-insensitive
        b"chat_id=999&text=hi",
        "application/x-www-form-urlencoded",
    )
    assert answer == {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    assert fake.calls[-1].method == "sendMessage"
    assert fake.calls[-1].params == {"chat_id": 999, "text": "hi"}


async def test_async_tests_can_wait_for_calls(fake: FakeTelegram, client: Bot) -> None:
    fake.private_message(USER, "hi")
    sending = asyncio.create_task(client.send_message(USER, "async"))
    call = await fake.wait_for_call_async("sendMessage", chat_id=USER)
    assert call.result["text"] == "async"
    await sending
    with pytest.raises(TimeoutError):
        await fake.wait_for_async(lambda c: c.method == "sendPhoto", timeout=0.05)


def test_stop_ends_a_waiting_long_poll(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}{fake.token}/getUpdates"
    answers: list[object] = []

    def poll() -> None:
        try:
            answers.append(_post(url, b"timeout=30", "application/x-www-form-urlencoded"))
        except (OSError, http.client.HTTPException) as error:  # closed, maybe mid-answer
            answers.append(error)

    thread = threading.Thread(target=poll)
    thread.start()
    fake.wait_until_polling(5)
    fake.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert len(answers) == 1  # an empty answer or a closed connection, not a hang


# ---------------------------------------------------------------------- flood limits


@pytest.fixture
def clock() -> HandClock:
    return HandClock(1000.0)


@pytest.fixture
async def limited(
    clock: HandClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[FakeTelegram, Bot]]:
    """A fake enforcing Telegram's flood limits on a hand-moved clock, and a Bot on it."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    with FakeTelegram(rate_limits=True, clock=clock) as fake:
        async with make_bot(fake) as bot:
            yield fake, bot


async def flooded(bot: Bot, chat_id: int) -> int:
    """The retry_after of the 429 a send to `chat_id` must get, in seconds."""
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(chat_id, "x")
    wait = raised.value.retry_after
    return int(wait.total_seconds() if isinstance(wait, dt.timedelta) else wait)


async def test_a_chat_gets_a_short_burst_then_one_a_second(
    limited: tuple[FakeTelegram, Bot], clock: HandClock
) -> None:
    fake, bot = limited
    fake.add_user(USER)
    for _ in range(3):  # the burst allowance
        await bot.send_message(USER, "x")
    assert await flooded(bot, USER) == 1
    call = fake.calls_to("sendMessage")[-1]
    assert call.response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    clock.now += 0.5  # not yet: half a token
    assert await flooded(bot, USER) == 1
    clock.now += 0.5  # the retry_after honoured: accepted
    await bot.send_message(USER, "x")
    assert await flooded(bot, USER) == 1
    clock.now += 1.0
    await bot.send_message(USER, "x")
    assert len(fake.sent_times(USER)) == 5
    assert fake.refused_by_limits["chat"] == 3
    assert fake.limit_breaches() == []
    fake.add_user(USER + 1)  # another chat is not held up by this one's limit
    await bot.send_message(USER + 1, "x")


async def test_a_group_gets_at_most_twenty_a_minute(
    limited: tuple[FakeTelegram, Bot], clock: HandClock
) -> None:
    fake, bot = limited
    fake.add_group(GROUP)
    first = clock.now
    for _ in range(20):
        await bot.send_message(GROUP, "x")
        clock.now += 1.0  # within its per-chat limit, over its group limit at the 21st
    assert await flooded(bot, GROUP) == 40  # until the first of the 20 leaves the minute
    assert fake.refused_by_limits["group"] == 1
    clock.now = first + 59.5
    assert await flooded(bot, GROUP) == 1
    clock.now = first + 60.0
    await bot.send_message(GROUP, "x")
    assert await flooded(bot, GROUP) == 1  # the second of the 20 went out at first + 1
    assert fake.limit_breaches() == []


async def test_the_bot_gets_at_most_thirty_a_second(
    limited: tuple[FakeTelegram, Bot], clock: HandClock
) -> None:
    fake, bot = limited
    for user in range(1, 32):
        fake.add_user(user)
    for user in range(1, 31):
        await bot.send_message(user, "x")
    assert await flooded(bot, 31) == 1
    assert fake.refused_by_limits == {"chat": 0, "group": 0, "bot": 1, "storm": 0}
    clock.now += 1.0
    await bot.send_message(31, "x")
    assert fake.limit_breaches() == []


async def test_a_storm_refuses_everything_for_a_while(
    limited: tuple[FakeTelegram, Bot], clock: HandClock
) -> None:
    fake, bot = limited
    fake.add_user(USER)
    fake.flood_storm(5.0)
    clock.now += 0.5
    assert await flooded(bot, USER) == 5  # 4.5 s left, in whole seconds
    with pytest.raises(RetryAfter):
        await bot.send_chat_action(USER, "typing")
    assert await bot.get_updates(timeout=0) == ()  # long polling goes on
    clock.now += 4.5
    await bot.send_message(USER, "x")
    assert fake.refused_by_limits["storm"] == 2
    assert [call.status for call in fake.calls_to("sendMessage")] == [429, 200]


async def test_refused_and_failed_sends_are_not_counted(
    limited: tuple[FakeTelegram, Bot], clock: HandClock
) -> None:
    fake, bot = limited
    fake.add_user(USER)
    with pytest.raises(BadRequest):
        await bot.send_message(USER, "")
    for _ in range(3):
        await bot.send_message(USER, "x")
    assert len(fake.sent_times(USER)) == 3


def test_breaches_are_found_in_what_was_recorded_without_limits(fake: FakeTelegram) -> None:
    fake.private_message(USER, "hi")
    fake.add_group(GROUP)
    token = fake.token
    for _ in range(4):  # no limit enforced: all accepted, and recorded
        fake.call(token, "sendMessage", {"chat_id": str(USER), "text": "x"})
    for _ in range(21):
        fake.call(token, "sendMessage", {"chat_id": str(GROUP), "text": "x"})
    assert fake.sent_counts == {USER: 4, GROUP: 21}
    breaches = fake.limit_breaches()
    assert [line.split(":")[0] for line in breaches] == [
        f"chat {USER}", f"chat {GROUP}", f"group {GROUP}"
    ]  # fmt: skip
    lenient = RateLimits(chat_burst=100, group_per_minute=100, bot_per_second=20)
    assert [line.split(":")[0] for line in fake.limit_breaches(lenient)] == ["bot"]
