"""Finding the real services tests need, and failing loudly in CI when one is missing."""

from __future__ import annotations

import os
import warnings
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/estatecrm_test"
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"
T = TypeVar("T")


def require_or_skip(what: str, reason: str) -> None:
    """Skip with a loud reason on a developer's machine; fail under CI=true."""
    message = f"{what} is not available: {reason}"
    if CI:
        pytest.fail(f"{message} (CI=true: this is a failure, not a skip)", pytrace=False)
    warnings.warn(message, stacklevel=2)
    pytest.skip(f"!!! {message} — these tests were NOT run")


def postgres_url(suffix: str) -> str:
    """The PostgreSQL test database for one xdist worker."""
    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
    parts = urlsplit(base)
    name = parts.path.lstrip("/") or "estatecrm_test"
    if suffix != "main":
        name = f"{name}_{suffix}"
    return urlunsplit(parts._replace(path="/" + name))


async def prepare_postgres_database(url: str, *, fresh: bool = True) -> str | None:
    """Create the database if missing and empty its schema; the problem text if unreachable."""
    import asyncpg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_dsn = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    try:
        conn = await asyncpg.connect(admin_dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"cannot connect to {parts.hostname}:{parts.port or 5432} ({exc})"
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    if fresh:
        conn = await asyncpg.connect(urlunsplit(parts._replace(scheme="postgresql")), timeout=5)
        try:
            await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()
    return None


def migrate_to_head(url: str) -> None:
    """Build the schema by running every migration."""
    from alembic import command

    from estatecrm.db.migrations import alembic_config

    cfg = alembic_config(url)
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous test code, in a fresh event loop on its
    own thread (safe even when the thread already has a running loop, as Playwright's sync API
    leaves behind after the browser tests)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def whole_database_engine(settings: Any) -> Any:
    """An engine for a test's checks over a whole database (every agency's rows, raw SQL)."""
    from estatecrm.db.scoping import CROSS_AGENCY
    from estatecrm.db.session import create_engine

    engine = create_engine(settings)
    engine.sync_engine.update_execution_options(**{CROSS_AGENCY: "test: whole-database checks"})
    return engine
