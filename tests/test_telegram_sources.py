"""sources.toml through the bot (in process): an upload and /reload pick it up like the
glossary, and a broken one is refused with its line while the answers keep their last good
names."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.inprocess import InProcessBot
from tests.telegram_harness import ADMIN, READER, text_of

QUESTION = "How many customers does Alibaba Cloud serve?"
HERALD_LINE = "21st Century Business Herald · 2025-05-29 14:12 · paragraph 7"

pytestmark = pytest.mark.bot(env={"QUESTIONS_PER_WINDOW": "1000"})


async def send(bot: InProcessBot, data: bytes, name: str) -> str:
    file_id = bot.telegram.add_file(data, name)
    bot.telegram.document_message(ADMIN, file_id)
    return text_of(await bot.reply_to(ADMIN))


async def ask(bot: InProcessBot) -> str:
    return text_of(await bot.private(READER, QUESTION))


async def reload(bot: InProcessBot) -> str:
    return text_of(await bot.private(ADMIN, "/reload"))


async def test_the_seed_is_cited_by_its_english_name(bot: InProcessBot) -> None:
    assert HERALD_LINE in await ask(bot)


async def test_an_upload_renames_a_source_and_a_broken_one_is_refused(bot: InProcessBot) -> None:
    path: Path = bot.seeds / "sources.toml"
    before = path.read_bytes()
    broken = await send(
        bot, b'[sources."2 1 Shi Ji Jing Ji Bao Dao"]\nname = "21CBH"\nhome = "x"\n', "sources.toml"
    )
    assert broken == (
        "Refused sources.toml: home of '2 1 Shi Ji Jing Ji Bao Dao' is not an http(s) "
        "address: 'x' (line 3)"
    )
    assert path.read_bytes() == before
    reply = await send(bot, b'[sources]\n"2 1 Shi Ji Jing Ji Bao Dao" = "21CBH"\n', "Sources.toml")
    assert reply.startswith("Replaced sources.toml (source names: 1).")
    assert "Reloaded: 1 article," in reply
    assert "21CBH · 2025-05-29 14:12 · paragraph 7" in await ask(bot)
    path.write_bytes(before)
    assert "Rejected" not in await reload(bot)
    assert HERALD_LINE in await ask(bot)


async def test_reload_rejects_a_broken_sources_toml_and_keeps_the_names(bot: InProcessBot) -> None:
    path: Path = bot.seeds / "sources.toml"
    path.write_text('[sources."2 1 Shi Ji Jing Ji Bao Dao"\nname = "x"\n', encoding="utf-8")
    report = await reload(bot)
    assert "Reloaded: 1 article, 9 passages" in report
    assert f"• {path}:1: not valid TOML" in report
    assert HERALD_LINE in await ask(bot)
