"""`/health` and `/health?detailed=true` against real dependencies, healthy and failing."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from alembic import command

from estatecrm.config import Settings
from estatecrm.db.migrations import alembic_config, head_revision
from estatecrm.db.session import create_engine, create_sessionmaker
from estatecrm.main import create_app
from tests.ops.conftest import client_for, free_port, sample


async def test_basic_health(raw_client: Any) -> None:
    r = await raw_client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"status", "timestamp", "version", "environment", "uptime_seconds"}
    assert body["status"] == "healthy"
    assert body["environment"] == "test"
    assert body["version"] == "0.1.0"
    assert body["uptime_seconds"] >= 0


async def test_detailed_health_checks_every_component(raw_client: Any) -> None:
    r = await raw_client.get("/health", params={"detailed": "true"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "healthy"
    checks = body["checks"]
    db = checks["database"]
    assert db["status"] == "healthy" and db["latency_ms"] > 0
    assert {"pool_size", "pool_available", "pool_overflow"} <= set(db)
    assert db["pool_size"] >= 1
    assert db["worker_pid"] == os.getpid()  # the pool shown is this worker's own
    assert checks["redis"] == {"status": "disabled"}
    assert checks["memory"]["used_mb"] > 0 and checks["memory"]["available_mb"] > 0
    assert checks["disk"]["free_mb"] > 0
    assert checks["migrations"] == {
        "status": "healthy",
        "current": head_revision(),
        "head": head_revision(),
    }


async def test_redis_healthy_when_reachable(make_app: Any, redis_url: str) -> None:
    async with client_for(make_app(redis_url=redis_url)) as c:
        body = (await c.get("/health?detailed=true")).json()
    assert body["checks"]["redis"]["status"] == "healthy"
    assert body["checks"]["redis"]["rate_limits"] == "redis"
    assert body["status"] == "healthy"


async def test_redis_down_degrades_but_answers_200(make_app: Any) -> None:
    app = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/1")
    async with client_for(app) as c:
        r = await c.get("/health?detailed=true")
    assert r.status_code == 200
    assert r.json()["status"] == "degraded"
    assert r.json()["checks"]["redis"]["status"] == "unhealthy"


async def test_hung_redis_still_answers_within_two_seconds(make_app: Any, silent_port: int) -> None:
    app = make_app(redis_url=f"redis://127.0.0.1:{silent_port}/1")
    async with client_for(app) as c:
        started = time.monotonic()
        r = await c.get("/health?detailed=true")
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert r.status_code == 200
    assert r.json()["checks"]["redis"]["status"] == "unhealthy"


def _app_on(database_url: str, **overrides: Any) -> Any:
    settings = Settings(
        environment="test", database_url=database_url, secret_key="t" * 48, **overrides
    )
    app = create_app(settings)
    app.state.engine = create_engine(settings)
    app.state.owns_engine = True
    app.state.sessionmaker = create_sessionmaker(app.state.engine)
    return app


async def test_database_unreachable_is_unhealthy_503() -> None:
    app = _app_on(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    before = sample("database_connection_errors_total")
    try:
        async with client_for(app) as c:
            basic = await c.get("/health")
            detailed = await c.get("/health?detailed=true")
            # Ordinary requests that need the database answer 503, not 500.
            api = await c.get("/api/v1/me", headers={"Authorization": "Bearer whatever"})
    finally:
        await app.state.engine.dispose()
    assert basic.status_code == 503 and basic.json()["status"] == "unhealthy"
    assert detailed.status_code == 503
    body = detailed.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"]["status"] == "unhealthy"
    assert body["checks"]["memory"]["status"] == "healthy"
    assert api.status_code == 503
    assert api.json()["error"].startswith("Database unavailable")
    assert api.json()["request_id"] == api.headers["x-request-id"]
    assert "traceback" not in api.text.lower()
    assert sample("database_connection_errors_total") >= before + 3


async def test_hung_database_answers_503_within_two_seconds(silent_port: int) -> None:
    app = _app_on(f"postgresql://postgres@127.0.0.1:{silent_port}/hung")
    try:
        async with client_for(app) as c:
            started = time.monotonic()
            r = await c.get("/health?detailed=true")
            elapsed = time.monotonic() - started
    finally:
        await app.state.engine.dispose()
    assert elapsed < 2.0
    assert r.status_code == 503
    assert r.json()["checks"]["database"]["status"] == "unhealthy"


async def test_migrations_behind_head_degrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    cfg = alembic_config(url)
    cfg.attributes["configure_logger"] = False
    await asyncio.to_thread(command.upgrade, cfg, "0001_foundation")
    app = _app_on(url)
    try:
        async with client_for(app) as c:
            r = await c.get("/health?detailed=true")
    finally:
        await app.state.engine.dispose()
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "degraded"
    assert body["checks"]["migrations"] == {
        "status": "degraded",
        "current": "0001_foundation",
        "head": head_revision(),
    }


async def test_demo_accounts_degrade_a_production_database(
    make_app: Any, session: Any, agency: Any
) -> None:
    from estatecrm.auth.service import DEMO_EMAIL_DOMAIN
    from tests.builders import make_user

    async with client_for(make_app(environment="production")) as c:
        clean = (await c.get("/health?detailed=true")).json()
    assert clean["checks"]["demo_data"] == {"status": "healthy", "demo_accounts": 0}
    await make_user(session, agency, email=f"admin@{DEMO_EMAIL_DOMAIN}")
    async with client_for(make_app(environment="production")) as c:
        r = await c.get("/health?detailed=true")
        basic = await c.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "degraded"
    assert body["checks"]["demo_data"]["status"] == "degraded"
    assert body["checks"]["demo_data"]["demo_accounts"] == 1
    assert basic.json()["status"] == "healthy"  # the load balancer keeps routing to it
    # Outside production demo data is expected.
    async with client_for(make_app(environment="development")) as c:
        dev = (await c.get("/health?detailed=true")).json()
    assert dev["checks"]["demo_data"] == {"status": "healthy", "demo_accounts": 1}


def test_demo_is_refused_in_production(tmp_path: Path) -> None:
    import os

    from estatecrm.kit.crypto import generate_key
    from tests.ops.conftest import cli

    db = tmp_path / "prod.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env.update(
        ENVIRONMENT="production",
        SECRET_KEY="x" * 48,
        FIELD_ENCRYPTION_KEYS=generate_key(),
        DATABASE_URL=f"sqlite:///{db}",
    )
    proc = cli(env, "demo")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Refused" in proc.stderr and "ENVIRONMENT=production" in proc.stderr
    assert not db.exists()  # not even migrated
