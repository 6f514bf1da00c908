"""Real processes for the disaster-recovery tests: the CLI, a live server, scratch databases."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.builders import property_payload
from tests.services import postgres_url, prepare_postgres_database, require_or_skip, run_coroutine

# Settings a developer's shell might export that must not leak into the processes under test.
SCRUBBED = (
    "DATABASE_URL",
    "SECRET_KEY",
    "SECRET_KEY_PREVIOUS",
    "FIELD_ENCRYPTION_KEYS",
    "VAULT_ADDR",
    "VAULT_TOKEN",
    "VAULT_SECRET_PATH",
    "VAULT_MOUNT",
    "BACKUP_DIR",
    "PG_BIN_DIR",
)
DEMO_ADMIN = ("admin@demo.estatecrm.test", "demo-password-2026")


def worker() -> str:
    """The xdist worker name (scratch database names must not collide)."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def scratch_database_url(kind: str, tmp_path: Path, name: str) -> str:
    """An empty database of the kind: a SQLite file, or a fresh PostgreSQL database."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / (name + '.db')}"
    url = postgres_url(f"{name}_{worker()}")
    problem = run_coroutine(prepare_postgres_database(url))
    if problem:
        require_or_skip("PostgreSQL", problem)
    return url


def cli_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for the CLI and server processes."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(
        {
            "DATABASE_URL": database_url,
            "ENVIRONMENT": "development",
            "LOG_LEVEL": "WARNING",
            "BACKUP_DIR": str(tmp_path / "backups"),
            "SECRET_KEY": "dr-tests-secret-key-" + "x" * 30,
            # The round-trip tests write as fast as they can; the limiter is not under test.
            "RATE_LIMIT_ENABLED": "false",
        }
    )
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run `estatecrm ARGS` in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "estatecrm.cli", *args],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Assert a CLI run succeeded, showing its output when it did not."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(
    base: str, proc: subprocess.Popen[bytes], log: Path, path: str = "/login"
) -> None:
    """Wait for a server to answer, failing with its log if it dies or never does."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(base + path, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.25)
    proc.kill()
    pytest.fail(f"server did not start:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server process we started (SIGTERM, then SIGKILL)."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextmanager
def live_server(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`estatecrm serve` (uvicorn) in its own process; yields its base URL."""
    port = free_port()
    log = tmp_path / f"server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "estatecrm.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base, proc, log)
            yield base
        finally:
            stop(proc)


def api_token(base: str, email: str, password: str) -> str:
    """Sign in through the API."""
    r = httpx.post(
        f"{base}/api/v1/auth/token", json={"email": email, "password": password}, timeout=10
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


class Writer(threading.Thread):
    """Keeps creating properties through the API, recording each one the server acknowledged."""

    def __init__(self, base: str, token: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}
        self.acked: list[int] = []
        self.failures: list[str] = []
        self._stop_event = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=30) as client:
            i = 0
            while not self._stop_event.is_set():
                i += 1
                body = property_payload(reference=f"LIVE-{i}", address_line1=f"{i} Live Street")
                try:
                    r = client.post("/api/v1/properties", json=body)
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    continue
                if r.status_code == 201:
                    with self._lock:
                        self.acked.append(int(r.json()["id"]))
                else:
                    self.failures.append(f"{r.status_code} {r.text[:200]}")

    def acknowledged(self) -> list[int]:
        """Ids created so far."""
        with self._lock:
            return list(self.acked)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        """Block until `count` writes have been acknowledged."""
        deadline = time.monotonic() + timeout
        while len(self.acknowledged()) < count:
            assert not self.failures, self.failures[:3]
            assert time.monotonic() < deadline, "the server stopped accepting writes"
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop writing and wait for the thread."""
        self._stop_event.set()
        self.join(timeout=30)


def read_manifest(archive: Path) -> dict[str, Any]:
    """The manifest of a backup archive, read straight from the tar."""
    with tarfile.open(archive, "r:gz") as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        return dict(json.loads(member.read()))


def rewrite_archive(archive: Path, target: Path, edit: Any) -> None:
    """Copy an archive, letting `edit(workdir)` change its files first."""
    work = target.parent / (target.name + ".work")
    work.mkdir()
    with tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
        tar.extractall(work, filter="data")
    edit(work)
    with tarfile.open(target, "w:gz") as tar:
        for name in names:
            tar.add(work / name, arcname=name)
