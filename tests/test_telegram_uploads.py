"""Admin uploads end to end (in process): documents sent to the bot through the fake Bot API.

The fake records every getFile call and every download, so "refused without downloading"
is checked, not assumed; the bot's SEEDS_DIR sits two folders below the test's own
temporary folder, so a file escaping it by `../../` would land where the test looks.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.glossary import parse_glossary
from bot.parsing import is_article_file
from bot.uploads import MAX_UPLOAD_BYTES
from tests.conftest import BROKEN, ROVER, SEEDS
from tests.fake_telegram import FakeTelegram
from tests.inprocess import InProcessBot
from tests.telegram_harness import ADMIN, GROUP, text_of

NOT_FOUND = "couldn't find"
REFUSAL = "Sorry, only the bot's admins can do that."


def tours(vehicle: str) -> bytes:
    return f"""# Bay tours by {vehicle}
Source: City Desk · 2025-07-01 08:00

## Core Viewpoint
{vehicle.capitalize()} tours of the bay resume in spring [1].

## Tickets
- {vehicle.capitalize()} tour tickets go on sale at the pier office in March [2].
""".encode()


# Every group message is delivered, so a document in a group reaches the bot.
pytestmark = pytest.mark.bot(env={"LOG_LEVEL": "INFO"}, privacy_mode=False)


async def send(bot: InProcessBot, user_id: int, data: bytes, name: str, **document: object) -> str:
    """`user_id` sends `data` as a document named `name`; returns the bot's reply text."""
    file_id = bot.telegram.add_file(data, name)
    bot.telegram.document_message(user_id, file_id, **document)
    return text_of(await bot.reply_to(user_id))


async def ask(bot: InProcessBot, user_id: int, question: str) -> str:
    return text_of(await bot.private(user_id, question))


def folder_state(folder: Path) -> dict[str, bytes]:
    """Every file in the folder (hidden ones included, so a leftover temp file shows)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def article_count(folder: Path) -> int:
    return sum(1 for p in folder.iterdir() if p.is_file() and is_article_file(p))


class Traffic:
    """getFile calls and downloads from now on."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.mark = fake.mark()
        self.downloaded = len(fake.downloads)

    @property
    def get_file_calls(self) -> int:
        return sum(1 for c in self.fake.calls[self.mark :] if c.method == "getFile")

    @property
    def downloads(self) -> list[str]:
        return self.fake.downloads[self.downloaded :]


def added_files(bot: InProcessBot) -> set[str]:
    """The names in SEEDS_DIR that the seed does not have, hidden ones included (so a
    leftover temporary file shows)."""
    return {p.name for p in bot.seeds.iterdir()} - {p.name for p in SEEDS.iterdir()}


async def test_an_admin_adds_an_article_and_readers_get_answers_from_it(
    bot: InProcessBot,
) -> None:
    reader = 3001
    assert NOT_FOUND in await ask(bot, reader, "water ice radar")
    traffic = Traffic(bot.telegram)
    reply = await send(bot, ADMIN, ROVER, "rover.md")
    assert reply.startswith(
        "Added rover.md (article 'rover', “Lunar rover program update”, 3 passages)."
    )
    assert f"Reloaded: {article_count(bot.seeds)} articles," in reply
    assert (bot.seeds / "rover.md").read_bytes() == ROVER
    assert added_files(bot) == {"rover.md"}  # and no temporary file left behind
    assert traffic.get_file_calls == 1 and len(traffic.downloads) == 1
    answer = await ask(bot, reader, "water ice radar")
    assert "ground-penetrating radar to map water ice" in answer
    assert "Lunar rover program update" in answer


async def test_an_invalid_file_is_refused_with_reason_and_line(bot: InProcessBot) -> None:
    before = folder_state(bot.seeds)
    reply = await send(bot, ADMIN, BROKEN, "draft.md")
    assert reply == "Refused draft.md: section 'Outlook' has no bullets (line 7)"
    assert folder_state(bot.seeds) == before
    not_utf8 = await send(bot, ADMIN, "# Café\n".encode("latin-1"), "cafe.txt")
    assert not_utf8.startswith("Refused cafe.txt: not UTF-8 (byte 0xe9)")
    assert not_utf8.endswith("(line 1)")
    assert folder_state(bot.seeds) == before


