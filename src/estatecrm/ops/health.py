"""`GET /health` and `GET /health?detailed=true`.

Every check runs concurrently with its own short timeout, so the endpoint answers within
two seconds even when a dependency hangs. The database is required (unreachable → 503,
`unhealthy`); Redis, memory, disk and migrations only degrade the service (200, `degraded`),
and so does demo data (`estatecrm demo` accounts) found in a production database.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import psutil
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from estatecrm import __version__
from estatecrm.config import Settings
from estatecrm.kit.clock import utcnow
from estatecrm.ops import metrics

log = logging.getLogger("estatecrm.health")

CHECK_TIMEOUT_SECONDS = 1.5
MEMORY_DEGRADED_RATIO = 0.95
DISK_DEGRADED_FREE_MB = 500

HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"

router = APIRouter(tags=["operations"])


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration this code ships (read once from the migrations folder)."""
    from estatecrm.db.migrations import head_revision as alembic_head

    return alembic_head()


async def _timed(
    name: str, check: Callable[[], Awaitable[dict[str, Any]]], failure: str
) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return await check()
    except TimeoutError:
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        return {"status": failure, "error": f"no answer within {elapsed:.0f} ms"}
    except Exception as exc:  # the check reports the failure instead of raising it
        log.warning("health check failed", extra={"check": name, "error": repr(exc)[:300]})
        return {"status": failure, "error": exc.__class__.__name__}


async def check_database(engine: AsyncEngine) -> dict[str, Any]:
    """A real round trip, and the pool's state."""
    started = time.perf_counter()
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    latency = (time.perf_counter() - started) * 1000
    # The pool figures are this worker's own; /metrics has one series per worker (pid).
    return {
        "status": HEALTHY,
        "latency_ms": round(latency, 2),
        **metrics.pool_stats(engine),
        "worker_pid": os.getpid(),
    }


async def check_migrations(engine: AsyncEngine) -> dict[str, Any]:
    """The database's revision against the newest one the code ships."""
    async with engine.connect() as conn:
        current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    head = await asyncio.to_thread(head_revision)
    return {"status": HEALTHY if current == head else DEGRADED, "current": current, "head": head}


async def check_redis(client: Redis | None) -> dict[str, Any]:
    """`disabled` without REDIS_URL; otherwise a PING."""
    if client is None:
        return {"status": "disabled"}
    started = time.perf_counter()
    await client.ping()
    return {"status": HEALTHY, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


async def check_memory() -> dict[str, Any]:
    """The host's memory and this worker's own use."""
    vm = psutil.virtual_memory()
    ratio = vm.percent / 100.0
    rss = psutil.Process().memory_info().rss
    return {
        "status": HEALTHY if ratio < MEMORY_DEGRADED_RATIO else DEGRADED,
        "used_mb": round((vm.total - vm.available) / 2**20, 1),
        "available_mb": round(vm.available / 2**20, 1),
        "usage_ratio": round(ratio, 4),
        "process_rss_mb": round(rss / 2**20, 1),
    }


def data_directory(settings: Settings) -> Path:
    """Where the service keeps its data on this host (the SQLite file's folder, or ./var)."""
    path = settings.sqlite_path
    folder = path.parent if path is not None else Path("var")
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder.resolve()


async def check_disk(settings: Settings) -> dict[str, Any]:
    """Free space where data lives."""
    folder = data_directory(settings)
    usage = await asyncio.to_thread(psutil.disk_usage, str(folder))
    free_mb = usage.free / 2**20
    return {
        "status": HEALTHY if free_mb >= DISK_DEGRADED_FREE_MB else DEGRADED,
        "path": str(folder),
        "free_mb": round(free_mb, 1),
        "total_mb": round(usage.total / 2**20, 1),
    }


# Counts demo accounts; wired by create_app() (ops cannot import the auth feature).
DemoAccountsProbe = Callable[[AsyncSession], Awaitable[int]]


async def check_demo_data(
    sessions: async_sessionmaker[AsyncSession], probe: DemoAccountsProbe, settings: Settings
) -> dict[str, Any]:
    """Demo accounts in the database: expected in development, a problem in production."""
    async with sessions() as session:
        found = await probe(session)
    if found and settings.environment == "production":
        return {
            "status": DEGRADED,
            "demo_accounts": found,
            "error": "demo accounts exist in a production database: remove them",
        }
    return {"status": HEALTHY, "demo_accounts": found}


def redis_client(settings: Settings) -> Redis | None:
    """A Redis client for health checks (short timeouts, no retries), or None."""
    if not settings.redis_url:
        return None
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=1.0,
        socket_connect_timeout=1.0,
        retry=Retry(NoBackoff(), 0),
    )


def _overall(checks: dict[str, dict[str, Any]]) -> str:
    if checks["database"]["status"] != HEALTHY:
        return UNHEALTHY
    if any(c.get("status") in (DEGRADED, UNHEALTHY) for c in checks.values()):
        return DEGRADED
    return HEALTHY


@router.get("/health")
async def health(
    request: Request,
    detailed: bool = Query(False, description="Include every component check"),
) -> JSONResponse:
    """Service health: 200 when healthy or degraded, 503 when the database is unreachable."""
    app_state = request.app.state
    settings: Settings = app_state.settings
    engine: AsyncEngine = app_state.engine
    body: dict[str, Any] = {
        "status": HEALTHY,
        "timestamp": utcnow().isoformat(),
        "version": __version__,
        "environment": settings.environment,
        "uptime_seconds": round(time.monotonic() - app_state.started_monotonic, 1),
    }
    if not detailed:
        database = await _timed("database", lambda: check_database(engine), UNHEALTHY)
        if database["status"] != HEALTHY:
            metrics.database_unreachable()
            body["status"] = UNHEALTHY
        return JSONResponse(body, status_code=503 if body["status"] == UNHEALTHY else 200)

    names = ["database", "redis", "memory", "disk", "migrations"]
    results = await asyncio.gather(
        _timed("database", lambda: check_database(engine), UNHEALTHY),
        _timed("redis", lambda: check_redis(app_state.health_redis), UNHEALTHY),
        _timed("memory", check_memory, DEGRADED),
        _timed("disk", lambda: check_disk(settings), DEGRADED),
        _timed("migrations", lambda: check_migrations(engine), DEGRADED),
    )
    checks = dict(zip(names, results, strict=True))
    probe: DemoAccountsProbe | None = getattr(app_state, "demo_accounts_probe", None)
    if probe is not None and checks["database"]["status"] == HEALTHY:
        sessions = app_state.sessionmaker
        checks["demo_data"] = await _timed(
            "demo_data", lambda: check_demo_data(sessions, probe, settings), DEGRADED
        )
    if checks["database"]["status"] != HEALTHY:
        metrics.database_unreachable()
        checks["migrations"] = {"status": "unknown", "current": None, "head": head_revision()}
    limiter = getattr(app_state, "rate_limiter", None)
    if limiter is not None and settings.redis_url:
        checks["redis"]["rate_limits"] = limiter.backend
    body["status"] = _overall(checks)
    body["checks"] = checks
    return JSONResponse(body, status_code=503 if body["status"] == UNHEALTHY else 200)
