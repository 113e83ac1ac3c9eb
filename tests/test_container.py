"""The container recipe and the service files agree with the code they run.

Without a container engine (the usual case here: `docker info` fails) nothing is built;
instead each file is read and checked against the project: the paths it copies exist and
are not ignored, every variable it sets is a setting the bot reads (and valid), the
volumes are where the settings put the content and the database, the entrypoint is a
command `python -m bot` accepts, the health check probes the port the bot serves on, and
the webhook's path and port match the reverse proxy's. With an engine the image is built
and its health probe and `check` run in it.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml

from bot.cli import build_parser
from bot.config import load_settings
from tests.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
TOKEN = "123456:AAH-example_token"


def settings_names() -> set[str]:
    """Every variable the bot reads (tests/test_config.py holds .env.example to that)."""
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    found, current = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        keyword, _, rest = current.strip().partition(" ")
        found.append((keyword.upper(), rest.strip()))
        current = ""
    return found


def arguments(keyword: str) -> list[str]:
    return [rest for key, rest in instructions() if key == keyword]


def image_environment() -> dict[str, str]:
    environment = {}
    for rest in arguments("ENV"):
        for pair in shlex.split(rest):
            name, _, value = pair.partition("=")
            environment[name] = value
    return environment


def bot_settings_environment() -> dict[str, str]:
    return {k: v for k, v in image_environment().items() if not k.startswith(("PYTHON", "PIP_"))}


def exec_form(rest: str) -> list[str]:
    command = json.loads(rest)
    assert isinstance(command, list) and all(isinstance(part, str) for part in command), rest
    return command


def test_the_image_is_slim_python_and_runs_as_a_user() -> None:
    (base,) = arguments("FROM")
    assert re.fullmatch(r"python:3\.(1[1-9])-slim", base), base
    users = arguments("USER")
    assert users and users[-1] not in ("root", "0")
    keywords = [key for key, _ in instructions()]
    assert keywords.index("USER") < keywords.index("CMD")
    run = " ".join(arguments("RUN"))
    assert re.search(rf"useradd .*--uid (\d+) .*\b{users[-1]}\b", run), run


def test_what_the_image_copies_exists_and_is_not_ignored() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    copied = []
    for rest in arguments("COPY"):
        parts = [p for p in shlex.split(rest) if not p.startswith("--")]
        copied += parts[:-1]
    assert set(copied) >= {"pyproject.toml", "README.md", "bot", "handlers", "seeds"}
    for source in copied:
        assert (ROOT / source).exists(), source
        assert source not in ignored and f"/{source}" not in ignored, source
    # The installed packages are the ones pyproject names; secrets and state stay out.
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    packages = re.search(r"packages = \[(.*?)\]", pyproject)
    assert packages is not None
    for package in re.findall(r'"([\w.]+)"', packages.group(1)):
        assert package.split(".")[0] in copied, package
    for secret in (".env", ".venv", "data", "*.sqlite3", ".git"):
        assert secret in ignored, secret


def test_every_variable_the_image_sets_is_a_valid_setting() -> None:
    environment = bot_settings_environment()
    assert set(environment) <= settings_names(), set(environment) - settings_names()
    settings = load_settings({**environment, "TELEGRAM_BOT_TOKEN": TOKEN}, env_file=None)
    assert settings.health_port is not None
    assert settings.health_host == "0.0.0.0"  # reachable by the probe and by Prometheus
    assert settings.log_format == "json"


def test_volumes_hold_the_content_and_the_database() -> None:
    settings = load_settings(bot_settings_environment(), env_file=None)
    (volumes,) = arguments("VOLUME")
    declared = set(json.loads(volumes))
    assert str(settings.seeds_dir) in declared
    assert str(PurePosixPath(settings.database_path).parent) in declared
    assert str(PurePosixPath(settings.persistence_path).parent) in declared


def test_the_entrypoint_runs_the_bot_and_stops_on_sigterm() -> None:
    (cmd,) = arguments("CMD")
    command = exec_form(cmd)
    assert command[:3] == ["python", "-m", "bot"]
    assert build_parser().parse_args(command[3:]).command == "run"
    assert arguments("STOPSIGNAL") == ["SIGTERM"]
    assert not arguments("ENTRYPOINT")


def test_the_healthcheck_probes_the_port_the_bot_serves() -> None:
    (healthcheck,) = arguments("HEALTHCHECK")
    options, _, command = healthcheck.partition("CMD ")
    assert "--interval=" in options and "--start-period=" in options
    probe = exec_form(command)
    assert probe == ["python", "-m", "bot.healthcheck"]
    assert (ROOT / "bot" / "healthcheck.py").is_file()
    port = bot_settings_environment()["HEALTH_PORT"]
    exposed = " ".join(arguments("EXPOSE")).split()
    assert port in exposed
    # The probe reads the same settings as the bot: asked of 0.0.0.0, it calls loopback.
    from bot.healthcheck import health_url

    assert health_url("0.0.0.0", int(port)) == f"http://127.0.0.1:{port}/healthz"


def compose(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def interpolated(value: str, variables: dict[str, str]) -> str:
    """compose's ${NAME}, ${NAME:?message} and ${NAME:-default}."""

    def one(match: re.Match[str]) -> str:
        name, operator, rest = match.group(1), match.group(2), match.group(3)
        if name in variables:
            return variables[name]
        assert operator != ":?", f"{name} is required: {rest}"
        return rest or ""

    return re.sub(r"\$\{(\w+)(?:(:[?-])([^}]*))?\}", one, value)