async def test_a_glossary_upload_makes_a_new_alias_work(bot: InProcessBot) -> None:
    reader = 3003
    assert NOT_FOUND in await ask(bot, reader, "quokkamobile")
    old = (bot.seeds / "aliases.toml").read_text(encoding="utf-8")
    broken = await send(bot, ADMIN, b'[aliases]\n"a" = ["b"]\n"c" = ["d"\n', "aliases.toml")
    assert broken.startswith("Refused aliases.toml: not valid TOML")
    assert broken.endswith("(line 3)")
    assert (bot.seeds / "aliases.toml").read_text(encoding="utf-8") == old
    new = old.replace('"Alibaba Cloud" = [', '"Alibaba Cloud" = ["quokkamobile", ', 1)
    assert new != old
    aliases = len(parse_glossary(new))
    reply = await send(bot, ADMIN, new.encode(), "aliases.toml")
    assert reply.startswith(f"Replaced aliases.toml (glossary, {aliases} aliases).")
    assert f"{aliases} glossary aliases" in reply
    assert added_files(bot) == set()  # no temporary file left behind
    answer = await ask(bot, reader, "quokkamobile")
    assert NOT_FOUND not in answer and "Alibaba Cloud" in answer


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../../evil.txt", "the name contains a path separator (/ or \\)"),
        ("..\\..\\evil.txt", "the name contains a path separator (/ or \\)"),
        ("..evil.txt", "the name contains '..'"),
        (".evil.txt", "hidden files (a name starting with '.') are not loaded"),
        ("README.md", "README files are not loaded as articles"),
        ("<b>evil</b>&.pdf", "the name contains a path separator (/ or \\)"),
        ("<i>evil&.pdf", "only .txt or .md articles and the glossary aliases.toml are accepted"),
    ],
)
async def test_an_unsafe_name_is_refused_before_downloading(
    bot: InProcessBot, tmp_path: Path, name: str, reason: str
) -> None:
    before = folder_state(bot.seeds)
    traffic = Traffic(bot.telegram)
    reply = await send(bot, ADMIN, ROVER, name)
    assert reply == f"Refused {name}: {reason}"  # the name shown as sent, HTML escaped
    assert folder_state(bot.seeds) == before
    assert traffic.get_file_calls == 0 and traffic.downloads == []
    # Nowhere above SEEDS_DIR either: its parent, the parent's parent (tmp_path), the tree.
    assert bot.seeds.parent.parent == tmp_path
    for folder in (bot.seeds.parent, tmp_path):
        assert not (folder / "evil.txt").exists()
    assert [p for p in tmp_path.rglob("*evil*")] == []


async def test_over_1_mb_is_refused_without_a_download(bot: InProcessBot) -> None:
    big = ROVER + b"\n" * (MAX_UPLOAD_BYTES + 1 - len(ROVER))
    before = folder_state(bot.seeds)
    traffic = Traffic(bot.telegram)
    reply = await send(bot, ADMIN, big, "big.md")
    assert reply == "Refused big.md: too big: 1,048,577 bytes, at most 1,048,576 (1 MB)"
    assert traffic.get_file_calls == 0 and traffic.downloads == []
    assert folder_state(bot.seeds) == before


async def test_a_size_the_message_understated_is_still_refused(bot: InProcessBot) -> None:
    big = ROVER + b"\n" * (MAX_UPLOAD_BYTES + 1 - len(ROVER))
    before = folder_state(bot.seeds)
    reply = await send(bot, ADMIN, big, "sneaky.md", size=len(ROVER))
    assert reply == "Refused sneaky.md: too big: 1,048,577 bytes, at most 1,048,576 (1 MB)"
    assert folder_state(bot.seeds) == before


async def test_a_non_admin_is_refused_and_nothing_is_written_or_downloaded(
    bot: InProcessBot,
) -> None:
    intruder = 3006
    before = folder_state(bot.seeds)
    traffic = Traffic(bot.telegram)
    assert await send(bot, intruder, tours("zeppelin"), "intruder.md") == REFUSAL
    assert folder_state(bot.seeds) == before
    assert traffic.get_file_calls == 0 and traffic.downloads == []
    assert f"refused upload for user {intruder}" in bot.output
    await bot.stop()  # drains the query log
    with sqlite3.connect(f"file:{bot.database}?mode=ro", uri=True) as db:
        actions = db.execute(
            "SELECT action, allowed FROM admin_actions WHERE user_id = ?", (intruder,)
        ).fetchall()
    assert actions == [("upload", 0)]


async def test_replacing_an_article_by_its_id(bot: InProcessBot) -> None:
    reader = 3007
    added = await send(bot, ADMIN, tours("zeppelin"), "tours.md")
    assert added.startswith("Added tours.md (article 'tours', “Bay tours by zeppelin”")
    assert "Zeppelin tour" in await ask(bot, reader, "zeppelin tours")
    count = article_count(bot.seeds)
    replaced = await send(bot, ADMIN, tours("submarine"), "tours.md")
    assert replaced.startswith("Replaced tours.md (article 'tours', “Bay tours by submarine”")
    assert f"Reloaded: {count} articles," in replaced
    assert (bot.seeds / "tours.md").read_bytes() == tours("submarine")
    assert "Submarine tour" in await ask(bot, reader, "submarine tours")
    assert "Zeppelin" not in await ask(bot, reader, "zeppelin tours")  # the old text is gone
    other_format = await send(bot, ADMIN, tours("balloon"), "tours.txt")
    assert other_format == (
        "Refused tours.txt: duplicate article id 'tours' (already in tours.md); "
        "send it as tours.md to replace that one"
    )
    assert added_files(bot) == {"tours.md"}  # no tours.txt, no temporary file


async def test_a_document_in_a_group_is_ignored(bot: InProcessBot) -> None:
    before = folder_state(bot.seeds)
    traffic = Traffic(bot.telegram)
    file_id = bot.telegram.add_file(tours("ferry"), "ferry.md")
    bot.telegram.document_message(ADMIN, file_id, chat_id=GROUP)
    await bot.silent_in(GROUP)
    assert traffic.get_file_calls == 0 and traffic.downloads == []
    assert folder_state(bot.seeds) == before
