"""Digests: a chat's new articles gathered in one message, daily or weekly, at the chat's
hour in its time zone. No Telegram import: the digest is an outbox item (bot/outbox.py)
with the Bot API's JSON keyboard.

**What a digest holds.** The articles added since the chat's last digest: an article is
"added" when the bot first saw it (`known_articles.first_seen`, `Outbox.new_articles`),
and still in the library. Nothing is sent when nothing is new. One message: a title line,
then per article (newest first) its headline (and English title), source and date and one
line of its core viewpoint, within Telegram's 4,096 characters ("and N more: /articles"
when they do not fit), and up to `MAX_BUTTONS` buttons to the newest articles' full
summaries (the summary button's payload, bot/callbacks.py).

**Digests and immediate pushes.** A chat gets one or the other. A digest is kept on top
of the chat's subscription (the outbox's `subscriptions` row, so a chat Telegram refuses
is suspended and resumed as any subscriber): setting a digest subscribes the chat and
its mode becomes "digest" (`announce` in bot/subscriptions.py skips it, `digest_chats`);
/subscribe switches it back to each new article as it arrives; /unsubscribe and
/digest off stop both.

**When.** `Rule` (daily, or weekly on a weekday, at HH:MM) and the chat's time zone (IANA,
via `zoneinfo`; UTC by default) give the next due instant (`next_due`), stored per chat.
DST: a local time that does not exist that day (the clocks jump over it) is sent at the
next minute that exists; one that exists twice (the clocks go back) is sent once, at the
first. `Digests.queue_due` queues every chat whose due instant has passed and moves it to
the next one after now: a bot that was down at the due time sends the missed digest once
when it starts, not one per missed day. It is driven by one repeating job
(handlers/digests.py); the clock is injectable (`Digests.clock`).

**Never twice.** The item's idempotency key is the chat's due occurrence in its local time
(`digest:2026-11-30T08:00`): a restart between queueing it and recording the next due time
queues the same key again, which the outbox ignores.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import time
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import aiosqlite
from rapidfuzz import fuzz, process

from bot.callbacks import summary_data
from bot.content import Article, citation
from bot.i18n import N_, Translator, Translators
from bot.outbox import Item, Outbox, migrate
from bot.rendering import HTML, TELEGRAM_MESSAGE_LIMIT, shorten, telegram_length

logger = logging.getLogger(__name__)

COMPONENT = "digests"
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # One row per chat that gets a digest; `since`: the articles first seen after it
        # go into the next digest; `next_due`: when (Unix time) that digest is due.
        """CREATE TABLE digests (
            chat_id INTEGER PRIMARY KEY,
            cadence TEXT NOT NULL,
            weekday INTEGER,
            hour INTEGER NOT NULL,
            minute INTEGER NOT NULL,
            language TEXT,
            created REAL NOT NULL,
            since REAL NOT NULL,
            next_due REAL NOT NULL,
            last_key TEXT)""",
        "CREATE INDEX digests_due ON digests (next_due)",
        # A chat's time zone (/timezone), an IANA name; absent: UTC.
        "CREATE TABLE chat_zones (chat_id INTEGER PRIMARY KEY, zone TEXT NOT NULL)",
    ),
)

DEFAULT_ZONE = "UTC"
MAX_BUTTONS = 5  # summary buttons under a digest (the newest articles)
BUTTON_HEADLINE = 30  # characters of a headline on its button
VIEWPOINT_LENGTH = 160  # characters of the core viewpoint's one line
GAP_MINUTES = 24 * 60  # how far a time skipped by the clocks is moved on, at most

# Every message the bot says about digests, here so both the handlers and the rendering use
# one wording.
EVERY_DAY = N_("every day at {time}")
# TRANSLATORS: {weekday} is one of the weekday names below ("Monday" / "周一").
EVERY_WEEKDAY = N_("every {weekday} at {time}")
WEEKDAY_NAMES = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
MORE = N_("…and {count} more: /articles")


class Cadence(Enum):
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True)
class Rule:
    """When a chat's digest is due, in the chat's local time: every day, or every week on
    `weekday` (0 is Monday), at hour:minute."""

    cadence: Cadence
    hour: int
    minute: int
    weekday: int | None = None

    @property
    def clock_time(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"

    def describe(self, t: Translator) -> str:
        """'every day at 08:00' / 'every Monday at 08:00', in the reader's language."""
        if self.weekday is None:
            return t.gettext(EVERY_DAY).format(time=self.clock_time)
        weekday = t.gettext(WEEKDAY_NAMES[self.weekday])
        return t.gettext(EVERY_WEEKDAY).format(weekday=weekday, time=self.clock_time)


