"""The languages (bot/i18n.py): the catalogs are complete, readers get the right language,
plurals come from the catalog; and the pieces the onboarding and small talk stand on."""

from __future__ import annotations

import ast
import re
import tomllib
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from bot.answers import Outcome
from bot.callbacks import MAX_CALLBACK_BYTES, example_data
from bot.config import Settings
from bot.content import Article, Passage, Section
from bot.deeplinks import MAX_PAYLOAD, payload_question, question_payload
from bot.examples import example_questions
from bot.i18n import (
    EN,
    ENGLISH,
    LANGUAGES,
    ZH_HANS,
    ZH_HANT,
    catalog_path,
    language_of_code,
    load_translators,
    read_catalog,
    resolve_language,
    translated,
)
from bot.library import Library
from bot.rendering import PLAIN, render_match, render_paragraphs, render_summary
from bot.smalltalk import SmallTalk, small_talk
from bot.state import ChatState, load_content
from tests.conftest import ROOT, SEEDS

CHINESE = (ZH_HANS, ZH_HANT)
PLACEHOLDER_RE = re.compile(r"\{[^{}]*\}|%\([^)]*\)[a-z]|%[a-z]")


@cache
def code_messages() -> dict[str | tuple[str, ...], str]:
    """Every message the code marks for translation (bot/ and handlers/, as babel.cfg and
    the documented `pybabel extract` read them) -> where it is."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str | tuple[str, ...], str] = {}
    for folder in ("bot", "handlers"):
        for filename, line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map, options_map
        ):
            key = message if isinstance(message, str) else tuple(m for m in message if m)
            found.setdefault(key, f"{folder}/{filename}:{line}")
    return found


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER_RE.findall(text))


def test_the_code_has_messages_and_extraction_finds_module_constants() -> None:
    messages = code_messages()
    assert len(messages) > 100
    assert "This button has expired. Please ask again." in messages  # an N_() constant
    assert ("{count} vote", "{count} votes") in messages  # a plural


@pytest.mark.parametrize("language", CHINESE)
def test_every_message_has_a_translation_with_the_same_placeholders(language: str) -> None:
    catalog = read_catalog(catalog_path(language))
    assert catalog.num_plurals == 1  # Chinese: one form for every count
    problems = []
    for key, where in code_messages().items():
        msgid = key if isinstance(key, str) else key[0]
        entry = catalog.get(msgid)
        if entry is None or not translated(entry):
            problems.append(f"{where}: {key!r} has no translation")
            continue
        forms = entry.string if isinstance(entry.string, (tuple, list)) else (entry.string,)
        wanted = placeholders(key if isinstance(key, str) else " ".join(key))
        for form in forms:
            if placeholders(form) != wanted:
                problems.append(f"{where}: {form!r} has {placeholders(form)}, not {wanted}")
    assert problems == [], "\n".join(problems)


def test_the_english_catalog_is_the_codes_english() -> None:
    catalog = read_catalog(catalog_path(EN))
    assert catalog.num_plurals == 2
    assert all(not translated(m) for m in catalog if m.id)  # empty: the msgid is the text


def test_the_catalogs_are_shipped() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["bot"]
    for language in LANGUAGES:
        relative = catalog_path(language).relative_to(ROOT / "bot")
        assert any(Path(relative).match(p) for p in patterns), relative
    assert any(d.startswith("babel") for d in config["project"]["dependencies"])


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("en", EN), ("en-GB", EN), ("de", EN), ("", EN), (None, EN), ("zha", EN),
        ("zh", ZH_HANS), ("zh-hans", ZH_HANS), ("zh-CN", ZH_HANS), ("zh-sg", ZH_HANS),
        ("zh_Hans", ZH_HANS), ("zh-hans-cn", ZH_HANS),
        ("zh-hant", ZH_HANT), ("zh-TW", ZH_HANT), ("zh-hk", ZH_HANT), ("zh-mo", ZH_HANT),
        ("zh-Hant-TW", ZH_HANT),
    ],
)  # fmt: skip
def test_telegram_language_codes(code: str | None, language: str) -> None:
    assert language_of_code(code) == language


def test_the_chats_choice_wins_over_the_readers_language() -> None:
    assert resolve_language(ZH_HANT, "en") == ZH_HANT
    assert resolve_language(None, "zh-hans") == ZH_HANS
    assert resolve_language("klingon", "zh-tw") == ZH_HANT  # an unknown choice is no choice


def test_plurals_follow_the_catalog() -> None:
    translators = load_translators()
    english, simplified = translators[EN], translators[ZH_HANS]
    assert english.ngettext("{count} vote", "{count} votes", 1) == "{count} vote"
    assert english.ngettext("{count} vote", "{count} votes", 2) == "{count} votes"
    assert simplified.ngettext("{count} vote", "{count} votes", 1) == "{count} 个评价"
    assert simplified.ngettext("{count} vote", "{count} votes", 5) == "{count} 个评价"
    assert translators["klingon"] is translators[EN]


def test_traditional_is_not_simplified() -> None:
    translators = load_translators()
    expired = "This button has expired. Please ask again."
    assert translators[ZH_HANS].gettext(expired) == "这个按钮已过期，请重新提问。"
    assert translators[ZH_HANT].gettext(expired) == "這個按鈕已過期，請重新提問。"
    private = "Send /forget to me in a private chat."
    assert "私人對話" in translators[ZH_HANT].gettext(private)


def test_chinese_chrome_around_the_content(library: Library) -> None:
    simplified = load_translators()[ZH_HANS]
    match = library.ask("How many customers does Alibaba Cloud serve?").best
    assert match is not None
    english = render_match(match, PLAIN)
    chinese = render_match(match, PLAIN, simplified)
    assert english.endswith("paragraph 7") and chinese.endswith("第 7 段")
    assert match.passage.text in chinese  # the content as written
    assert render_paragraphs((9, 10), simplified) == "第 9、10 段"
    assert render_paragraphs((9, 10)) == "paragraphs 9, 10"
    summary = render_summary(library.articles[0], PLAIN, simplified)
    assert "（第 2、10 段）" in summary


def test_chat_state_keeps_the_language_and_old_rows_load() -> None:
    state = ChatState(current_article="a", language=ZH_HANT)
    assert state.to_dict()["language"] == ZH_HANT
    assert ChatState.from_dict(state.to_dict()) == state
    assert ChatState.from_dict({"article_id": "a"}).language is None  # a row from before
    assert ChatState.from_dict({"language": "fr"}).language is None  # not a language we have
    assert "language" not in ChatState().to_dict()
    state.clear()
    assert state.language is None


@pytest.mark.parametrize(
    "text",
    ["hi", "Hello!", "hey there", "HIII", "good morning", "Thanks!", "thank you 🙏", "thx",
     "你好", "您好！", "嗨", "谢谢", "謝謝！", "多谢", "早上好", "thanks a lot"],
)  # fmt: skip
def test_small_talk(text: str) -> None:
    assert small_talk(text) is not None


def test_small_talk_kinds_and_questions_that_are_not() -> None:
    assert small_talk("hello") is SmallTalk.GREETING
    assert small_talk("謝謝") is SmallTalk.THANKS
    for question in (
        "hi, what did Tencent spend?",
        "thanks to whom did Alibaba grow?",
        "你好，阿里云有多少客户？",
        "history",
        "",
    ):
        assert small_talk(question) is None, question


@pytest.mark.parametrize(
    "question",
    [
        "How many customers does Alibaba Cloud serve?",
        "How many customers does Alibaba Cloud serve, and how does that compare with Tencent?",
        "阿里云服务多少客户？腾讯的资本开支为什么下降了？华为的策略是什么？",
        "sourdough",
    ],
)
def test_a_question_goes_through_a_start_payload(question: str) -> None:
    payload = question_payload(question)
    assert len(payload) <= MAX_PAYLOAD and re.fullmatch(r"[A-Za-z0-9_-]+", payload)
    carried = payload_question(payload)
    assert carried is not None and question.startswith(carried)
    assert len(carried) >= min(len(question), 15)  # cut at a character, not lost
    assert payload_question("inline") is None and payload_question("q%%") is None


def test_every_example_is_answered_and_fits_a_button() -> None:
    library, keys, _ = load_content(Settings(seeds_dir=SEEDS))
    for language in LANGUAGES:
        examples = keys.examples_for(language)
        assert 1 <= len(examples) <= 3, language
        for question in examples:
            answer = library.ask(question)
            assert answer.outcome is Outcome.ANSWERED, question
            data = example_data(question)
            assert len(data.encode()) <= MAX_CALLBACK_BYTES
            assert keys.question(data.split(":")[1]) == question


def test_no_example_is_offered_that_the_bot_cannot_answer() -> None:
    # A section title the matcher cannot answer from its own section is never offered.
    core = Passage("x", 0, "Core Viewpoint", "Nothing here is about anything in particular.")
    vague = Passage("x", 1, "Miscellany", "Assorted remarks.", (1,))
    article = Article("x", "Notes", "", None, core, (Section(1, "Miscellany", (vague,)),))
    library = Library([article])
    offered = example_questions(library, ENGLISH)
    assert all(library.ask(q).outcome is Outcome.ANSWERED for q in offered)


def test_no_message_hides_in_an_f_string() -> None:
    """pybabel cannot see a gettext call inside an f-string: its message would never reach
    the catalogs (nor the completeness check above)."""
    hidden = []
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").glob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.JoinedStr):
                continue
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Call)
                    and isinstance(inner.func, ast.Attribute | ast.Name)
                    and getattr(inner.func, "attr", getattr(inner.func, "id", ""))
                    in ("gettext", "ngettext", "N_")
                    and any(isinstance(a, ast.Constant) for a in inner.args)
                ):
                    hidden.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert hidden == []


@pytest.mark.parametrize("language", ["en", "zh_Hans", "zh_Hant"])
def test_every_catalog_reads_without_a_warning(
    language: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Babel prints what it skips (a msgid without its msgstr, a stray line) and goes on:
    # at start-up that would be a silently missing message and a line outside the JSON log.
    from babel.messages.pofile import read_po

    path = ROOT / "bot" / "locale" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as catalog:
        read_po(catalog, abort_invalid=True)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
