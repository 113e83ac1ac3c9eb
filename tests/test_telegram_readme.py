"""The README's transcript ("What readers see") is what the bot says: each `you:` line is
sent (in private, in a group, or by a reader whose Telegram is in Chinese), and each `bot:`
line must be in the reply, in order (a `…` stands for text left out), each `[…]` line one
row of its buttons, every row shown.

The real bot in process against the strict fake (tests/inprocess.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from tests.conftest import ROOT
from tests.inprocess import InProcessBot
from tests.telegram_harness import BOT, text_of

pytestmark = pytest.mark.bot(env={"QUESTIONS_PER_WINDOW": "1000", "SUMMARY_COOLDOWN_SECONDS": "0"})

README = (ROOT / "README.md").read_text(encoding="utf-8")
ENGLISH_READER, CHINESE_READER, GROUP = 5701, 5702, -100970
YOU_RE = re.compile(r"you(?: \((?P<where>[^)]*)\))?: (?P<text>.+)")
BUTTON_RE = re.compile(r"\[([^\]]+)\]")


@dataclass
class Exchange:
    where: str  # "" (private, English), "in a group", "Telegram in Chinese"
    sent: str
    lines: list[str] = field(default_factory=list)  # the bot's, as the README shows them


def transcript() -> list[Exchange]:
    section = README.split("## What readers see", 1)[1]
    block = re.search(r"```text\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None, "no transcript in the README"
    exchanges: list[Exchange] = []
    for line in block.group(1).splitlines():
        you = YOU_RE.fullmatch(line)
        if you:
            exchanges.append(Exchange(you["where"] or "", you["text"]))
        elif line.strip():
            exchanges[-1].lines.append(line.removeprefix("bot: ").strip())
    return exchanges


def test_the_transcript_shows_start_an_answer_a_group_summary_and_chinese() -> None:
    exchanges = transcript()
    assert [e.sent for e in exchanges][:1] == ["/start"]
    assert {e.where for e in exchanges} == {"", "in a group", "Telegram in Chinese"}
    assert any(e.sent.startswith("/summary") and e.where == "in a group" for e in exchanges)


async def test_the_readme_transcript_is_what_the_bot_says(bot: InProcessBot) -> None:
    bot.telegram.add_user(ENGLISH_READER, language_code="en")
    bot.telegram.add_user(CHINESE_READER, language_code="zh-hans")
    for exchange in transcript():
        sent = exchange.sent.replace("@yourbot", f"@{BOT}")
        if exchange.where == "in a group":
            call = await bot.group(GROUP, ENGLISH_READER, sent)
        elif exchange.where == "Telegram in Chinese":
            call = await bot.private(CHINESE_READER, sent)
        else:
            assert exchange.where == "", exchange.where
            call = await bot.private(ENGLISH_READER, sent)
        text = text_of(call)
        rows = [
            [button["text"] for button in row]
            for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
        ]
        shown_rows = [BUTTON_RE.findall(line) for line in exchange.lines if line.startswith("[")]
        assert shown_rows == rows, f"{exchange.sent}: the buttons are {rows}"
        position = 0
        for line in exchange.lines:
            if line.startswith("["):
                continue
            for piece in (p.strip() for p in line.split("…")):
                found = text.find(piece, position)
                assert found >= 0, f"{exchange.sent}: {piece!r} is not in (the rest of)\n{text}"
                position = found + len(piece)
