"""Share links: a passage's start payload fits Telegram's rules and resolves back to it."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.callbacks import ButtonKeys, passage_key
from bot.config import Settings
from bot.library import Library, load_library
from bot.parsing import load_folder
from bot.share import (
    START_PAYLOAD_MAX,
    is_start_payload,
    resolve_share,
    share_link,
    share_payload,
    share_text,
    share_url,
)
from tests.conftest import ROOT, SEED_ID, SEEDS

# https://core.telegram.org/bots/features#deep-linking
TELEGRAM_START_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@pytest.fixture(scope="module")
def library() -> Library:
    articles = [*load_folder(SEEDS).articles]
    for folder in sorted((ROOT / "tests" / "data").glob("articles*")):
        articles += load_folder(folder).articles
    return Library(articles)


@pytest.fixture(scope="module")
def keys(library: Library) -> ButtonKeys:
    return ButtonKeys.of(library.articles)


def test_every_passages_payload_fits_telegram_and_resolves_back(
    library: Library, keys: ButtonKeys
) -> None:
    payloads = set()
    for article in library.articles:
        for passage in article.passages:
            payload = share_payload(passage, article)
            assert TELEGRAM_START_RE.fullmatch(payload) and len(payload) <= START_PAYLOAD_MAX
            assert payload.startswith(f"p_{passage_key(passage)}_")
            shared = resolve_share(payload, keys, library)
            assert shared is not None and shared.changed is False
            assert (shared.match.passage, shared.match.article) == (passage, article)
            payloads.add(payload)
    assert len(payloads) == library.passage_count >= 7 * 9


def test_the_share_link(library: Library) -> None:
    article = library.article(SEED_ID)
    assert article is not None
    passage = article.passages[3]
    link = share_link("@DigestBot", passage, article)
    assert link == f"https://t.me/DigestBot?start={share_payload(passage, article)}"
    assert share_link("DigestBot", passage, article) == link
    for bad in ("", "@", "me", "digest bot", "digest/bot?x=", "1digestbot", "d" * 33):
        with pytest.raises(ValueError, match="not a Telegram username"):
            share_link(bad, passage, article)


def test_the_share_sheet_carries_the_link_and_a_line_naming_the_passage(library: Library) -> None:
    article = library.article(SEED_ID)
    assert article is not None
    passage = article.passages[4]
    url = urlsplit(share_url("DigestBot", passage, article))
    assert (url.scheme, url.netloc, url.path) == ("https", "t.me", "/share/url")
    query = parse_qs(url.query, strict_parsing=True)
    assert query["url"] == [share_link("DigestBot", passage, article)]
    assert query["text"] == [f"{passage.section} — {article.title}"]
    assert " " not in url.geturl() and "“" not in url.geturl()  # all of it percent-encoded
    long = replace(article, headline="A very long headline " * 20)
    assert len(share_text(passage, long)) == 120 and share_text(passage, long).endswith("…")
    with pytest.raises(ValueError, match="not a Telegram username"):
        share_url("no such bot", passage, article)


def test_a_payload_without_its_version_still_resolves(library: Library, keys: ButtonKeys) -> None:
    article = library.articles[0]
    passage = article.passages[1]
    shared = resolve_share(f"p_{passage_key(passage)}", keys, library)
    assert shared is not None and shared.match.passage == passage and shared.changed is False


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "p_",
        "p_0123456789",  # well formed, names nothing
        "s_0123456789",
        "P_0123456789",
        "p_ZZZZZZZZZZ",
        "p_012345678",
        "p_0123456789_",
        "p_0123456789_abcde",
        "p_0123456789_abcdefa",
        "p_0123456789abcdef",
        "p_" + "a" * 62,
        "p_٠١٢٣٤٥٦٧٨٩",  # Arabic-Indic digits are \d, not hex
    ],
)
def test_other_payloads_resolve_to_nothing(
    payload: str, library: Library, keys: ButtonKeys
) -> None:
    assert resolve_share(payload, keys, library) is None


@given(text=st.text(max_size=80))
def test_any_text_is_refused_or_resolved_never_an_error(
    text: str, library: Library, keys: ButtonKeys
) -> None:
    shared = resolve_share(text, keys, library)
    assert shared is None or text.strip().startswith(f"p_{passage_key(shared.match.passage)}")
    assert is_start_payload(text) is bool(TELEGRAM_START_RE.fullmatch(text))


def test_a_link_outlives_a_reload_and_says_when_its_passage_changed(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    settings = Settings(seeds_dir=folder)
    before, _ = load_library(settings)
    article = before.articles[0]
    edited_passage = article.passages[7]
    payloads = [share_payload(p, article) for p in article.passages]
    digest = folder / f"{SEED_ID}.txt"
    digest.write_text(
        digest.read_text(encoding="utf-8").replace(edited_passage.text[:40], "Edited: ", 1),
        encoding="utf-8",
    )
    after, loaded = load_library(settings, previous=before)
    assert loaded.rejected == ()
    keys = ButtonKeys.of(after.articles)
    changed = []
    for number, payload in enumerate(payloads):
        shared = resolve_share(payload, keys, after)
        assert shared is not None and shared.match.passage.number == number
        if shared.changed:
            changed.append(number)
    assert changed == [7]
    # A sources.toml rename is not a change of the passage: the link stays current.
    (folder / "sources.toml").write_text('[sources]\n"2 1 Shi Ji Jing Ji Bao Dao" = "21CBH"\n')
    renamed, _ = load_library(settings, previous=after)
    shared = resolve_share(payloads[1], ButtonKeys.of(renamed.articles), renamed)
    assert shared is not None and not shared.changed
    assert shared.match.article.display_source == "21CBH"
    digest.unlink()
    (folder / "other.md").write_text("# Other\n\n## Core Viewpoint\nSomething else [1].\n")
    gone, _ = load_library(settings, previous=renamed)
    assert resolve_share(payloads[1], ButtonKeys.of(gone.articles), gone) is None
