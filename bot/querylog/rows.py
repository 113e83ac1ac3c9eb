"""The log's rows: what record_* queue in memory, and the form and statement they are
stored with.

A waiting row keeps its values raw (reader ids, the time as a float) so that queuing it
costs a reply next to nothing; `stored_values` does the rest when the writer takes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from bot.answers import Answer
from bot.querylog.privacy import Privacy
from bot.querylog.schema import QUERY_COLUMNS
from bot.querylog.timestamps import stamp

VIAS = ("private", "group", "inline", "callback", "cli")
OUTCOMES = ("answered", "suggested", "unanswered")

# The table each kind of row goes to.
TABLES = {"query": "queries", "feedback": "feedback", "reload": "reloads", "admin": "admin_actions"}
INSERTS = {
    "query": f"INSERT OR REPLACE INTO queries ({', '.join(QUERY_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(QUERY_COLUMNS))})",
    "feedback": "INSERT INTO feedback (ts, query_id, user_ref, helpful) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (query_id, user_ref) DO UPDATE SET helpful = excluded.helpful, ts = excluded.ts",
    "reload": "INSERT INTO reloads (ts, admin_id, articles, passages, rejected) "
    "VALUES (?, ?, ?, ?, ?)",
    "admin": "INSERT INTO admin_actions (ts, user_id, action, allowed) VALUES (?, ?, ?, ?)",
}
INSERT_DROPPED = "INSERT INTO dropped (ts, rows) VALUES (?, ?)"


@dataclass(slots=True)
class Row:
    """A row waiting in memory: its table and its values, reader ids and time still raw.

    The time is a float from time.time() (or a datetime from an injected clock); the writer
    formats it, which keeps the work on the reply's path to a minimum.
    """

    kind: str  # "query" | "feedback" | "reload" | "admin"
    values: tuple[Any, ...]
    user_id: int | None = None  # the reader (or admin) the row belongs to, for forget

    @property
    def table(self) -> str:
        return TABLES[self.kind]

    def belongs_to(self, user_id: int) -> bool:
        """Whether `forget(user_id)` takes this row: the user's own, or their private chat's."""
        if self.user_id == user_id:
            return True
        private_chat = self.kind == "query" and self.values[4] == "private"
        return private_chat and str(self.values[3]) == str(user_id)


def new_query_id() -> str:
    """A fresh query id, 12 hex characters, made before the row is written."""
    return os.urandom(6).hex()


def answer_fields(answer: Answer) -> dict[str, Any]:
    """record_query's outcome/article/passage/score fields from a bot.answers.Answer."""
    best = answer.best
    return {
        "question": answer.question,
        "outcome": answer.outcome.value,
        "article_id": best.article.id if best else None,
        "passage_id": best.passage.id if best else None,
        "score": round(best.score, 4) if best else None,
    }


def stored_values(row: Row, privacy: Privacy) -> tuple[Any, ...]:
    """The row's parameters for INSERTS[row.kind]: reader ids through the privacy setting."""
    values = row.values
    if row.kind == "query":
        chat_ref, chat_type, user_id = values[3], values[4], values[5]
        # In a private chat the chat id is the reader's id, so it gets the same treatment.
        stored_chat = privacy.user_ref(chat_ref) if chat_type == "private" else chat_ref
        question, outcome, article_id, passage_id, score, latency_ms, delivered, kind = values[6:]
        return (
            values[0], stamp(values[1]), _text(values[2]), _text(stored_chat),
            _text(chat_type), privacy.user_ref(user_id), _text(question), _text(outcome),
            _text(article_id), _text(passage_id), _number(score), _number(latency_ms),
            None if delivered is None else int(bool(delivered)), _text(kind) or "question",
        )  # fmt: skip
    if row.kind == "feedback":
        ts, query_id, user_id, helpful = values
        return (stamp(ts), _text(query_id), privacy.voter_ref(query_id, user_id), helpful)
    if row.kind == "admin":  # admin ids are configured (or refused), stored raw
        return (stamp(values[0]), values[1], _text(values[2]), values[3])
    return (stamp(values[0]), *values[1:])


def _text(value: object) -> str | None:
    """A str SQLite can always bind, None kept.

    A str enum (python-telegram-bot's ChatType) becomes its value, and lone surrogates (a
    Telegram message can carry them) are replaced: one unencodable row must not stall the
    writer's every retry.
    """
    if value is None:
        return None
    text = str(getattr(value, "value", value))
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


def _number(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
