# syntax=docker/dockerfile:1
#
# Estate Agent CRM production image.
#
#   docker build -t estatecrm:$(git rev-parse --short HEAD) .
#
# Stage 1 builds the package and its dependencies into a virtualenv; stage 2
# copies only that virtualenv plus the files needed at run time (Alembic
# migrations and the gunicorn config) into a clean slim image that runs as an
# unprivileged user. No secret is baked in: SECRET_KEY, DATABASE_URL and the
# rest come from the environment at run time (see compose.yml, docs/runbook.md).
#
# The runtime image carries the PostgreSQL client tools (pg_dump, pg_restore, psql) of
# the server's major version, PG_MAJOR (16, as compose.yml's postgres:16), from the
# PostgreSQL project's apt repository: `estatecrm backup create/verify/restore` need a
# pg_dump at least as new as the server. Change PG_MAJOR with the server:
#   docker build --build-arg PG_MAJOR=17 ...

ARG PYTHON_VERSION=3.12

FROM python:${PYTHON_VERSION}-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /build
RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

# Only what the wheel build needs: changes elsewhere in the repo (docs, tests)
# do not invalidate this layer.
COPY pyproject.toml README.md ./
COPY src/ ./src/
RUN pip install --no-cache-dir . \
    && pip check


FROM python:${PYTHON_VERSION}-slim AS runtime

ARG PG_MAJOR=16

LABEL org.opencontainers.image.title="estatecrm" \
      org.opencontainers.image.description="Estate Agent CRM" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later"

ENV PATH="/opt/venv/bin:/usr/lib/postgresql/${PG_MAJOR}/bin:${PATH}" \
    PG_BIN_DIR=/usr/lib/postgresql/${PG_MAJOR}/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus

# PostgreSQL client tools of the server's major version (the Debian package puts them in
# /usr/lib/postgresql/$PG_MAJOR/bin, which PATH and PG_BIN_DIR above name). curl is only
# needed to fetch the repository's signing key and is removed again.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && install -d /usr/share/postgresql-common/pgdg \
    && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
        https://www.postgresql.org/media/keys/ACCC4CF8.asc \
    && . /etc/os-release \
    && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" \
        > /etc/apt/sources.list.d/pgdg.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" \
    && apt-get purge -y --auto-remove curl \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid/gid so volume permissions are predictable across hosts. /app/var
# holds the SQLite database when DATABASE_URL is not set (single-host installs:
# mount a volume there) and /app/var/backups the backups (BACKUP_DIR; compose.yml mounts
# a volume there); the metrics directory is shared by the workers.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /tmp/prometheus /app/var/backups \
    && chown app:app /tmp/prometheus /app/var /app/var/backups

WORKDIR /app

# Code and config stay owned by root: the app user can read them, not change them.
COPY --from=builder /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations/ ./migrations/
COPY deploy/gunicorn.conf.py ./deploy/gunicorn.conf.py

USER 10001:10001

EXPOSE 8000

# slim has no curl: use the interpreter that is already there. urlopen raises
# on any non-2xx answer (e.g. 503), which makes the check fail.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/health', timeout=4)"]

CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "estatecrm.main:app"]
