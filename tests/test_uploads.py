"""Tests for `bot.uploads`: safe names, validation like a load, atomic writes into SEEDS_DIR."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot import uploads
from bot.parsing import load_folder
from bot.uploads import (
    ARTICLE,
    GLOSSARY,
    MAX_UPLOAD_BYTES,
    UploadRefused,
    accept_upload,
    check_upload,
    display_name,
    sanitise_name,
)
from tests.conftest import BROKEN, ROVER, SEED_ID, SEEDS

Snapshot = dict[str, bytes | None]


def snapshot(root: Path) -> Snapshot:
    """Every path under `root` with its bytes (None for folders), hidden files included."""
    return {
        str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes())
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """A copy of the bundled seeds two folders below tmp_path, so '../../x' stays in it."""
    folder = tmp_path / "outer" / "seeds"
    shutil.copytree(SEEDS, folder)
    return folder


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rover.md", "rover.md"),
        ("Rover.TXT", "Rover.TXT"),
        ("月球车 报告.md", "月球车 报告.md"),
        ("  padded.txt ", "padded.txt"),
        ("e\u0301te\u0301.md", "été.md"),  # NFC, as a Mac may send it decomposed
        ("aliases.toml", "aliases.toml"),
        ("Aliases.TOML", "aliases.toml"),  # the name load_glossary reads
        ("v1.2.md", "v1.2.md"),
    ],
)
def test_sanitise_name_keeps_plain_names(name: str, expected: str) -> None:
    assert sanitise_name(name) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../../evil.txt", "path separator"),
        ("..\\evil.txt", "path separator"),
        ("a/b.txt", "path separator"),
        ("/etc/cron.txt", "path separator"),
        ("C:\\seeds\\x.md", "path separator"),
        ("..", "'..'"),
        ("x..md", "'..'"),
        (".hidden.txt", "hidden"),
        (".md", "hidden"),
        ("evil.txt\x00.md", "control"),
        ("line\nbreak.md", "control"),
        ("evil\u202etxt.md", "control"),  # right-to-left override: shows as "evildm.txt"
        ("", "no name"),
        ("   ", "no name"),
        (None, "no name"),
        ("README.md", "README"),
        ("readme.txt", "README"),
        ("notes.pdf", "only .txt or .md"),
        ("settings.toml", "only .txt or .md"),
        ("no_extension", "only .txt or .md"),
        (" .md", "hidden"),
        ("x" * 200 + ".md", "longer than 200 bytes"),
        ("文" * 67 + ".md", "longer than 200 bytes"),  # 204 bytes in UTF-8
    ],
)
def test_sanitise_name_refuses_unsafe_names(name: str | None, reason: str) -> None:
    with pytest.raises(UploadRefused) as refused:
        sanitise_name(name)
    assert reason in refused.value.reason
    assert refused.value.line is None


def test_refusal_text_shows_the_name_with_control_characters_visible() -> None:
    with pytest.raises(UploadRefused) as refused:
        sanitise_name("evil.txt\x00.md")
    assert str(refused.value).startswith("Refused evil.txt\\x00.md: ")
    assert "\x00" not in str(refused.value)
    assert display_name("a" * 100).endswith("…") and len(display_name("a" * 100)) == 80


def test_check_upload_refuses_an_announced_size_over_1_mb() -> None:
    assert check_upload("x.md", MAX_UPLOAD_BYTES) == "x.md"
    assert check_upload("x.md", None) == "x.md"
    with pytest.raises(UploadRefused, match="too big: 1,048,577 bytes"):
        check_upload("x.md", MAX_UPLOAD_BYTES + 1)


# ----------------------------------------------------------------------------- articles


def test_a_valid_article_is_added_and_loads_like_the_others(seeds: Path) -> None:
    before = snapshot(seeds)
    result = accept_upload(seeds, "rover.md", ROVER)
    assert (result.kind, result.replaced, result.name) == (ARTICLE, False, "rover.md")
    assert result.article is not None and result.article.id == "rover"
    assert len(result.article.passages) == 3 and result.warnings == ()
    assert result.describe() == (
        "Added rover.md (article 'rover', “Lunar rover program update”, 3 passages)"
    )
    after = snapshot(seeds)
    assert after == {**before, "rover.md": ROVER}  # nothing else, no temp file left
    assert os.stat(seeds / "rover.md").st_mode & 0o777 == 0o644
    loaded = load_folder(seeds)
    assert loaded.rejected == ()
    assert {a.id for a in loaded.articles} == {SEED_ID, "rover"}


def test_an_article_with_that_name_is_replaced(seeds: Path) -> None:
    accept_upload(seeds, "rover.md", ROVER)
    second = ROVER.replace(b"Lunar rover program update", b"Rover program, revised")
    result = accept_upload(seeds, "rover.md", second)
    assert result.replaced is True
    assert result.describe().startswith("Replaced rover.md (article 'rover', “Rover program")
    assert (seeds / "rover.md").read_bytes() == second
    assert sorted(p.name for p in seeds.iterdir()) == sorted(
        ["rover.md", f"{SEED_ID}.txt", "aliases.toml", "sources.toml"]
    )


def test_a_chinese_name_is_kept_as_the_id(seeds: Path) -> None:
    result = accept_upload(seeds, "月球车.md", ROVER)
    assert result.article is not None and result.article.id == "月球车"
    assert (seeds / "月球车.md").read_bytes() == ROVER


def test_warnings_of_the_parser_come_back(seeds: Path) -> None:
    data = b"## Core Viewpoint\nA view [1].\n\n## Outlook\n- It grows [2].\n"
    result = accept_upload(seeds, "bare.md", data)
    reasons = [w.reason for w in result.warnings]
    assert any("no '# headline' line" in r for r in reasons)
    assert all(w.file == "bare.md" for w in result.warnings)


def test_a_broken_article_is_refused_with_its_line_and_nothing_changes(tmp_path: Path) -> None:
    seeds = tmp_path / "outer" / "seeds"
    shutil.copytree(SEEDS, seeds)
    before = snapshot(tmp_path)
    with pytest.raises(UploadRefused) as refused:
        accept_upload(seeds, "draft.md", BROKEN)
    assert refused.value.reason == "section 'Outlook' has no bullets"
    assert refused.value.line == 7
    assert str(refused.value) == "Refused draft.md: section 'Outlook' has no bullets (line 7)"
    assert snapshot(tmp_path) == before


def test_a_broken_version_never_replaces_the_good_one(seeds: Path) -> None:
    good = (seeds / f"{SEED_ID}.txt").read_bytes()
    with pytest.raises(UploadRefused, match="no recognisable structure"):
        accept_upload(seeds, f"{SEED_ID}.txt", b"just some notes\n")
    assert (seeds / f"{SEED_ID}.txt").read_bytes() == good


def test_non_utf8_bytes_are_refused_with_the_line(seeds: Path) -> None:
    before = snapshot(seeds)
    with pytest.raises(UploadRefused) as refused:
        accept_upload(seeds, "latin1.md", "# Café\nSource: X · 2025-01-01\n".encode("latin-1"))
    assert refused.value.reason.startswith("not UTF-8 (byte 0xe9)")
    assert refused.value.line == 1
    assert snapshot(seeds) == before


def test_an_empty_file_is_refused(seeds: Path) -> None:
    with pytest.raises(UploadRefused, match="empty file"):
        accept_upload(seeds, "empty.txt", b"")
    assert not (seeds / "empty.txt").exists()


def test_exactly_1_mb_is_accepted_and_one_byte_more_refused(seeds: Path) -> None:
    padded = ROVER + b"\n" * (MAX_UPLOAD_BYTES - len(ROVER))
    assert len(padded) == MAX_UPLOAD_BYTES
    assert accept_upload(seeds, "big.md", padded).article is not None
    before = snapshot(seeds)
    with pytest.raises(UploadRefused) as refused:
        accept_upload(seeds, "bigger.md", padded + b"\n")
    assert "too big: 1,048,577 bytes, at most 1,048,576" in refused.value.reason
    assert snapshot(seeds) == before


def test_an_id_already_taken_in_the_other_format_is_refused(seeds: Path) -> None:
    before = snapshot(seeds)
    with pytest.raises(UploadRefused) as refused:
        accept_upload(seeds, f"{SEED_ID}.md", ROVER)
    assert f"duplicate article id {SEED_ID!r} (already in {SEED_ID}.txt)" in refused.value.reason
    assert f"send it as {SEED_ID}.txt" in refused.value.reason
    assert snapshot(seeds) == before
    # Same id, other case of the extension: still the same id to the loader.
    accept_upload(seeds, "rover.md", ROVER)
    with pytest.raises(UploadRefused, match="duplicate article id 'rover'"):
        accept_upload(seeds, "rover.MD", ROVER)


def test_a_readme_or_hidden_file_in_the_folder_is_no_duplicate(seeds: Path) -> None:
    (seeds / "README.md").write_text("notes", encoding="utf-8")
    (seeds / ".rover.txt").write_text("hidden", encoding="utf-8")
    assert accept_upload(seeds, "rover.md", ROVER).replaced is False


# ----------------------------------------------------------------------------- glossary


def test_a_glossary_replaces_the_old_one(seeds: Path) -> None:
    data = b'[aliases]\n"lunar rover" = ["moon buggy", "\xe6\x9c\x88\xe7\x90\x83\xe8\xbd\xa6"]\n'
    result = accept_upload(seeds, "Aliases.toml", data)
    assert (result.kind, result.replaced, result.name) == (GLOSSARY, True, "aliases.toml")
    assert result.glossary is not None and len(result.glossary) == 2
    assert result.describe() == "Replaced aliases.toml (glossary, 2 aliases)"
    assert (seeds / "aliases.toml").read_bytes() == data
    assert "Aliases.toml" not in {p.name for p in seeds.iterdir()}


def test_a_first_glossary_is_added(tmp_path: Path) -> None:
    result = accept_upload(tmp_path, "aliases.toml", b'[aliases]\n"x" = "y"\n')
    assert result.replaced is False and result.describe().startswith("Added aliases.toml")


@pytest.mark.parametrize(
    ("data", "reason", "line"),
    [
        (b'[aliases]\n"a" = ["b"]\n"c" = ["d"\n', "not valid TOML", 3),
        (b'[aliases]\n"a" = ["b"]\n[extra]\n"c" = ["d"]\n', "unknown table 'extra'", 3),
        (b'[aliases]\n"a" = ["b"]\n"c" = 3\n', "'c' must map to a list of strings", 3),
        (b'[aliases]\n"a" = ["caf\xe9"]\n', "not UTF-8 (byte 0xe9)", 2),
        (b"", "no aliases", None),
        (b"[aliases]\n", "no aliases", None),
    ],
)
def test_a_broken_glossary_is_refused_with_its_line(
    seeds: Path, data: bytes, reason: str, line: int | None
) -> None:
    before = snapshot(seeds)
    with pytest.raises(UploadRefused) as refused:
        accept_upload(seeds, "aliases.toml", data)
    assert reason in refused.value.reason
    assert refused.value.line == line
    assert snapshot(seeds) == before


# ----------------------------------------------------------------------------- the folder


@pytest.mark.parametrize(
    "name",
    [
        "../../evil.txt",
        "../evil.txt",
        "..\\evil.txt",
        "..\\..\\evil.txt",
        "a/b.txt",
        "{tmp}/evil.txt",
        ".hidden.txt",
        "evil.txt\x00.md",
        "README.md",
        "evil.sh",
    ],
)
def test_nothing_is_ever_written_outside_the_folder(tmp_path: Path, name: str) -> None:
    seeds = tmp_path / "outer" / "seeds"
    shutil.copytree(SEEDS, seeds)
    (seeds / "a").mkdir()
    before = snapshot(tmp_path)
    with pytest.raises(UploadRefused):
        accept_upload(seeds, name.format(tmp=tmp_path), ROVER)
    assert snapshot(tmp_path) == before


def test_a_symlink_in_the_folder_is_replaced_not_followed(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    outside = tmp_path / "outside.md"
    outside.write_bytes(b"not to be touched")
    (seeds / "link.md").symlink_to(outside)
    result = accept_upload(seeds, "link.md", ROVER)
    assert result.replaced is True
    assert outside.read_bytes() == b"not to be touched"
    assert not (seeds / "link.md").is_symlink()
    assert (seeds / "link.md").read_bytes() == ROVER


def test_a_folder_in_the_way_is_refused(seeds: Path) -> None:
    (seeds / "dir.md").mkdir()
    with pytest.raises(UploadRefused, match="a folder of that name is in the way"):
        accept_upload(seeds, "dir.md", ROVER)
    assert (seeds / "dir.md").is_dir()


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UploadRefused, match="is not a folder"):
        accept_upload(tmp_path / "missing", "rover.md", ROVER)
    assert not (tmp_path / "missing").exists()


def test_a_failed_write_leaves_no_temp_file_and_the_old_version(
    seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    accept_upload(seeds, "rover.md", ROVER)
    before = snapshot(seeds)

    def full_disk(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(uploads.os, "replace", full_disk)
    with pytest.raises(UploadRefused) as refused:
        accept_upload(seeds, "rover.md", ROVER.replace(b"Lunar", b"Solar"))
    assert refused.value.reason == "cannot write it: No space left on device"
    assert snapshot(seeds) == before


def test_an_interrupted_write_leaves_no_temp_file(
    seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(seeds)

    def interrupted(descriptor: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(uploads.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        accept_upload(seeds, "rover.md", ROVER)
    assert snapshot(seeds) == before
