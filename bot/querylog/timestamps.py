"""How the query log tells time: the default clock and the stored timestamp form.

Stored timestamps are UTC ISO-8601 with milliseconds, so they sort as text and a window is
a `ts >= ?` comparison.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time in UTC (the default clock for timestamps)."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """The stored timestamp form: UTC ISO-8601 with milliseconds, sortable as text."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")


_second_cache: tuple[int, str] = (-1, "")


def stamp(moment: float | datetime) -> str:
    """The stored form of a time.time() float (fast: the second's text is cached) or datetime."""
    global _second_cache
    if isinstance(moment, datetime):
        return iso(moment)
    second = int(moment)
    cached_second, prefix = _second_cache
    if second != cached_second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second_cache = (second, prefix)  # one tuple: a reader in another thread sees a pair
    return f"{prefix}.{int((moment - second) * 1000):03d}+00:00"
