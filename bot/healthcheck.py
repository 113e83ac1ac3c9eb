"""`python -m bot.healthcheck`: exit 0 when the running bot's /healthz answers 200.

For a container's HEALTHCHECK (Dockerfile) or a monitoring script: it reads HEALTH_HOST
and HEALTH_PORT as the bot does (the environment, then `.env`), asks
http://HOST:PORT/healthz, prints the answer and exits 0 (healthy), 1 (unhealthy, or no
answer) or 2 (HEALTH_PORT is not set, or a setting is bad). It loads only bot.config and
the standard library, so running it every few seconds costs little.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from bot.config import ConfigError, load_settings

TIMEOUT_SECONDS = 5.0
# A server listening on every address is asked on the loopback one.
ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def health_url(host: str, port: int) -> str:
    host = ANY_ADDRESS.get(host, host)
    return f"http://[{host}]:{port}/healthz" if ":" in host else f"http://{host}:{port}/healthz"


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if settings.health_port is None:
        print("error: HEALTH_PORT is not set: the bot serves no /healthz", file=sys.stderr)
        return 2
    url = health_url(settings.health_host, settings.health_port)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            print(response.read().decode("utf-8", "replace").strip())
            return 0
    except urllib.error.HTTPError as error:
        print(error.read().decode("utf-8", "replace").strip())
        return 1
    except OSError as error:
        print(f"unhealthy: no answer from {url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
