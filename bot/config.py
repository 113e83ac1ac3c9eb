"""Settings: one frozen object read from the environment and a `.env` file.

The environment wins over `.env`, so a deployment can override a checked-in default
without editing files. Every bad value fails at start with one line naming the variable.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TypeVar

from dotenv import dotenv_values

from bot.matcher_config import DEFAULT_ANSWER_THRESHOLD, DEFAULT_SUGGEST_THRESHOLD

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_BASE_FILE_URL = "https://api.telegram.org/file/bot"
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
# How the query log stores reader ids: a keyed hash, as given, or not at all (see docs/privacy.md).
QUERY_LOG_USER_MODES = ("hash", "raw", "off")
# A shorter key would make the hash of a numeric Telegram id guessable by brute force.
MIN_SALT_LENGTH = 16
# Settings never shown by repr(): the bot token, the query log's hash key, the webhook secret.
SECRET_SETTINGS = frozenset({"telegram_bot_token", "query_log_salt", "webhook_secret"})
# Content limits (docs/content.md, "Content limits"). The seed has 9 passages of at most 245
# characters and 1,000 synthetic articles (../shared/tools/make_corpus.py) at most 13 of
# 266: 200 passages is 15 times the largest digest seen and 2,000 characters keeps a
# passage, with its section, headline and citation, inside one 4,096-character Telegram
# message (an answer is one message). 1 MB is what an upload may be.
DEFAULT_ARTICLE_MAX_PASSAGES = 200
DEFAULT_ARTICLE_MAX_PASSAGE_CHARS = 2_000
DEFAULT_CONTENT_MAX_BYTES = 1024 * 1024
# The bundled glossary has 339 aliases of at most 24 characters: 5,000 aliases of 100
# characters leave room for any real glossary and bound the alias trie's size and depth.
DEFAULT_GLOSSARY_MAX_ALIASES = 5_000
DEFAULT_GLOSSARY_MAX_ALIAS_CHARS = 100
# How log lines are written (LOG_FORMAT): the human one, or one JSON object a line (bot/logs.py).
LOG_FORMATS = ("plain", "json")
# How SEEDS_DIR is watched for new content (bot/watcher.py): watchfiles with polling as its
# fallback, polling only (network and container volumes), or not at all.
SEEDS_WATCH_MODES = ("auto", "poll", "off")


class ConfigError(ValueError):
    """A setting has a value the bot cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment, typed and validated."""

    telegram_bot_token: str | None = None
    telegram_base_url: str = DEFAULT_BASE_URL
    telegram_base_file_url: str = DEFAULT_BASE_FILE_URL
    admin_user_ids: frozenset[int] = frozenset()
    seeds_dir: Path = Path("seeds")
    database_path: Path = Path("data/bot.sqlite3")
    match_answer_threshold: float = DEFAULT_ANSWER_THRESHOLD
    match_suggest_threshold: float = DEFAULT_SUGGEST_THRESHOLD
    log_level: str = "INFO"
    query_log_users: str = "hash"
    query_log_salt: str | None = None
    query_log_retention_days: int = 90
    query_log_max_pending: int = 10_000
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret: str | None = None
    questions_per_window: int = 5
    question_window_seconds: float = 10.0
    summary_cooldown_seconds: float = 30.0
    persistence_path: Path = Path("data/bot-state.pickle")  # the old state file, migrated once
    telegram_rate_limiter: bool = True
    flood_give_up_seconds: float = 600.0
    shutdown_drain_seconds: float = 5.0
    outbox_rate: float = 25.0  # pushes a second overall (bot/outbox.py)
    follow_max_topics: int = 20  # topics a chat may follow (bot/follows.py)
    answer_watch_days: int = 30  # "tell me when answered" requests expire (bot/watches.py)
    answer_watch_max: int = 20  # open requests per reader
    typing_delay_seconds: float = 0.5
    article_max_passages: int = DEFAULT_ARTICLE_MAX_PASSAGES
    article_max_passage_chars: int = DEFAULT_ARTICLE_MAX_PASSAGE_CHARS
    content_max_bytes: int = DEFAULT_CONTENT_MAX_BYTES
    glossary_max_aliases: int = DEFAULT_GLOSSARY_MAX_ALIASES
    glossary_max_alias_chars: int = DEFAULT_GLOSSARY_MAX_ALIAS_CHARS
    # The operator's kit (docs/deploying.md): /healthz and /metrics (None: no server), logs.
    health_port: int | None = None
    health_host: str = "127.0.0.1"
    log_format: str = "plain"
    # SEEDS_DIR watched for new content (bot/watcher.py): mode, poll interval, quiet period.
    seeds_watch: str = "auto"
    seeds_poll_seconds: float = 5.0
    seeds_debounce_seconds: float = 2.0

    def __repr__(self) -> str:
        # Settings end up in tracebacks and debug logs: secrets show only whether they are set.
        shown = (
            f"{f.name}={'***' if f.name in SECRET_SETTINGS and value else value!r}"
            for f in fields(self)
            for value in (getattr(self, f.name),)
        )
        return f"Settings({', '.join(shown)})"

    def is_admin(self, user_id: int | None) -> bool:
        """True when the numeric Telegram user id is one of the configured admins."""
        return user_id is not None and user_id in self.admin_user_ids


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Read settings from `env_file` (if it exists) overlaid by `environ` (default: os.environ)."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        value = values.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def parse(name: str, convert: Callable[[str], T], default: T) -> T:
        raw = get(name)
        if raw is None:
            return default
        try:
            return convert(raw)
        except ValueError as error:
            raise ConfigError(f"{name}: {error}") from None

    answer = parse("MATCH_ANSWER_THRESHOLD", _unit_float, DEFAULT_ANSWER_THRESHOLD)
    suggest = parse("MATCH_SUGGEST_THRESHOLD", _unit_float, DEFAULT_SUGGEST_THRESHOLD)
    if suggest > answer:
        raise ConfigError(
            f"MATCH_SUGGEST_THRESHOLD: {suggest} is above MATCH_ANSWER_THRESHOLD ({answer}); "
            "it must be lower or equal"
        )
    webhook_url = parse("WEBHOOK_URL", _https_url, None)
    webhook_secret = parse("WEBHOOK_SECRET", _webhook_secret, None)
    if webhook_url and not webhook_secret:
        raise ConfigError(
            "WEBHOOK_SECRET: required with WEBHOOK_URL (1-256 characters of A-Z a-z 0-9 _ -), "
            "so that only Telegram can post updates"
        )
    webhook_port = parse("WEBHOOK_PORT", _port, 8443)
    health_port = parse("HEALTH_PORT", _port, None)
    if webhook_url and health_port == webhook_port:
        raise ConfigError(
            f"HEALTH_PORT: {health_port} is also WEBHOOK_PORT; the health server and the "
            "webhook need a port each"
        )
    return Settings(
        telegram_bot_token=parse("TELEGRAM_BOT_TOKEN", _token, None),
        telegram_base_url=parse("TELEGRAM_BASE_URL", _url, DEFAULT_BASE_URL),
        telegram_base_file_url=parse("TELEGRAM_BASE_FILE_URL", _url, DEFAULT_BASE_FILE_URL),
        admin_user_ids=parse("ADMIN_USER_IDS", _user_ids, frozenset()),
        seeds_dir=Path(get("SEEDS_DIR") or "seeds"),
        database_path=Path(get("DATABASE_PATH") or "data/bot.sqlite3"),
        match_answer_threshold=answer,
        match_suggest_threshold=suggest,
        log_level=parse("LOG_LEVEL", _log_level, "INFO"),
        query_log_users=parse("QUERY_LOG_USERS", _user_mode, "hash"),
        query_log_salt=parse("QUERY_LOG_SALT", _salt, None),
        query_log_retention_days=parse("QUERY_LOG_RETENTION_DAYS", _positive_int, 90),
        query_log_max_pending=parse("QUERY_LOG_MAX_PENDING", _positive_int, 10_000),
        webhook_url=webhook_url,
        webhook_listen=get("WEBHOOK_LISTEN") or "0.0.0.0",
        webhook_port=webhook_port,
        webhook_secret=webhook_secret,
        questions_per_window=parse("QUESTIONS_PER_WINDOW", _positive_int, 5),
        question_window_seconds=parse("QUESTION_WINDOW_SECONDS", _positive_float, 10.0),
        summary_cooldown_seconds=parse("SUMMARY_COOLDOWN_SECONDS", _non_negative_float, 30.0),
        persistence_path=Path(get("PERSISTENCE_PATH") or "data/bot-state.pickle"),
        telegram_rate_limiter=parse("TELEGRAM_RATE_LIMITER", _on_off, True),
        flood_give_up_seconds=parse("FLOOD_GIVE_UP_SECONDS", _positive_float, 600.0),
        shutdown_drain_seconds=parse("SHUTDOWN_DRAIN_SECONDS", _positive_float, 5.0),
        outbox_rate=parse("OUTBOX_RATE", _positive_float, 25.0),
        follow_max_topics=parse("FOLLOW_MAX_TOPICS", _positive_int, 20),
        answer_watch_days=parse("ANSWER_WATCH_DAYS", _positive_int, 30),
        answer_watch_max=parse("ANSWER_WATCH_MAX", _positive_int, 20),
        typing_delay_seconds=parse("TYPING_DELAY_SECONDS", _non_negative_float, 0.5),
        article_max_passages=parse(
            "ARTICLE_MAX_PASSAGES", _positive_int, DEFAULT_ARTICLE_MAX_PASSAGES
        ),
        article_max_passage_chars=parse(
            "ARTICLE_MAX_PASSAGE_CHARS", _positive_int, DEFAULT_ARTICLE_MAX_PASSAGE_CHARS
        ),
        content_max_bytes=parse("CONTENT_MAX_BYTES", _positive_int, DEFAULT_CONTENT_MAX_BYTES),
        glossary_max_aliases=parse(
            "GLOSSARY_MAX_ALIASES", _positive_int, DEFAULT_GLOSSARY_MAX_ALIASES
        ),
        glossary_max_alias_chars=parse(
            "GLOSSARY_MAX_ALIAS_CHARS", _positive_int, DEFAULT_GLOSSARY_MAX_ALIAS_CHARS
        ),
        health_port=health_port,
        health_host=parse("HEALTH_HOST", _host, "127.0.0.1"),
        log_format=parse("LOG_FORMAT", _log_format, "plain"),
        seeds_watch=parse("SEEDS_WATCH", _seeds_watch, "auto"),
        seeds_poll_seconds=parse("SEEDS_POLL_SECONDS", _positive_float, 5.0),
        seeds_debounce_seconds=parse("SEEDS_DEBOUNCE_SECONDS", _non_negative_float, 2.0),
    )


def _https_url(raw: str) -> str:
    if not raw.startswith("https://"):
        raise ValueError(f"{raw!r} is not an https:// URL (Telegram only posts to HTTPS)")
    return raw


def _webhook_secret(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", raw):
        raise ValueError("must be 1-256 characters of A-Z a-z 0-9 _ -")
    return raw


def _port(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ValueError(f"{raw!r} is not a port number (1-65535)")
    return int(raw)


def _host(raw: str) -> str:
    # (An IPv6 address has two colons or more; one is a port.)
    if any(c.isspace() or c in "/@[]" for c in raw) or raw.count(":") == 1:
        raise ValueError(
            f"{raw!r} is not a host name or IP address (no scheme, port, path or brackets)"
        )
    return raw


def _log_format(raw: str) -> str:
    value = raw.lower()
    if value not in LOG_FORMATS:
        raise ValueError(f"{raw!r} is not one of {', '.join(LOG_FORMATS)}")
    return value


def _seeds_watch(raw: str) -> str:
    value = raw.lower()
    if value not in SEEDS_WATCH_MODES:
        raise ValueError(f"{raw!r} is not one of {', '.join(SEEDS_WATCH_MODES)}")
    return value


def _positive_float(raw: str) -> float:
    value = _non_negative_float(raw)
    if value == 0:
        raise ValueError(f"{raw!r} must be above 0")
    return value


def _non_negative_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number of seconds") from None
    if not 0 <= value < float("inf"):
        raise ValueError(f"{raw!r} is not a number of seconds of 0 or more")
    return value


def _on_off(raw: str) -> bool:
    value = raw.lower()
    if value not in ("on", "off"):
        raise ValueError(f"{raw!r} is not on or off")
    return value == "on"


def _unit_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{raw!r} is outside [0, 1]")
    return value


def _token(raw: str) -> str:
    # BotFather tokens look like "123456:ABC-def"; catching a pasted URL or quote early
    # beats a 401 from Telegram later.
    bot_id, sep, secret = raw.partition(":")
    if not sep or not bot_id.isdigit() or not secret or any(c.isspace() for c in raw):
        raise ValueError("does not look like a bot token from @BotFather (digits:secret)")
    return raw


def _url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError(f"{raw!r} is not an http(s) URL")
    return raw


def _user_ids(raw: str) -> frozenset[int]:
    ids: set[int] = set()
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.lstrip("-").isdigit():
            raise ValueError(f"{part!r} is not a numeric Telegram user id")
        ids.add(int(part))
    return frozenset(ids)


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"{raw!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def _user_mode(raw: str) -> str:
    mode = raw.lower()
    if mode not in QUERY_LOG_USER_MODES:
        raise ValueError(f"{raw!r} is not one of {', '.join(QUERY_LOG_USER_MODES)}")
    return mode


def _salt(raw: str) -> str:
    if len(raw) < MIN_SALT_LENGTH:
        raise ValueError(f"must be at least {MIN_SALT_LENGTH} characters (a long random string)")
    return raw


def _positive_int(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{raw!r} is not a whole number of at least 1")
    return int(raw)


def configure_logging(settings: Settings) -> None:
    """Send the project's logs to stderr at the configured level, as text or JSON lines."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in ("bot", "handlers"):
        logging.getLogger(name).setLevel(settings.log_level)
    if settings.log_format == "json":
        from bot.logs import use_json_lines

        use_json_lines(settings.telegram_bot_token)
