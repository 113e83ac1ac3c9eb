from __future__ import annotations

from bot.limits import Cooldown, QuestionLimiter, Verdict
from tests.conftest import HandClock


def test_limiter_allows_the_limit_then_notifies_once_then_is_silent() -> None:
    clock = HandClock(1000.0)
    limiter = QuestionLimiter(limit=3, window=10, clock=clock)
    assert [limiter.check("reader") for _ in range(3)] == [Verdict.ALLOW] * 3
    assert limiter.check("reader") is Verdict.NOTIFY
    assert limiter.check("reader") is Verdict.SILENT
    assert limiter.check("other") is Verdict.ALLOW  # per reader


def test_limiter_window_slides() -> None:
    clock = HandClock(1000.0)
    limiter = QuestionLimiter(limit=2, window=10, clock=clock)
    limiter.check("r")
    clock.now += 6
    limiter.check("r")
    assert limiter.check("r") is Verdict.NOTIFY
    clock.now += 4  # the first question left the window
    assert limiter.check("r") is Verdict.ALLOW
    assert limiter.check("r") is Verdict.NOTIFY  # a new burst gets a new note


def test_limiter_forgets_idle_readers(monkeypatch) -> None:
    import bot.limits

    monkeypatch.setattr(bot.limits, "MAX_TRACKED", 5)
    clock = HandClock(1000.0)
    limiter = QuestionLimiter(limit=1, window=10, clock=clock)
    for reader in range(6):
        limiter.check(reader)
    clock.now += 11
    limiter.check("new")
    assert len(limiter._times) <= 5


def test_cooldown_remembers_what_it_produced_and_moves() -> None:
    clock = HandClock(1000.0)
    cooldown = Cooldown(seconds=30, clock=clock)
    assert cooldown.remaining(-1) == 0
    cooldown.start(-1, produced=77)
    clock.now += 10
    assert cooldown.remaining(-1) == 20
    assert cooldown.produced(-1) == 77
    cooldown.move(-1, -100)
    assert cooldown.remaining(-100) == 20 and cooldown.produced(-100) == 77
    clock.now += 20
    assert cooldown.remaining(-100) == 0


def test_a_summary_sent_while_its_group_migrates_lands_on_the_new_id() -> None:
    cooldown = Cooldown(seconds=30, clock=HandClock(1000.0))
    cooldown.start(-1)  # /summary begins in the old group...
    cooldown.move(-1, -100)  # ...the group migrates while it is being sent...
    cooldown.start(-1, produced=77)  # ...and its message id arrives under the old id
    assert cooldown.produced(-100) == 77
    assert cooldown.remaining(-100) == 30


def test_zero_cooldown_never_blocks() -> None:
    cooldown = Cooldown(seconds=0)
    cooldown.start("g")
    assert cooldown.remaining("g") == 0
