"""The conversation rules (bot/conversation.py), tested without Telegram or a terminal."""

from __future__ import annotations

import shutil
from datetime import datetime

import pytest

from bot.answers import Outcome
from bot.config import Settings
from bot.content import CORE_VIEWPOINT, Article, Passage, Section
from bot.conversation import Conversation
from bot.library import Library, load_library
from bot.state import ChatState
from tests.conftest import ROOT, SEED_ID, SEEDS

TIE = "solar panel prices fell"  # both twins answer it equally well
PHONES, BANK = "101_7c3e9a1f5b2d8e40", "102_e14b6d02a9c7f358"


def article(article_id: str, headline: str, day: int, bullet: str) -> Article:
    """A one-section article whose bullet is `bullet`."""
    core = Passage(article_id, 0, CORE_VIEWPOINT, f"{headline} overview.", ())
    section = Section(1, "Details", (Passage(article_id, 1, "Details", bullet, (1,)),))
    return Article(article_id, headline, "Source", datetime(2025, 1, day), core, (section,))


@pytest.fixture(scope="module")
def twins() -> Library:
    """Two articles ("b" the newer) with the same bullet: a question about it ties."""
    bullet = "Solar panel prices fell forty percent in Europe."
    return Library(
        [article("a", "Solar prices", 1, bullet), article("b", "Solar outlook", 2, bullet)]
    )


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """The seed and the test articles: a phone maker and a bank both count their users."""
    folder = tmp_path_factory.mktemp("seeds")
    for source in (SEEDS, ROOT / "tests" / "data" / "articles"):
        for path in source.iterdir():
            shutil.copy(path, folder / path.name)
    library, _ = load_library(Settings(seeds_dir=folder))
    return library


def test_an_answer_sets_the_current_article(library: Library) -> None:
    conversation = Conversation(library)
    assert conversation.current is None
    answer = conversation.ask("How many customers does Alibaba Cloud serve?")
    assert answer.outcome is Outcome.ANSWERED
    assert conversation.state.current_article == SEED_ID
    assert conversation.current is library.article(SEED_ID)
    assert conversation.suggestions == ()


def test_the_current_article_is_kept_and_wins_ties(twins: Library) -> None:
    assert Conversation(twins).ask(TIE).outcome is Outcome.SUGGESTED  # no current article
    for current in ("a", "b"):
        conversation = Conversation(twins, ChatState(current_article=current))
        for _ in range(2):  # and again: the answer kept it current
            answer = conversation.ask(TIE)
            assert answer.outcome is Outcome.ANSWERED
            assert answer.best is not None and answer.best.article.id == current
            assert conversation.state.current_article == current


def test_a_question_without_an_answer_keeps_the_current_article(library: Library) -> None:
    conversation = Conversation(library, ChatState(current_article=SEED_ID))
    assert conversation.ask("sourdough bread recipe").outcome is Outcome.UNANSWERED
    assert conversation.state.current_article == SEED_ID


def test_a_reply_asks_about_the_replied_messages_article_first(news: Library) -> None:
    conversation = Conversation(news, ChatState(current_article=PHONES))
    bank = news.article(BANK)
    assert bank is not None
    conversation.remember_reply(41, bank)
    answer = conversation.ask("how many users?", replied_to=41)
    assert answer.best is not None and answer.best.passage.id == f"{BANK}#7"
    assert conversation.state.current_article == BANK  # the reply's answer is now current


@pytest.mark.parametrize("replied_to", [None, 99])  # no reply, a reply the chat forgot
def test_without_a_remembered_reply_the_current_article_wins(
    news: Library, replied_to: int | None
) -> None:
    conversation = Conversation(news, ChatState(current_article=PHONES))
    answer = conversation.ask("how many users?", replied_to=replied_to)
    assert answer.best is not None and answer.best.article.id == PHONES


def test_an_answer_is_remembered_for_replies_but_not_a_miss(library: Library) -> None:
    conversation = Conversation(library)
    conversation.remember_reply(7, conversation.ask("Alibaba Cloud customers"))
    conversation.remember_reply(8, conversation.ask("sourdough bread recipe"))
    assert conversation.state.message_articles == {7: SEED_ID}


