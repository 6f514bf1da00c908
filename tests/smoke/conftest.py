"""Smoke tests: against `--base-url=URL` (any deployment), or else against a real multi-worker
gunicorn on PostgreSQL and Redis that this fixture starts (that is what `make test` runs)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from estatecrm.kit.crypto import generate_key
from tests.services import postgres_url, prepare_postgres_database, require_or_skip, run_coroutine

ROOT = Path(__file__).resolve().parents[2]
SMOKE_REDIS_URL = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/2")

# The server `make test` starts: the production gunicorn configuration, two uvicorn workers.
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]


@dataclass(frozen=True)
class SmokeTarget:
    """The deployment under test, and the account the CRUD check may use."""

    base_url: str
    email: str | None
    password: str | None
    started_here: bool


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_problem(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=3).ping()
    except (redis.RedisError, OSError) as exc:
        return f"cannot reach Redis at {url} ({exc})"
    return None


def _cli(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "estatecrm.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    if result.returncode != 0:
        pytest.fail(f"estatecrm {' '.join(args[:2])} failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def smoke_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SmokeTarget]:
    """The deployment the smoke tests talk to."""
    base_url = request.config.getoption("--base-url")
    if base_url:
        yield SmokeTarget(
            base_url=str(base_url).rstrip("/"),
            email=os.environ.get("SMOKE_EMAIL") or None,
            password=os.environ.get("SMOKE_PASSWORD") or None,
            started_here=False,
        )
        return
    yield from _start_gunicorn(tmp_path_factory)


def _start_gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmokeTarget]:
    database_url = postgres_url(f"smoke_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    problem = run_coroutine(prepare_postgres_database(database_url))
    if problem:
        require_or_skip("PostgreSQL", problem)
    problem = _redis_problem(SMOKE_REDIS_URL)
    if problem:
        require_or_skip("Redis", problem)
    email, password = "smoke-manager@smoke.test", secrets.token_urlsafe(18)
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VAULT_", "SMOKE_")) and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        {
            "ENVIRONMENT": "production",
            "DATABASE_URL": database_url,
            "REDIS_URL": SMOKE_REDIS_URL,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "FIELD_ENCRYPTION_KEYS": generate_key(),
            "LOG_LEVEL": "WARNING",
            "WEB_CONCURRENCY": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("prometheus-multiproc")),
        }
    )
    _cli(env, "db", "upgrade")
    _cli(
        env,
        *("users", "create", "--agency", "Smoke Test Agency", "--email", email),
        *("--password", password, "--role", "manager"),
    )
    log_path = tmp_path_factory.getbasetemp() / f"smoke-gunicorn-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*GUNICORN, "--bind", f"127.0.0.1:{port}", "estatecrm.main:app"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, proc, log_path)
            yield SmokeTarget(base, email, password, started_here=True)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _wait_until_up(base: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            if httpx.get(f"{base}/openapi.json", timeout=3).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    pytest.fail(f"gunicorn did not answer within 90 s:\n{log_path.read_text()[-4000:]}")
