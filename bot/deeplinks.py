"""A question carried through a deep link (`t.me/<bot>?start=<payload>`): the inline
"ask me in private" button opens the private chat with the typed question, and /start
answers it.

Telegram allows a start payload of at most 64 characters from [A-Za-z0-9_-], so the
question goes as "q" and the URL-safe base64 of its UTF-8, without padding: up to 47
bytes, that is 47 ASCII characters or 15 Chinese ones. A longer question is cut at a
character boundary (at a space when there is one near the end). No Telegram import.
"""

from __future__ import annotations

import base64
import binascii
import re

MAX_PAYLOAD = 64
QUESTION = "q"  # the payload's prefix: what follows is a question
MAX_BYTES = (MAX_PAYLOAD - len(QUESTION)) * 3 // 4  # base64 makes 4 characters of 3 bytes
PAYLOAD_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def question_payload(question: str) -> str:
    """The start payload carrying `question` (cut to fit)."""
    data = _fitted(" ".join(question.split()))
    return QUESTION + base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def payload_question(payload: str) -> str | None:
    """The question a start payload carries; None for any other payload."""
    if not PAYLOAD_RE.fullmatch(payload) or not payload.startswith(QUESTION):
        return None
    encoded = payload[len(QUESTION) :]
    try:
        data = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        question = data.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    question = " ".join(question.split())
    return question or None


def _fitted(question: str) -> bytes:
    data = question.encode("utf-8")
    if len(data) <= MAX_BYTES:
        return data
    cut = data[:MAX_BYTES].decode("utf-8", "ignore")  # a character cut in two goes
    space = cut.rfind(" ")
    if space >= len(cut) * 2 // 3:  # a word cut in two goes too, unless that loses much
        cut = cut[:space]
    return cut.rstrip().encode("utf-8")