def test_a_suggestion_is_chosen_by_number(twins: Library) -> None:
    conversation = Conversation(twins)
    answer = conversation.ask(TIE)
    assert answer.outcome is Outcome.SUGGESTED and len(conversation.suggestions) == 2
    second = answer.matches[1]
    chosen = conversation.choose(2)
    assert chosen is not None and chosen.passage == second.passage
    assert chosen.score == 1.0  # a reader's choice, like a pressed button's
    assert conversation.state.current_article == second.article.id
    assert conversation.choose(1) is not None  # the suggestions stay until the next question
    assert conversation.state.current_article == answer.matches[0].article.id


@pytest.mark.parametrize("number", [0, 3, 42])
def test_a_number_that_is_not_a_suggestion_chooses_nothing(twins: Library, number: int) -> None:
    conversation = Conversation(twins, ChatState(current_article="a"))
    conversation.suggestions = Conversation(twins).ask(TIE).matches
    assert conversation.choose(number) is None
    assert conversation.state.current_article == "a"


def test_the_next_question_replaces_the_suggestions(twins: Library) -> None:
    conversation = Conversation(twins)
    conversation.ask(TIE)
    conversation.ask("sourdough bread recipe")
    assert conversation.suggestions == ()
    assert conversation.choose(1) is None


def test_the_suggestions_live_in_the_chats_state_and_survive_a_restart(twins: Library) -> None:
    conversation = Conversation(twins)
    answer = conversation.ask(TIE)
    assert conversation.state.suggestions == tuple(m.passage.id for m in answer.matches)
    assert conversation.suggested_for == TIE
    # The bot makes a Conversation per update, over the chat's state as stored.
    stored = ChatState.from_dict(conversation.state.to_dict())
    later = Conversation(twins, stored)
    assert [m.passage.id for m in later.suggestions] == [m.passage.id for m in answer.matches]
    assert later.suggested_for == TIE
    chosen = later.choose(2)
    assert chosen is not None and chosen.passage.id == answer.matches[1].passage.id
    later.state.clear()
    assert later.suggestions == () and later.suggested_for == ""


@pytest.mark.parametrize(
    ("text", "choice"),
    [("1", 1), ("2", 2), (" 3 ", 3), ("0", 0), ("17", 17), ("２", 2), ("2024", None),
     ("²", None), ("1.", None), ("one", None), ("", None)],
)  # fmt: skip
def test_what_a_number_chooses(twins: Library, text: str, choice: int | None) -> None:
    conversation = Conversation(twins)
    assert conversation.choice_in("1") is None  # nothing to choose yet: a question
    conversation.ask(TIE)
    assert conversation.choice_in(text) == choice


def test_suggestions_of_passages_gone_after_a_reload_are_left_out(twins: Library) -> None:
    state = ChatState()
    state.suggest(TIE, ("a#1", "gone#3", "b#1"))
    assert [m.passage.id for m in Conversation(twins, state).suggestions] == ["a#1", "b#1"]


def test_a_pressed_suggestion_sets_the_current_article(twins: Library) -> None:
    match = twins.passage("a#1")
    assert match is not None
    conversation = Conversation(twins)  # a new one per update: no suggestions of its own
    assert conversation.choose(match) is match
    assert conversation.state.current_article == "a"


def test_a_summary_sets_the_current_article(twins: Library) -> None:
    conversation = Conversation(twins)
    latest = conversation.summary()
    assert latest is twins.article("b")  # no current article: the latest
    assert conversation.state.current_article == "b"
    assert conversation.summary("2") is twins.article("a")  # article 2 of the list
    assert conversation.summary("") is twins.article("a")  # now the current one
    assert conversation.summary("quantum chromodynamics") is None
    assert conversation.state.current_article == "a"  # a miss changes nothing
    outlook = twins.article("b")
    assert outlook is not None and conversation.summary(outlook) is outlook
    assert conversation.state.current_article == "b"


def test_a_current_article_no_longer_loaded_is_forgotten_for_the_summary(
    twins: Library,
) -> None:
    conversation = Conversation(twins, ChatState(current_article="gone"))
    assert conversation.current is None
    assert conversation.summary() is twins.article("b")
