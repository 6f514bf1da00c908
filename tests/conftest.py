"""Test harness: every database test runs on SQLite and on a real PostgreSQL.

The schema is built by running the migrations; each test runs inside a transaction that is
rolled back, and the app under test shares that connection (requests commit savepoints).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

os.environ.setdefault("ENVIRONMENT", "test")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

from estatecrm import models  # noqa: F401  (every table, as the entry points load them)
from estatecrm.config import Settings
from estatecrm.db import relations, scoping
from estatecrm.db.session import create_engine
from estatecrm.features import build_relations
from estatecrm.ops.metrics import instrument_engine
from tests.browser import BrowserClient
from tests.builders import make_agency, make_user, token_headers
from tests.services import (
    CI,
    migrate_to_head,
    postgres_url,
    prepare_postgres_database,
    require_or_skip,
    run_coroutine,
)

BACKENDS = ["sqlite", "postgresql"]

# Every SELECT, UPDATE or DELETE on an agency-owned table, anywhere in the suite, must carry
# the agency criterion or be marked cross-agency (tests/db/test_scoping.py proves it bites).
scoping.install_guard()
_skipped_backends: dict[str, str] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--base-url", default=None, help="Deployed service for tests/smoke")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for backend, reason in _skipped_backends.items():
        terminalreporter.write_sep("!", f"{backend.upper()} TESTS SKIPPED: {reason}", red=True)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty test database of each kind (one per xdist worker)."""
    backend: str = request.param
    if backend == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "test.db"
        url = f"sqlite:///{path}"
    else:
        url = postgres_url(_worker())
        problem = run_coroutine(prepare_postgres_database(url))
        if problem:
            _skipped_backends["postgresql"] = problem
            require_or_skip("PostgreSQL", problem)
    migrate_to_head(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for the app under test (files go to a temporary directory, not var/media)."""
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key="t" * 48,
        storage_local_dir=tmp_path_factory.mktemp("media"),
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The engine for the test database."""
    eng = create_engine(settings)
    instrument_engine(eng)  # as create_app's lifespan does
    yield eng
    await eng.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that is rolled back when the test ends."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        try:
            yield conn
        finally:
            if trans.is_active:
                await trans.rollback()


@pytest.fixture
def session_factory(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions bound to the test connection; their commits only release savepoints."""
    return async_sessionmaker(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
async def session(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for building data and checking results, across agencies.

    Builders bind the agency they act for (`scoping.as_agency`), as the app does per request.
    """
    async with session_factory() as s:
        scoping.cross_agency_session(s, "tests build and check data of several agencies")
        yield relations.attach(s, build_relations())


@pytest.fixture
def app(
    settings: Settings, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> Any:
    """The application, sharing the test transaction."""
    from estatecrm.main import create_app

    application = create_app(settings)
    application.state.engine = engine
    application.state.owns_engine = False
    application.state.sessionmaker = session_factory
    return application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process, sending CSRF tokens as our pages do."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with BrowserClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def raw_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client: sends only what the test gives it (no CSRF token)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def agency(session: AsyncSession) -> Any:
    """The agency most tests act in."""
    return await make_agency(session, "Test Lettings")


@pytest.fixture
async def admin(session: AsyncSession, agency: Any) -> Any:
    """An admin of the test agency."""
    return await make_user(session, agency, role="admin", email="admin@agency.test")


@pytest.fixture
async def headers(session: AsyncSession, admin: Any) -> dict[str, str]:
    """Bearer headers of the test agency's admin."""
    return await token_headers(session, admin)


@pytest.fixture
async def other_agency(session: AsyncSession) -> Any:
    """A second agency, whose data the first must never see."""
    return await make_agency(session, "Rival Estates")


@pytest.fixture
async def other_headers(session: AsyncSession, other_agency: Any) -> dict[str, str]:
    """Bearer headers of an admin of the other agency."""
    user = await make_user(session, other_agency, role="admin", email="admin@rival.test")
    return await token_headers(session, user)


@pytest.fixture(autouse=True)
def _no_resource_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        yield


__all__ = ["CI"]
