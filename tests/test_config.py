from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import (
    DEFAULT_ANSWER_THRESHOLD,
    DEFAULT_BASE_URL,
    DEFAULT_SUGGEST_THRESHOLD,
    ConfigError,
    Settings,
    load_settings,
)

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_without_environment_or_file(tmp_path: Path) -> None:
    settings = load_settings({}, env_file=tmp_path / "missing.env")
    assert settings == Settings()
    assert settings.telegram_bot_token is None
    assert settings.telegram_base_url == DEFAULT_BASE_URL
    assert settings.seeds_dir == Path("seeds")
    assert settings.database_path == Path("data/bot.sqlite3")
    assert settings.match_answer_threshold == DEFAULT_ANSWER_THRESHOLD
    assert settings.match_suggest_threshold == DEFAULT_SUGGEST_THRESHOLD
    assert settings.admin_user_ids == frozenset()
    assert settings.log_level == "INFO"


def test_reads_every_variable(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": "123456:ABC-def_ghi",
            "TELEGRAM_BASE_URL": "http://127.0.0.1:8081/bot",
            "TELEGRAM_BASE_FILE_URL": "http://127.0.0.1:8081/file/bot",
            "ADMIN_USER_IDS": " 42, 7 ,",
            "SEEDS_DIR": "content",
            "DATABASE_PATH": "/var/lib/bot/log.sqlite3",
            "MATCH_ANSWER_THRESHOLD": "0.7",
            "MATCH_SUGGEST_THRESHOLD": "0.4",
            "LOG_LEVEL": "debug",
        },
        env_file=None,
    )
    assert settings.telegram_bot_token == "123456:ABC-def_ghi"
    assert settings.telegram_base_url == "http://127.0.0.1:8081/bot"
    assert settings.telegram_base_file_url == "http://127.0.0.1:8081/file/bot"
    assert settings.admin_user_ids == frozenset({42, 7})
    assert settings.is_admin(42) and not settings.is_admin(43) and not settings.is_admin(None)
    assert settings.seeds_dir == Path("content")
    assert settings.database_path == Path("/var/lib/bot/log.sqlite3")
    assert (settings.match_answer_threshold, settings.match_suggest_threshold) == (0.7, 0.4)
    assert settings.log_level == "DEBUG"


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Settings().log_level = "DEBUG"  # type: ignore[misc]


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SEEDS_DIR=from_file\nLOG_LEVEL=WARNING\n# a comment\n", encoding="utf-8")
    settings = load_settings({"LOG_LEVEL": "ERROR"}, env_file=env_file)
    assert settings.seeds_dir == Path("from_file")
    assert settings.log_level == "ERROR"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ADMIN_USER_IDS", "42,alice"),
        ("MATCH_ANSWER_THRESHOLD", "high"),
        ("MATCH_ANSWER_THRESHOLD", "1.5"),
        ("MATCH_SUGGEST_THRESHOLD", "-0.1"),
        ("LOG_LEVEL", "LOUD"),
        ("TELEGRAM_BOT_TOKEN", "not a token"),
        ("TELEGRAM_BASE_URL", "api.telegram.org/bot"),
        ("FOLLOW_MAX_TOPICS", "0"),
        ("ANSWER_WATCH_DAYS", "a month"),
        ("ANSWER_WATCH_MAX", "-1"),
    ],
)
def test_bad_value_names_the_variable_in_one_line(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({name: value}, env_file=None)
    message = str(raised.value)
    assert message.startswith(f"{name}: ")
    assert "\n" not in message


def test_suggest_threshold_above_answer_threshold_is_refused() -> None:
    with pytest.raises(ConfigError, match="MATCH_SUGGEST_THRESHOLD"):
        load_settings(
            {"MATCH_ANSWER_THRESHOLD": "0.5", "MATCH_SUGGEST_THRESHOLD": "0.6"}, env_file=None
        )


def test_env_example_lists_every_setting_with_a_comment() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    names = [line.split("=", 1)[0] for line in example if line and not line.startswith("#")]
    expected = {
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_BASE_URL",
        "TELEGRAM_BASE_FILE_URL",
        "ADMIN_USER_IDS",
        "SEEDS_DIR",
        "SEEDS_WATCH",
        "SEEDS_POLL_SECONDS",
        "SEEDS_DEBOUNCE_SECONDS",
        "DATABASE_PATH",
        "MATCH_ANSWER_THRESHOLD",
        "MATCH_SUGGEST_THRESHOLD",
        "LOG_LEVEL",
        "QUERY_LOG_USERS",
        "QUERY_LOG_SALT",
        "QUERY_LOG_RETENTION_DAYS",
        "QUERY_LOG_MAX_PENDING",
        "WEBHOOK_URL",
        "WEBHOOK_LISTEN",
        "WEBHOOK_PORT",
        "WEBHOOK_SECRET",
        "QUESTIONS_PER_WINDOW",
        "QUESTION_WINDOW_SECONDS",
        "SUMMARY_COOLDOWN_SECONDS",
        "PERSISTENCE_PATH",
        "TELEGRAM_RATE_LIMITER",
        "FLOOD_GIVE_UP_SECONDS",
        "SHUTDOWN_DRAIN_SECONDS",
        "TYPING_DELAY_SECONDS",
        "ARTICLE_MAX_PASSAGES",
        "ARTICLE_MAX_PASSAGE_CHARS",
        "CONTENT_MAX_BYTES",
        "GLOSSARY_MAX_ALIASES",
        "GLOSSARY_MAX_ALIAS_CHARS",
        "LOG_FORMAT",
        "HEALTH_PORT",
        "HEALTH_HOST",
        "FOLLOW_MAX_TOPICS",
        "ANSWER_WATCH_DAYS",
        "ANSWER_WATCH_MAX",
    }
    assert set(names) == expected
    for name in names:
        index = next(i for i, line in enumerate(example) if line.startswith(f"{name}="))
        assert any(example[j].startswith("#") for j in range(max(0, index - 3), index)), name
    # The example file itself is a valid configuration.
    load_settings({}, env_file=ROOT / ".env.example")


def test_docs_document_every_setting() -> None:
    documented = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for line in example:
        if line and not line.startswith("#"):
            assert f"| `{line.split('=', 1)[0]}` |" in documented


def test_webhook_settings() -> None:
    settings = load_settings(
        {
            "WEBHOOK_URL": "https://bot.example.org/telegram/hook",
            "WEBHOOK_SECRET": "s3cret_-token",
            "WEBHOOK_PORT": "8080",
            "WEBHOOK_LISTEN": "127.0.0.1",
        },
        env_file=None,
    )
    assert settings.webhook_url == "https://bot.example.org/telegram/hook"
    assert (settings.webhook_listen, settings.webhook_port) == ("127.0.0.1", 8080)
    assert settings.webhook_secret == "s3cret_-token"
    assert load_settings({}, env_file=None).webhook_url is None


@pytest.mark.parametrize(
    ("values", "name"),
    [
        ({"WEBHOOK_URL": "https://bot.example.org/hook"}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_URL": "http://bot.example.org/hook", "WEBHOOK_SECRET": "x"}, "WEBHOOK_URL"),
        ({"WEBHOOK_URL": "https://b.example/h", "WEBHOOK_SECRET": "has space"}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_URL": "https://b.example/h", "WEBHOOK_SECRET": "x" * 257}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_PORT": "99999"}, "WEBHOOK_PORT"),
    ],
)
def test_webhook_mode_refuses_to_start_without_a_valid_secret(
    values: dict[str, str], name: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{name}: "):
        load_settings(values, env_file=None)


def test_seeds_watch_settings() -> None:
    settings = load_settings(
        {"SEEDS_WATCH": "Poll", "SEEDS_POLL_SECONDS": "0.5", "SEEDS_DEBOUNCE_SECONDS": "0"},
        env_file=None,
    )
    assert (settings.seeds_watch, settings.seeds_poll_seconds) == ("poll", 0.5)
    assert settings.seeds_debounce_seconds == 0
    default = load_settings({}, env_file=None)
    assert (default.seeds_watch, default.seeds_poll_seconds) == ("auto", 5.0)
    assert default.seeds_debounce_seconds == 2.0
    for name, value in (
        ("SEEDS_WATCH", "inotify"),
        ("SEEDS_POLL_SECONDS", "0"),
        ("SEEDS_DEBOUNCE_SECONDS", "-1"),
    ):
        with pytest.raises(ConfigError, match=f"^{name}: "):
            load_settings({name: value}, env_file=None)


def test_flood_limits_persistence_and_rate_limiter() -> None:
    settings = load_settings(
        {
            "QUESTIONS_PER_WINDOW": "3",
            "QUESTION_WINDOW_SECONDS": "2.5",
            "SUMMARY_COOLDOWN_SECONDS": "0",
            "PERSISTENCE_PATH": "/tmp/state.pickle",
            "TELEGRAM_RATE_LIMITER": "OFF",
            "TYPING_DELAY_SECONDS": "0.05",
        },
        env_file=None,
    )
    assert (settings.questions_per_window, settings.question_window_seconds) == (3, 2.5)
    assert settings.typing_delay_seconds == 0.05
    assert settings.summary_cooldown_seconds == 0
    assert settings.persistence_path == Path("/tmp/state.pickle")
    assert settings.telegram_rate_limiter is False
    defaults = load_settings({}, env_file=None)
    assert (defaults.questions_per_window, defaults.question_window_seconds) == (5, 10.0)
    assert defaults.summary_cooldown_seconds == 30.0 and defaults.telegram_rate_limiter
    assert defaults.typing_delay_seconds == 0.5
    assert load_settings({"TYPING_DELAY_SECONDS": "0"}, env_file=None).typing_delay_seconds == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("QUESTIONS_PER_WINDOW", "0"),
        ("QUESTION_WINDOW_SECONDS", "0"),
        ("QUESTION_WINDOW_SECONDS", "nan"),
        ("SUMMARY_COOLDOWN_SECONDS", "-1"),
        ("TELEGRAM_RATE_LIMITER", "maybe"),
        ("TYPING_DELAY_SECONDS", "-0.5"),
        ("TYPING_DELAY_SECONDS", "soon"),
    ],
)
def test_bad_limits_are_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}: "):
        load_settings({name: value}, env_file=None)


def test_repr_never_shows_a_secret() -> None:
    token, salt, secret = "123456:very-secret-token", "s" * 20 + "-salt", "WhSecret_42"
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": token,
            "QUERY_LOG_SALT": salt,
            "WEBHOOK_URL": "https://example.org/hook",
            "WEBHOOK_SECRET": secret,
        },
        env_file=None,
    )
    shown = repr(settings)
    assert token not in shown and salt not in shown and secret not in shown
    assert "telegram_bot_token='***'" in shown and "admin_user_ids=frozenset()" in shown
    assert "telegram_bot_token=None" in repr(load_settings({}, env_file=None))


