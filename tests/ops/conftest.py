"""Fixtures for the operations surface: app variants, Redis, fake servers, live processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from estatecrm.config import Settings
from tests.browser import BrowserClient
from tests.services import require_or_skip

TEST_REDIS_URL = os.environ.get("TEST_OPS_REDIS_URL", "redis://127.0.0.1:6379/1")
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nothing listens on (right now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hourly(requests: int, margin: float = 30.0) -> str:
    """A rate limit of `requests` per hour, with at least `margin` seconds of its window left.

    The limiter's sliding window counter is approximate where two fixed windows meet: it
    floors the weighted count of the previous window, so a run of requests that straddles a
    window edge can be allowed one more than the limit. Tests that count refusals exactly
    start their run inside one window; an hour window makes the wait rare.
    """
    left = 3600 - time.time() % 3600
    if left < margin:
        time.sleep(left + 0.1)
    return f"{requests}/hour"


def sample(name: str, **labels: str) -> float:
    """The current value of a metric sample in this process (0 if absent)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def redis_url() -> str:
    """A real Redis (database 1), or a loud skip (a failure under CI=true)."""
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        require_or_skip("Redis", f"{TEST_REDIS_URL}: {exc}")
    finally:
        client.close()
    return TEST_REDIS_URL


@pytest.fixture
def key_prefix() -> str:
    """A Redis key prefix of this test alone (tests run in parallel on one Redis)."""
    return f"estatecrm-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_app(
    settings: Settings, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> Callable[..., Any]:
    """Build the app with some settings changed, sharing the test database transaction."""
    from estatecrm.main import create_app

    def build(**overrides: Any) -> Any:
        application = create_app(settings.model_copy(update=overrides))
        application.state.engine = engine
        application.state.owns_engine = False
        application.state.sessionmaker = session_factory
        return application

    return build


@asynccontextmanager
async def client_for(app: Any, *, browser: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client for an app (browser=True sends CSRF tokens like our pages)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    cls = BrowserClient if browser else httpx.AsyncClient
    async with cls(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers (a hung dependency)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


class Recorder(BaseHTTPRequestHandler):
    """Answers GETs with a canned JSON body and records POSTed JSON bodies."""

    server: Any

    def log_message(self, *_args: Any) -> None:  # keep test output clean
        return

    def do_GET(self) -> None:
        body = json.dumps(self.server.reply).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.posts.append((self.path, json.loads(self.rfile.read(length) or b"null")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def http_stub() -> Iterator[Any]:
    """A small real HTTP server on loopback (a fake service or a fake Alertmanager)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.reply = {}  # type: ignore[attr-defined]
    server.status = 200  # type: ignore[attr-defined]
    server.posts = []  # type: ignore[attr-defined]
    server.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the `estatecrm` command line in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "estatecrm.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


class LiveServer:
    """The CRM running in its own process(es), with its stdout captured."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
        self.proc = proc
        self.url = url
        self.log_path = log_path

    def log_lines(self) -> list[str]:
        """Everything the server wrote to stdout/stderr so far."""
        return self.log_path.read_text(errors="replace").splitlines()

    def stop(self) -> int:
        """SIGTERM and wait (graceful shutdown)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return int(self.proc.returncode)


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Wait until something accepts connections on the port (without sending a request)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("server did not start listening")


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start `estatecrm serve` (uvicorn, or gunicorn with --workers N) on a migrated SQLite DB."""
    started: list[LiveServer] = []

    def start(*, workers: int = 1, **env_overrides: str) -> LiveServer:
        db = tmp_path / f"live-{len(started)}.db"
        env = dict(os.environ)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update(
            {
                "DATABASE_URL": f"sqlite:///{db}",
                "ENVIRONMENT": "development",
                "LOG_LEVEL": "INFO",
                "SLI_FLUSH_INTERVAL_SECONDS": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(env_overrides)
        migrated = cli(env, "db", "upgrade")
        assert migrated.returncode == 0, migrated.stderr
        port = free_port()
        log_path = tmp_path / f"server-{port}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "estatecrm.cli",
                    "serve",
                    "--port",
                    str(port),
                    "--workers",
                    str(workers),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        server = LiveServer(proc, f"http://127.0.0.1:{port}", log_path)
        server.env = env  # type: ignore[attr-defined]
        server.db = db  # type: ignore[attr-defined]
        started.append(server)
        try:
            wait_for_port(port, proc)
        except RuntimeError as exc:
            server.stop()
            pytest.fail(f"{exc}:\n" + "\n".join(server.log_lines()[-40:]))
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(autouse=True)
def _logs_land_in_their_test() -> Iterator[None]:
    """Write queued log lines before the test ends, so they are captured with it."""
    yield
    from estatecrm.ops.logging import flush_logs

    flush_logs()
