"""Share links for passages: `https://t.me/<bot>?start=<payload>`, without Telegram code.

Telegram hands the payload of such a link to the bot as `/start <payload>`; it allows only
`[A-Za-z0-9_-]`, at most 64 characters. A passage's payload is `p_<key>_<version>`: the
short key of bot/callbacks.py naming the passage and the version of its content when the
link was made, 19 characters. Resolving goes through the `ButtonKeys` built with the
content, so it is one dictionary lookup; a link whose passage has changed since still
resolves, and says so (`SharedPassage.changed`), since a shared link lives on in other
chats long after a reload.

`share_url` is what an answer's "Share" button opens: Telegram's own share sheet
(`https://t.me/share/url`), the reader picks a chat and the link goes there with a line
naming the passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from bot.answers import Match
from bot.callbacks import KEY_LENGTH, VERSION_LENGTH, ButtonKeys, passage_key, passage_version
from bot.content import Article, Passage
from bot.library import Library

START_PAYLOAD_MAX = 64  # characters Telegram allows in a start payload
SHARE_PREFIX = "p_"  # a passage; other kinds of links can take other prefixes
_START_PAYLOAD_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{START_PAYLOAD_MAX}}}")
# The version is optional when reading, so a link without it (made by hand) still works.
_SHARE_RE = re.compile(
    rf"{SHARE_PREFIX}(?P<key>[0-9a-f]{{{KEY_LENGTH}}})(?:_(?P<version>[0-9a-f]{{{VERSION_LENGTH}}}))?"
)
# A bot's username: 5 to 32 letters, digits and underscores (bots' end in "bot").
_USERNAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
SHARE_SHEET = "https://t.me/share/url"  # Telegram's "share to a chat" page
SHARE_TEXT_LENGTH = 120  # characters of the line that goes with the link


@dataclass(frozen=True)
class SharedPassage:
    """What a share payload names: the passage (as a full-score match) and whether its
    content changed since the link was made (a reload edited the text or the citation)."""

    match: Match
    changed: bool = False


def is_start_payload(text: str) -> bool:
    """True when Telegram accepts `text` as a start payload."""
    return _START_PAYLOAD_RE.fullmatch(text) is not None


def share_payload(passage: Passage, article: Article) -> str:
    """The start payload naming `passage` (of `article`) as it is now."""
    payload = f"{SHARE_PREFIX}{passage_key(passage)}_{passage_version(passage, article)}"
    if not is_start_payload(payload):  # the keys are hex: this holds by construction
        raise ValueError(f"not a valid start payload: {payload!r}")
    return payload


def share_link(bot_username: str, passage: Passage, article: Article) -> str:
    """`https://t.me/<bot>?start=<payload>`: opens a chat with the bot showing `passage`."""
    username = bot_username.removeprefix("@")
    if _USERNAME_RE.fullmatch(username) is None:
        raise ValueError(f"not a Telegram username: {bot_username!r}")
    return f"https://t.me/{username}?start={share_payload(passage, article)}"


def share_text(passage: Passage, article: Article) -> str:
    """The line that goes with a shared link: the passage's section and the headline (the
    content as written, in no one's language but the article's)."""
    text = f"{passage.section} — {article.title}"
    if len(text) > SHARE_TEXT_LENGTH:
        text = text[: SHARE_TEXT_LENGTH - 1].rstrip() + "…"
    return text


def share_url(bot_username: str, passage: Passage, article: Article) -> str:
    """Telegram's share sheet for `share_link(...)`: the reader chooses a chat, and the link
    goes there with `share_text`. A URL button's, so it needs no callback data."""
    link = share_link(bot_username, passage, article)
    text = quote(share_text(passage, article), safe="")
    return f"{SHARE_SHEET}?url={quote(link, safe='')}&text={text}"


def resolve_share(payload: str, keys: ButtonKeys, library: Library) -> SharedPassage | None:
    """The passage a start payload names, or None: not a share payload, or a passage the
    library no longer has. `keys` and `library` must be of the same content (as
    `BotState.use` swaps them together)."""
    found = _SHARE_RE.fullmatch(payload.strip())
    if found is None:
        return None
    passage_id = keys.passage_id(found.group("key"))
    match = library.passage(passage_id) if passage_id is not None else None
    if match is None:
        return None
    version = found.group("version")
    changed = version is not None and version != passage_version(match.passage, match.article)
    return SharedPassage(match, changed)