def test_operator_settings() -> None:
    defaults = load_settings({}, env_file=None)
    assert (defaults.health_port, defaults.health_host, defaults.log_format) == (
        None,
        "127.0.0.1",
        "plain",
    )
    settings = load_settings(
        {"HEALTH_PORT": "9464", "HEALTH_HOST": "0.0.0.0", "LOG_FORMAT": "JSON"}, env_file=None
    )
    assert (settings.health_port, settings.health_host, settings.log_format) == (
        9464,
        "0.0.0.0",
        "json",
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HEALTH_PORT", "0"),
        ("HEALTH_PORT", "http"),
        ("HEALTH_PORT", "70000"),
        ("HEALTH_HOST", "http://localhost"),
        ("HEALTH_HOST", "localhost:9464"),
        ("LOG_FORMAT", "xml"),
    ],
)
def test_bad_operator_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({name: value}, env_file=None)
    assert str(raised.value).startswith(f"{name}: ")
    assert "\n" not in str(raised.value)


def test_health_port_must_not_be_the_webhook_port() -> None:
    webhook = {
        "WEBHOOK_URL": "https://bot.example.org/hook",
        "WEBHOOK_SECRET": "s3cret",
        "WEBHOOK_PORT": "8443",
    }
    with pytest.raises(ConfigError, match=r"^HEALTH_PORT: 8443 is also WEBHOOK_PORT"):
        load_settings({**webhook, "HEALTH_PORT": "8443"}, env_file=None)
    assert load_settings({**webhook, "HEALTH_PORT": "9464"}, env_file=None).health_port == 9464
    # Polling serves no webhook: the port is free for the health server.
    assert load_settings({"HEALTH_PORT": "8443"}, env_file=None).health_port == 8443
