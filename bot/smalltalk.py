"""Small talk: a greeting or a thank-you is not a question about the articles.

"hi", "thanks!", "你好", "謝謝" and the like get a short friendly reply instead of "not
found", and are not counted as content gaps. Only a whole message counts: "hi, what did
Tencent spend?" is a question. No Telegram import, like the rest of the domain.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class SmallTalk(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"


# Whole messages, after `_normalise` (lower case, no punctuation, emoji or spacing).
_GREETINGS = {
    "hi", "hii", "hiya", "hello", "helo", "hey", "heya", "hey there", "hi there",
    "hello there", "yo", "howdy", "greetings", "good morning", "good afternoon",
    "good evening", "good day", "morning", "evening", "hi bot", "hello bot", "hey bot",
    "hi everyone", "hello everyone", "hi all", "hello all",
    "你好", "您好", "嗨", "哈喽", "哈囉", "哈啰", "嗨嗨", "你们好", "你們好", "大家好",
    "早", "早安", "早上好", "上午好", "中午好", "下午好", "晚上好", "晚安", "在吗", "在嗎",
    "你好啊", "你好呀", "您好啊", "hi你好", "hello你好",
}  # fmt: skip
_THANKS = {
    "thanks", "thank you", "thankyou", "thx", "thanx", "ty", "tysm", "thanks a lot",
    "thanks so much", "thank you so much", "thank you very much", "many thanks",
    "thanks a million", "cheers", "much appreciated", "appreciated", "great thanks",
    "ok thanks", "okay thanks", "ok thank you", "thanks bot", "thank you bot",
    "谢谢", "謝謝", "多谢", "多謝", "谢了", "謝了", "谢啦", "謝啦", "感谢", "感謝", "谢谢你",
    "謝謝你", "谢谢您", "謝謝您", "非常感谢", "非常感謝", "太感谢了", "太感謝了", "多谢了",
    "多謝了", "好的谢谢", "好的謝謝", "谢谢啦", "謝謝啦", "3q", "thanks谢谢", "thank you谢谢",
}  # fmt: skip
# Repeated letters collapse ("hiii", "heyyy", "thanksss"), but not below two.
_REPEATS = re.compile(r"(\w)\1{2,}")
_SPACES = re.compile(r"\s+")
_LONGEST = max(len(phrase) for phrase in _GREETINGS | _THANKS)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    # Punctuation, symbols and emoji go ("hi!", "thanks 🙏", "你好。"); letters stay.
    kept = "".join(c if not unicodedata.category(c).startswith(("P", "S")) else " " for c in text)
    kept = _REPEATS.sub(r"\1\1", kept)
    return _SPACES.sub(" ", kept).strip()


def small_talk(text: str) -> SmallTalk | None:
    """What kind of small talk the whole message is, or None for anything else."""
    if len(text) > 4 * _LONGEST:  # a long message is never just "hello"
        return None
    words = _normalise(text)
    for candidate in (words, _REPEATS.sub(r"\1", words)):
        if candidate in _GREETINGS:
            return SmallTalk.GREETING
        if candidate in _THANKS:
            return SmallTalk.THANKS
    return None
