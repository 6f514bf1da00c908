"""Shared pieces of the benchmarks: scratch databases, a served app, timing loops."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_BASE = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/estatecrm_bench"
)


def scratch_url(kind: str, name: str) -> str:
    """A fresh, migrated scratch database of the given kind."""
    from tests.services import migrate_to_head, prepare_postgres_database

    if kind == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="estatecrm-bench-")) / f"{name}.db"
        url = f"sqlite:///{path}"
    else:
        url = PG_BASE.rsplit("/", 1)[0] + f"/estatecrm_bench_{name}"
        problem = asyncio.run(prepare_postgres_database(url))
        if problem:
            raise SystemExit(f"PostgreSQL unavailable: {problem}")
    migrate_to_head(url)
    return url


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(url: str, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """The CRM served by one uvicorn worker on `url`'s database; yields the base URL."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": url,
            "ENVIRONMENT": "development",
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_ENABLED": "false",
            "DB_POOL_SIZE": "5",
        }
    )
    env.update(extra_env or {})
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "estatecrm.main:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 / p95 / max in milliseconds."""
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": q[49], "p95": q[94], "max": ordered[-1], "n": len(ordered)}


def time_requests(
    client: httpx.Client, make_path: Callable[[int], str], count: int, warmup: int = 10
) -> dict[str, float]:
    """Send `count` sequential GETs (after a warm-up) and return latency percentiles in ms."""
    for i in range(warmup):
        client.get(make_path(i)).raise_for_status()
    samples: list[float] = []
    for i in range(count):
        start = time.perf_counter()
        r = client.get(make_path(i))
        samples.append((time.perf_counter() - start) * 1000)
        r.raise_for_status()
    return percentiles(samples)


def print_table(title: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
    """A plain-text table of percentiles."""
    print(f"\n{title}")
    print(f"  {'request':<34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'n':>5}")
    for name, r in rows:
        print(f"  {name:<34} {r['p50']:>8.2f} {r['p95']:>8.2f} {r['max']:>8.2f} {int(r['n']):>5}")
