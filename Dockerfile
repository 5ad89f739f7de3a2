# syntax=docker/dockerfile:1
# Meetbot's production image. Build: docker build -t meetbot .  (or: docker compose build)
# The base image is pinned to a Python release on one Debian release, and the packages to
# constraints.txt, so a rebuild gives the image that was tested.

# --- build: install Meetbot and its dependencies into a virtual environment ---------------
FROM python:3.11.11-slim-bookworm AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Exactly the versions in constraints.txt (a `pip freeze` of Meetbot's dependencies, see
# README.md) and nothing else; `pip check` below fails the build if the list misses one.
COPY constraints.txt ./
RUN --mount=type=cache,target=/root/.cache/pip pip install --no-deps -r constraints.txt
# Only what the package is built from; its data (mail and page templates, the Alembic
# migrations) lives inside these folders.
COPY pyproject.toml README.md ./
COPY bot/ bot/
COPY handlers/ handlers/
COPY storage/ storage/
RUN --mount=type=cache,target=/root/.cache/pip pip install --no-deps . && pip check

# --- runtime: the virtual environment and an unprivileged user, nothing else --------------
FROM python:3.11.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    MEETBOT_HOST=0.0.0.0 \
    MEETBOT_SECRET_KEY_FILE=/app/keys/meetbot-secret.key

# /app is the working folder: without MEETBOT_DATABASE_URL or MEETBOT_SMTP_URL Meetbot keeps
# meetbot.db and meetbot-mail/ here, so it belongs to the meetbot user (and a volume mounted
# on /app or /app/meetbot-mail starts out with that owner). Without MEETBOT_SECRET_KEY the
# key sealing the database's secrets is generated into /app/keys, a volume of its own.
RUN groupadd --system --gid 10001 meetbot \
    && useradd --system --uid 10001 --gid meetbot --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin meetbot \
    && mkdir -p /app/meetbot-mail /app/keys \
    && chown -R meetbot:meetbot /app \
    && chmod 700 /app/keys

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
USER 10001:10001

# 3000: guest pages, /healthz and /slack/events (MEETBOT_PORT);
# 2525: the optional SMTP receiver of replies (MEETBOT_INBOUND_SMTP=0.0.0.0:2525).
EXPOSE 3000 2525

# No curl in the slim image: ask /healthz with Python's urllib, bypassing any HTTP(S)_PROXY.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:%s/healthz' % (os.environ.get('MEETBOT_PORT') or '3000'), timeout=4)"]

ENTRYPOINT ["meetbot"]
CMD ["run"]
