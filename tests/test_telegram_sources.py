"""sources.toml through the running bot: an upload and /reload pick it up like the glossary,
and a broken one is refused with its line while the answers keep their last good names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_telegram import FakeTelegram
from tests.telegram_harness import ADMIN, BOT, READER, RunningBot, text_of

QUESTION = "How many customers does Alibaba Cloud serve?"
HERALD_LINE = "21st Century Business Herald · 2025-05-29 14:12 · paragraph 7"


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    with FakeTelegram(username=BOT) as fake:
        running = RunningBot(fake, tmp_path_factory.mktemp("sources"), QUESTIONS_PER_WINDOW="1000")
        yield running
        running.stop()


def send(bot: RunningBot, data: bytes, name: str) -> str:
    file_id = bot.fake.add_file(data, name)
    call = bot.reply_to(lambda: bot.fake.document_message(ADMIN, file_id), ADMIN)
    return text_of(call)


def ask(bot: RunningBot) -> str:
    return text_of(bot.reply_to(lambda: bot.fake.private_message(READER, QUESTION), READER))


def reload(bot: RunningBot) -> str:
    return text_of(bot.reply_to(lambda: bot.fake.private_message(ADMIN, "/reload"), ADMIN))


def test_the_seed_is_cited_by_its_english_name(bot: RunningBot) -> None:
    assert HERALD_LINE in ask(bot)


def test_an_upload_renames_a_source_and_a_broken_one_is_refused(bot: RunningBot) -> None:
    path: Path = bot.seeds / "sources.toml"
    before = path.read_bytes()
    broken = send(
        bot, b'[sources."2 1 Shi Ji Jing Ji Bao Dao"]\nname = "21CBH"\nhome = "x"\n', "sources.toml"
    )
    assert broken == (
        "Refused sources.toml: home of '2 1 Shi Ji Jing Ji Bao Dao' is not an http(s) "
        "address: 'x' (line 3)"
    )
    assert path.read_bytes() == before
    reply = send(bot, b'[sources]\n"2 1 Shi Ji Jing Ji Bao Dao" = "21CBH"\n', "Sources.toml")
    assert reply.startswith("Replaced sources.toml (source names: 1).")
    assert "Reloaded: 1 article(s)" in reply
    assert "21CBH · 2025-05-29 14:12 · paragraph 7" in ask(bot)
    path.write_bytes(before)
    assert "Rejected" not in reload(bot)
    assert HERALD_LINE in ask(bot)


def test_reload_rejects_a_broken_sources_toml_and_keeps_the_names(bot: RunningBot) -> None:
    path: Path = bot.seeds / "sources.toml"
    before = path.read_bytes()
    path.write_text('[sources."2 1 Shi Ji Jing Ji Bao Dao"\nname = "x"\n', encoding="utf-8")
    try:
        report = reload(bot)
        assert "Reloaded: 1 article(s), 9 passages" in report
        assert f"• {path}:1: not valid TOML" in report
        assert HERALD_LINE in ask(bot)
    finally:
        path.write_bytes(before)