@pytest.mark.parametrize("name", ["compose.yaml", "compose.webhook.yaml"])
def test_the_compose_files_run_the_image_as_built(name: str) -> None:
    service = compose(name)["services"]["bot"]
    assert service["build"] == "."
    assert service["stop_signal"] == "SIGTERM"
    grace = int(str(service["stop_grace_period"]).rstrip("s"))
    variables = {"BOT_DOMAIN": "bot.example.org", "WEBHOOK_SECRET": "a-secret_1"}
    environment = {k: interpolated(str(v), variables) for k, v in service["environment"].items()}
    assert set(environment) <= settings_names(), set(environment) - settings_names()
    image = bot_settings_environment()
    for key in ("SEEDS_DIR", "DATABASE_PATH", "PERSISTENCE_PATH", "HEALTH_HOST", "HEALTH_PORT"):
        assert environment[key] == image[key], key  # where the image's volumes are
    settings = load_settings({**environment, "TELEGRAM_BOT_TOKEN": TOKEN}, env_file=None)
    assert grace > settings.shutdown_drain_seconds + 5
    targets = {volume.split(":")[1] for volume in service["volumes"]}
    assert {str(settings.seeds_dir), str(PurePosixPath(settings.database_path).parent)} <= targets
    for volume in service["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (ROOT / source).exists(), source
    published = [str(p) for p in service["ports"]]
    assert f"127.0.0.1:{settings.health_port}:{settings.health_port}" in published
    assert service["env_file"] == ".env"  # the operator's settings, as outside a container


def test_the_webhook_sits_behind_caddy_with_tls_and_the_secret() -> None:
    services = compose("compose.webhook.yaml")["services"]
    variables = {"BOT_DOMAIN": "bot.example.org", "WEBHOOK_SECRET": "a-secret_1"}
    environment = {
        k: interpolated(str(v), variables) for k, v in services["bot"]["environment"].items()
    }
    settings = load_settings({**environment, "TELEGRAM_BOT_TOKEN": TOKEN}, env_file=None)
    assert settings.webhook_url == "https://bot.example.org/telegram/hook"
    assert settings.webhook_listen == "0.0.0.0" and settings.webhook_secret == "a-secret_1"
    caddy = services["caddy"]
    assert caddy["image"].startswith("caddy:")
    assert {"80:80", "443:443"} <= set(caddy["ports"])
    (mount,) = [v for v in caddy["volumes"] if v.endswith("/etc/caddy/Caddyfile:ro")]
    caddyfile = (ROOT / mount.split(":")[0]).read_text(encoding="utf-8")
    assert "{$BOT_DOMAIN} {" in caddyfile
    path = urlsplit(settings.webhook_url).path
    assert re.search(rf"^\s*path {re.escape(path)}$", caddyfile, re.M)
    assert re.search(
        r"^\s*header X-Telegram-Bot-Api-Secret-Token \{\$WEBHOOK_SECRET\}$", caddyfile, re.M
    )
    assert re.search(rf"^\s*reverse_proxy bot:{settings.webhook_port}$", caddyfile, re.M)
    assert set(caddy["environment"]) == {"BOT_DOMAIN", "WEBHOOK_SECRET"}


def test_the_systemd_unit_runs_the_bot_with_valid_settings() -> None:
    unit = (ROOT / "deploy" / "digest-bot.service").read_text(encoding="utf-8")
    values = dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#")
    )
    environment = dict(
        line.split("=", 1)[1].split("=", 1)
        for line in unit.splitlines()
        if line.startswith("Environment=")
    )
    assert set(environment) <= settings_names()
    settings = load_settings({**environment, "TELEGRAM_BOT_TOKEN": TOKEN}, env_file=None)
    assert str(settings.database_path).startswith("/var/lib/digest-bot/")
    assert values["StateDirectory"] == "digest-bot"
    command = shlex.split(values["ExecStart"])
    assert command[0].endswith("/.venv/bin/python") and command[1:3] == ["-m", "bot"]
    assert build_parser().parse_args(command[3:]).command == "run"
    assert values["KillSignal"] == "SIGTERM"
    assert int(values["TimeoutStopSec"]) > settings.shutdown_drain_seconds + 5


def test_the_readme_says_how_to_build_and_run_the_image() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docker build -t digest-bot ." in readme
    assert "docker compose up -d" in readme


def engine_available() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not engine_available(), reason="no container engine here (docker info fails)")
def test_the_image_builds_and_checks_its_content() -> None:
    tag = "digest-bot:test"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=1800)
    check = subprocess.run(
        ["docker", "run", "--rm", tag, "python", "-m", "bot", "check"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stderr
    assert "1 articles, 9 passages, 0 rejected" in check.stdout
    user = subprocess.run(
        ["docker", "run", "--rm", tag, "id", "-u"], capture_output=True, text=True, timeout=300
    )
    assert user.stdout.strip() == "10001"