# -- parsing ------------------------------------------------------------------------------


class RuleError(ValueError):
    """A /digest argument that is not a rule; `message` (N_-marked) says what is wrong."""

    def __init__(self, message: str, value: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.value = value


BAD_TIME = N_("“{value}” is not a time: write it as HH:MM, 24-hour (08:00, 19:30).")
BAD_WEEKDAY = N_("“{value}” is not a weekday: write mon … sun, or 周一 … 周日.")
BAD_RULE = N_("I did not understand that.")

_DAILY = frozenset({"daily", "day", "every-day", "每天", "每日"})
_WEEKLY = frozenset({"weekly", "week", "每周", "每週", "每星期"})
_ENGLISH_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CHINESE_DAYS = "一二三四五六日"


def _weekdays() -> dict[str, int]:
    names: dict[str, int] = {}
    for number, (short, full) in enumerate(zip(_ENGLISH_DAYS, _FULL_DAYS, strict=True)):
        names[short] = names[full] = number
        names[full[:4]] = number  # "tues", "thur"
        names[{"tue": "tues", "wed": "weds", "thu": "thurs"}.get(short, short)] = number
    for number, digit in enumerate(_CHINESE_DAYS):
        for prefix in ("周", "週", "星期", "礼拜", "禮拜"):
            names[prefix + digit] = number
    for prefix in ("周", "週", "星期", "礼拜", "禮拜"):
        names[prefix + "天"] = 6
    return names


WEEKDAYS: Mapping[str, int] = _weekdays()
_TIME_RE = re.compile(r"([01]?\d|2[0-3])[:\uff1a.]([0-5]\d)")


def parse_time(text: str) -> tuple[int, int]:
    """'08:00' (or '8:00', a full-width colon) -> (8, 0); RuleError otherwise."""
    found = _TIME_RE.fullmatch(text.strip())
    if found is None:
        raise RuleError(BAD_TIME, text)
    return int(found[1]), int(found[2])


def parse_weekday(text: str) -> int:
    """'mon', 'Monday', '周一', '星期一', '週日' -> 0 … 6 (Monday first); RuleError otherwise."""
    number = WEEKDAYS.get(text.strip().casefold())
    if number is None:
        raise RuleError(BAD_WEEKDAY, text)
    return number


def parse_rule(words: Sequence[str]) -> Rule:
    """`daily 08:00` or `weekly mon 08:00` (a /digest command's arguments) as a Rule."""
    parts = [w for w in words if w.strip()]
    if not parts:
        raise RuleError(BAD_RULE)
    kind = parts[0].casefold()
    if kind in _DAILY and len(parts) == 2:
        hour, minute = parse_time(parts[1])
        return Rule(Cadence.DAILY, hour, minute)
    if kind in _WEEKLY and len(parts) == 3:
        weekday = parse_weekday(parts[1])
        hour, minute = parse_time(parts[2])
        return Rule(Cadence.WEEKLY, hour, minute, weekday)
    raise RuleError(BAD_RULE)


# -- time zones ---------------------------------------------------------------------------


@functools.cache
def zone_names() -> dict[str, str]:
    """Every IANA name the system (or the tzdata package) knows, by its casefolded form."""
    names = {name.casefold(): name for name in zoneinfo.available_timezones()}
    names.setdefault(DEFAULT_ZONE.casefold(), DEFAULT_ZONE)
    return names


def find_zone(name: str) -> str | None:
    """The IANA name `name` stands for (any case: 'asia/shanghai'), or None."""
    return zone_names().get(name.strip().casefold())


def suggest_zone(name: str) -> str | None:
    """The known name closest to a mistyped one ('Asia/Shangai' -> 'Asia/Shanghai'), if
    any is close enough."""
    names = zone_names()
    found = process.extractOne(
        name.strip().casefold(), list(names), scorer=fuzz.WRatio, score_cutoff=80
    )
    return names[found[0]] if found else None


def zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The time zone of a stored name; UTC for none, or for a name this system lost."""
    try:
        return zoneinfo.ZoneInfo(name or DEFAULT_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        logger.warning("digests: unknown time zone %r, using UTC", name)
        return zoneinfo.ZoneInfo(DEFAULT_ZONE)


# -- when ---------------------------------------------------------------------------------


def local_instant(day: dt.date, hour: int, minute: int, tz: dt.tzinfo) -> dt.datetime:
    """hour:minute of `day` in `tz`, as an aware datetime. A wall time the clocks skip
    (spring forward) becomes the next minute that exists; one they pass twice (fall back)
    the first of the two (fold=0)."""
    wall = dt.datetime.combine(day, dt.time(hour, minute))
    for step in range(GAP_MINUTES + 1):
        candidate = wall + dt.timedelta(minutes=step)
        aware = candidate.replace(tzinfo=tz, fold=0)
        # A wall time exists when it survives the round trip through UTC.
        if aware.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) == candidate:
            return aware
    raise ValueError(f"no wall time in {tz} within a day of {wall}")  # pragma: no cover


def next_due(rule: Rule, tz: dt.tzinfo, after: dt.datetime) -> dt.datetime:
    """The first instant strictly after `after` (aware) at which `rule` fires in `tz`."""
    start = after.astimezone(tz).date() - dt.timedelta(days=1)
    for offset in range(10):
        day = start + dt.timedelta(days=offset)
        if rule.weekday is not None and day.weekday() != rule.weekday:
            continue
        at = local_instant(day, rule.hour, rule.minute, tz)
        if at > after:
            return at
    raise AssertionError("a rule fires at least once a week")  # pragma: no cover


def period_key(due: dt.datetime, tz: dt.tzinfo) -> str:
    """The outbox key of the digest due at `due`: its local date and time, one per chat and
    occurrence (`digest:2026-11-30T08:00`)."""
    return "digest:" + due.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def _instant(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


# -- rendering ----------------------------------------------------------------------------


def render_digest(
    articles: Sequence[Article], t: Translator, limit: int = TELEGRAM_MESSAGE_LIMIT
) -> tuple[str, dict[str, Any]]:
    """The digest of `articles` (newest first) as HTML within `limit` characters as
    Telegram counts them, and its keyboard (the Bot API's JSON)."""
    count = len(articles)
    title = HTML.bold(
        t.ngettext("Digest: {count} new article", "Digest: {count} new articles", count).format(
            count=count
        )
    )

    def more(left: int) -> str:
        return HTML.esc(t.gettext(MORE).format(count=left))

    # Newest first, while each one and the pointer to the rest still fit (lengths add up:
    # a tag counts nothing, the blank line between parts two).
    parts, used = [title], telegram_length(title)
    for article in articles:
        block = _entry(article, t)
        left = count - len(parts)  # after this one
        cost = 2 + telegram_length(block) + (2 + telegram_length(more(left)) if left else 0)
        if used + cost > limit:
            break
        parts.append(block)
        used += 2 + telegram_length(block)
    shown = len(parts) - 1
    if shown < count:
        parts.append(more(count - shown))
    text = "\n\n".join(parts)
    rows = [
        [
            {
                "text": "📄 " + shorten(article.title, BUTTON_HEADLINE),
                "callback_data": summary_data(article),
            }
        ]
        for article in articles[: min(shown, MAX_BUTTONS)]
    ]
    return text, {"inline_keyboard": rows}


def _entry(article: Article, t: Translator) -> str:
    """One article of a digest: headline (English title), source · date, one line."""
    cited = citation(article, article.core_viewpoint)
    heading = HTML.bold(cited.headline)
    if cited.english_title:
        heading += f" ({HTML.italic(cited.english_title)})"
    byline = " · ".join(d for d in (cited.source, cited.date) if d)
    lines = [heading]
    if byline:
        lines.append(HTML.italic(byline))
    viewpoint = " ".join(article.core_viewpoint.text.split())
    lines.append(HTML.esc(shorten(viewpoint, VIEWPOINT_LENGTH)))
    return "\n".join(lines)


# -- the store and the scheduler ----------------------------------------------------------


@dataclass(frozen=True)
class Digest:
    """A chat's digest as stored."""

    chat_id: int
    rule: Rule
    language: str | None
    since: float
    next_due: float


async def digest_chats(outbox: Outbox) -> set[int]:
    """The chats whose mode is "digest" (the immediate push skips them); none while the
    digests' tables are not there (a bot whose digests could not start)."""
    try:
        async with outbox.db.execute("SELECT chat_id FROM digests") as cursor:
            return {row[0] for row in await cursor.fetchall()}
    except aiosqlite.OperationalError:
        return set()


class Digests:
    """The chats' digests and time zones, on the outbox's connection: every write goes
    through its lock (`Outbox.write`, `Outbox.transaction`), never beside another's."""

    def __init__(self, outbox: Outbox, clock: Callable[[], float] | None = None) -> None:
        self.outbox = outbox
        self.clock: Callable[[], float] = clock or time.time

    @classmethod
    async def open(cls, outbox: Outbox, clock: Callable[[], float] | None = None) -> Digests:
        """Create or upgrade the digests' tables beside the outbox's."""
        await migrate(outbox.db, COMPONENT, MIGRATIONS)
        return cls(outbox, clock)

    @property
    def db(self) -> aiosqlite.Connection:
        return self.outbox.db

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self.db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    # -- time zones

    async def zone_name(self, chat_id: int) -> str:
        rows = await self._rows("SELECT zone FROM chat_zones WHERE chat_id = ?", (chat_id,))
        return str(rows[0][0]) if rows else DEFAULT_ZONE

    async def set_zone(self, chat_id: int, name: str) -> Digest | None:
        """Keep the chat's time zone (an IANA name, checked by the caller); its digest, if
        any, is rescheduled in it (the digest as it is now)."""
        await self.outbox.write(
            "INSERT INTO chat_zones (chat_id, zone) VALUES (?, ?) "
            "ON CONFLICT (chat_id) DO UPDATE SET zone = excluded.zone",
            (chat_id, name),
        )
        found = await self.digest(chat_id)
        if found is None:
            return None
        due = next_due(found.rule, zone(name), _instant(self.clock())).timestamp()
        await self.outbox.write("UPDATE digests SET next_due = ? WHERE chat_id = ?", (due, chat_id))
        return await self.digest(chat_id)

    # -- digests

    async def digest(self, chat_id: int) -> Digest | None:
        rows = await self._rows(
            "SELECT chat_id, cadence, weekday, hour, minute, language, since, next_due "
            "FROM digests WHERE chat_id = ?",
            (chat_id,),
        )
        return _digest_of(rows[0]) if rows else None

    async def set(self, chat_id: int, rule: Rule, language: str | None) -> Digest:
        """Give the chat a digest by `rule` in its time zone (the next one holds what is
        added from now on, or since its last digest when it already had one)."""
        now = self.clock()
        tz = zone(await self.zone_name(chat_id))
        due = next_due(rule, tz, _instant(now)).timestamp()
        await self.outbox.write(
            "INSERT INTO digests (chat_id, cadence, weekday, hour, minute, language, created, "
            "since, next_due) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (chat_id) DO UPDATE SET cadence = excluded.cadence, "
            "weekday = excluded.weekday, hour = excluded.hour, minute = excluded.minute, "
            "language = excluded.language, next_due = excluded.next_due",
            (
                chat_id, rule.cadence.value, rule.weekday, rule.hour, rule.minute, language,
                now, now, due,
            ),
        )  # fmt: skip
        found = await self.digest(chat_id)
        assert found is not None
        return found

    async def remove(self, chat_id: int) -> bool:
        """The chat gets no digest any more; whether it had one."""
        return await self.outbox.write("DELETE FROM digests WHERE chat_id = ?", (chat_id,)) > 0

    async def migrate_chat(self, old: int, new: int) -> None:
        """A group became a supergroup: its digest and time zone follow the new id (unless
        the new chat has its own already)."""
        async with self.outbox.transaction() as db:
            for table in ("digests", "chat_zones"):
                await db.execute(
                    f"UPDATE OR IGNORE {table} SET chat_id = ? WHERE chat_id = ?", (new, old)
                )
                await db.execute(f"DELETE FROM {table} WHERE chat_id = ?", (old,))

    async def queue_due(self, library: Sequence[Article], languages: Translators) -> int:
        """Queue the digest of every chat whose due time has passed (a subscribed, not
        suspended chat), and move each to its next due time after now; the number of
        digests queued (a chat with nothing new gets none)."""
        now = self.clock()
        rows = await self._rows(
            "SELECT d.chat_id, d.cadence, d.weekday, d.hour, d.minute, d.language, d.since, "
            "d.next_due, z.zone FROM digests d "
            "JOIN subscriptions s ON s.chat_id = d.chat_id AND s.suspended IS NULL "
            "LEFT JOIN chat_zones z ON z.chat_id = d.chat_id "
            "WHERE d.next_due <= ? ORDER BY d.next_due",
            (now,),
        )
        if not rows:
            return 0
        by_id = {article.id: article for article in library}
        # Chats due in one tick mostly share their articles: each text rendered once.
        rendered: dict[tuple[tuple[str, ...], str | None], tuple[str, dict[str, Any]]] = {}
        queued = 0
        for row in rows:
            found = _digest_of(row[:8])
            tz = zone(row[8])
            fresh = await self._added(found.since, now, by_id)
            key = period_key(_instant(found.next_due), tz)
            if fresh:
                same = (tuple(a.id for a in fresh), found.language)
                if same not in rendered:
                    t = languages.for_reader(found.language, None)
                    rendered[same] = render_digest(fresh, t)
                text, buttons = rendered[same]
                queued += await self.outbox.enqueue([Item(found.chat_id, key, text, buttons)])
            due = next_due(found.rule, tz, _instant(now)).timestamp()
            # Only if the chat's digest is still the one read (not changed meanwhile).
            await self.outbox.write(
                "UPDATE digests SET since = ?, next_due = ?, last_key = ? "
                "WHERE chat_id = ? AND next_due = ?",
                (now, due, key, found.chat_id, found.next_due),
            )
            logger.info("digest %s for chat %s: %d new articles", key, found.chat_id, len(fresh))
        return queued

    async def _added(
        self, since: float, until: float, by_id: Mapping[str, Article]
    ) -> list[Article]:
        """The library's articles first seen in (since, until], newest first."""
        rows = await self._rows(
            "SELECT article_id FROM known_articles WHERE first_seen > ? AND first_seen <= ? "
            "ORDER BY first_seen DESC, article_id",
            (since, until),
        )
        return [by_id[row[0]] for row in rows if row[0] in by_id]

    async def counts(self) -> dict[str, int]:
        """Chats with a digest, in all and by cadence (`digests`, `daily`, `weekly`)."""
        figures = {"digests": 0, **{cadence.value: 0 for cadence in Cadence}}
        for cadence, count in await self._rows(
            "SELECT cadence, COUNT(*) FROM digests GROUP BY cadence"
        ):
            figures[cadence] = count
            figures["digests"] += count
        return figures


def _digest_of(row: Sequence[Any]) -> Digest:
    chat_id, cadence, weekday, hour, minute, language, since, due = row
    rule = Rule(Cadence(cadence), hour, minute, weekday)
    return Digest(chat_id, rule, language, since, due)
