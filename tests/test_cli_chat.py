"""Choosing suggestions by number in the terminal chat (bot/cli_chat.py), in process."""

from __future__ import annotations

from typing import Any, cast

import pytest

from bot.cli_chat import ChatSession
from bot.library import Library
from bot.matcher_config import MatcherConfig
from bot.querylog import BackgroundQueryLog

ONE_SUGGESTION = "Huawei strategy"  # with no answer bar reachable: one suggestion
TWO_SUGGESTIONS = "Tencent capital expenditure"


class RecordedQueries:
    """Stands in for the query log: keeps the fields of each row the session writes."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def record_query(self, **fields: Any) -> str:
        self.rows.append(fields)
        return f"{len(self.rows):012x}"


@pytest.fixture
def log() -> RecordedQueries:
    return RecordedQueries()


@pytest.fixture
def session(library: Library, log: RecordedQueries) -> ChatSession:
    """A session in which every plausible match is a suggestion (no score reaches 1.01)."""
    suggesting = Library(
        library.articles, MatcherConfig(answer_threshold=1.01, answer_on_lead=False)
    )
    return ChatSession(suggesting, cast(BackgroundQueryLog, log))


def test_one_suggestion_says_type_1(session: ChatSession) -> None:
    reply = session.respond(ONE_SUGGESTION)
    assert reply.endswith("\n\nType 1 to read it, or ask again in other words.")
    assert "1-1" not in reply
    assert "Type 1-2 to read one" in session.respond(TWO_SUGGESTIONS)


@pytest.mark.parametrize("number", ["2", "0", "17"])
def test_a_number_not_among_the_suggestions_gets_a_hint_and_is_not_logged(
    session: ChatSession, log: RecordedQueries, number: str
) -> None:
    session.respond(ONE_SUGGESTION)
    assert (
        session.respond(number) == "There is one suggestion: type 1 to read it, or ask a question."
    )
    assert [row["question"] for row in log.rows] == [ONE_SUGGESTION]
    assert session.current is None
    assert "Competitive Strategies of Major Players" in session.respond("1")  # still pending


def test_the_hint_counts_the_suggestions(session: ChatSession) -> None:
    session.respond(TWO_SUGGESTIONS)
    assert (
        session.respond("3") == "There are 2 suggestions: type 1-2 to read one, or ask a question."
    )


def test_a_full_width_number_chooses_and_a_superscript_is_a_question(
    session: ChatSession, log: RecordedQueries
) -> None:
    session.respond(TWO_SUGGESTIONS)
    assert "Market Dynamics and Challenges" in session.respond("２")
    assert session.respond("²")  # not a decimal number: asked, where it used to crash
    assert [row["question"] for row in log.rows] == [TWO_SUGGESTIONS, "²"]


def test_without_suggestions_a_number_is_a_question(library: Library, log: RecordedQueries) -> None:
    session = ChatSession(library, cast(BackgroundQueryLog, log))
    assert "Historical Context" in session.respond("2024")  # the year is in the seed
    assert [row["question"] for row in log.rows] == ["2024"]
