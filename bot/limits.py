"""Flood limits, independent of Telegram: per-reader question windows and group cooldowns."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from enum import Enum

# Forget idle keys once this many are tracked, so memory stays bounded.
MAX_TRACKED = 10_000


class Verdict(Enum):
    ALLOW = "allow"
    NOTIFY = "notify"  # over the limit: say so once...
    SILENT = "silent"  # ...then stay quiet until the window has passed


@dataclass
class QuestionLimiter:
    """At most `limit` questions per `window` seconds per reader (a sliding window)."""

    limit: int
    window: float
    clock: Callable[[], float] = time.monotonic
    _times: dict[Hashable, deque[float]] = field(default_factory=dict, init=False)
    _notified: set[Hashable] = field(default_factory=set, init=False)

    def check(self, key: Hashable) -> Verdict:
        """Count a question from `key` if it is allowed, and say what to do with it."""
        now = self.clock()
        times = self._times.setdefault(key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            self._notified.discard(key)
            self._forget_idle(now)
            return Verdict.ALLOW
        if key in self._notified:
            return Verdict.SILENT
        self._notified.add(key)
        return Verdict.NOTIFY

    def _forget_idle(self, now: float) -> None:
        if len(self._times) <= MAX_TRACKED:
            return
        for key in [k for k, t in self._times.items() if not t or now - t[-1] >= self.window]:
            del self._times[key]
            self._notified.discard(key)


@dataclass
class Cooldown:
    """One action per `seconds` per key (a group's /summary); remembers what it produced."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    _last: dict[Hashable, tuple[float, object]] = field(default_factory=dict, init=False)
    # Old key -> new key: a /summary still being sent when its group migrated records its
    # message under the old id afterwards, and that must land on the new one.
    _moved: dict[Hashable, Hashable] = field(default_factory=dict, init=False)

    def remaining(self, key: Hashable) -> float:
        """Seconds until `key` may act again (0 when it may now)."""
        last = self._last.get(self._moved.get(key, key))
        return 0.0 if last is None else max(0.0, self.seconds - (self.clock() - last[0]))

    def start(self, key: Hashable, produced: object = None) -> None:
        """`key` acted now; `produced` (e.g. the message sent) is kept for pointing back."""
        now = self.clock()
        self._last[self._moved.get(key, key)] = (now, produced)
        if len(self._last) > MAX_TRACKED:
            for stale in [k for k, (t, _) in self._last.items() if now - t >= self.seconds]:
                del self._last[stale]

    def produced(self, key: Hashable) -> object:
        last = self._last.get(self._moved.get(key, key))
        return None if last is None else last[1]

    def move(self, old: Hashable, new: Hashable) -> None:
        """Carry a key's state over (a group that became a supergroup gets a new id)."""
        if old in self._last:
            self._last[new] = self._last.pop(old)
        self._moved[old] = new
        if len(self._moved) > MAX_TRACKED:
            del self._moved[next(iter(self._moved))]  # the oldest migration


@dataclass
class RecentKeys:
    """The last `size` keys seen (update ids), to drop a second delivery of the same one."""

    size: int = 10_000
    _keys: OrderedDict[Hashable, None] = field(default_factory=OrderedDict, init=False)

    def seen_before(self, key: Hashable) -> bool:
        """True when `key` came before; otherwise remember it (forgetting the oldest)."""
        if key in self._keys:
            return True
        self._keys[key] = None
        if len(self._keys) > self.size:
            self._keys.popitem(last=False)
        return False
