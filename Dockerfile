# The bot in a container: one process per bot token, long polling or a webhook.
# Build: docker build -t digest-bot .   Run: docker compose up -d (compose.yaml), or see
# docs/deploying.md ("In a container") for the webhook behind Caddy and the settings.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The project itself (bot/ with its bundled data, handlers/), installed as a package; no
# tests, benchmarks or secrets (.dockerignore).
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin bot \
    && mkdir -p /data /seeds \
    && chown bot:bot /data /seeds

# The bundled article as the default content; mount your own folder on /seeds (writable
# by uid 10001 for uploads through Telegram).
COPY --chown=bot:bot seeds /seeds

# Where things live in the container, and the operator's kit on: /healthz and /metrics on
# port 8000 of every interface (publish it to the host's loopback only), JSON log lines.
ENV SEEDS_DIR=/seeds \
    DATABASE_PATH=/data/bot.sqlite3 \
    PERSISTENCE_PATH=/data/bot-state.pickle \
    HEALTH_HOST=0.0.0.0 \
    HEALTH_PORT=8000 \
    LOG_FORMAT=json
VOLUME ["/seeds", "/data"]
# 8000: /healthz and /metrics; 8443: the webhook (WEBHOOK_PORT), only in webhook mode.
EXPOSE 8000 8443

USER bot
WORKDIR /data
# docker stop sends SIGTERM: the bot finishes the updates in hand (SHUTDOWN_DRAIN_SECONDS),
# saves chat state and the query log, then exits; give it more than that (compose: 30 s).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]
CMD ["python", "-m", "bot", "run"]
