"""Engine, session factory and the one-transaction-per-request session dependency."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session

from estatecrm.config import Settings
from estatecrm.db import relations, scoping
from estatecrm.kit import crypto

WRITE_INTENT = "estatecrm_write_intent"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITES_ON_READ = "__estatecrm_writes_on_read__"
_READ_ONLY = "estatecrm_read_only_request"
_STRICT = "estatecrm_strict_read_only"
log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, own transactions (savepoints work) and make SQLite
    # behave like a server database: WAL for concurrent readers, foreign keys enforced.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # A request that writes takes SQLite's write lock up front (waiting up to busy_timeout):
    # a deferred transaction that reads first and writes later fails at once with "database
    # is locked" when another connection wrote in between. Reads stay deferred, so they never
    # queue behind a writer (WAL lets them run alongside it).
    if conn.get_execution_options().get(WRITE_INTENT):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def create_engine(settings: Settings) -> AsyncEngine:
    """An async engine for the configured database, with SQLite made to behave."""
    url = settings.async_database_url
    if settings.is_sqlite:
        path = settings.sqlite_path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=settings.db_echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    else:
        engine = _postgres_engine(settings, url)
    if settings.is_development:
        # A developer's copy (and every server the tests start) fails unscoped SQL at once.
        scoping.install_guard()
    # Encrypted columns use the keys of the settings this engine was built from.
    crypto.attach(engine.dialect, crypto.keyring_for(settings))
    return engine


def _postgres_engine(settings: Settings, url: str) -> AsyncEngine:
    return create_async_engine(
        url,
        echo=settings.db_echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
        # Plan every statement for its own parameters. asyncpg prepares statements, and after
        # five runs PostgreSQL may switch to a generic plan that ignores the values. With one
        # large agency beside many small ones that is the wrong plan: a filtered count of the
        # large agency walked all its rows by `agency_id` (45 ms instead of 2 ms at 100,000
        # properties; bench/README.md). Planning these statements costs well under a ms.
        connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan"}},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory the app and the CLI use."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


F = TypeVar("F", bound=Callable[..., Any])


def writes_on_read(endpoint: F) -> F:
    """Mark a GET endpoint that may write (something made on first use, a last-used stamp).

    Its transaction declares write intent like a POST's. On SQLite that matters: a read
    transaction that later writes fails at once with "database is locked" (a 503) if another
    connection committed in between — SQLite cannot move its snapshot forward — whereas one
    that takes the write lock up front simply waits its turn.
    """
    setattr(endpoint, _WRITES_ON_READ, True)
    return endpoint


def _may_write(request: Request) -> bool:
    if request.method not in SAFE_METHODS:
        return True
    return bool(getattr(request.scope.get("endpoint"), _WRITES_ON_READ, False))


class UnmarkedWrite(RuntimeError):
    """A GET wrote without `@writes_on_read` (raised outside production, logged in it)."""


def _read_only(session: Session) -> str | None:
    return session.info.get(_READ_ONLY)


def _refuse_write(session: Session, what: str) -> None:
    path = _read_only(session)
    if path is None:
        return
    message = f"GET {path} {what} without @writes_on_read (on SQLite that can fail with 503)"
    if session.info.get(_STRICT):
        raise UnmarkedWrite(message)
    log.error(message)
    session.info.pop(_READ_ONLY)  # once per request is enough


@event.listens_for(Session, "before_flush")
def _writes_in_flush(session: Session, _context: Any, _instances: Any) -> None:
    if _read_only(session) is None:
        return
    if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
        _refuse_write(session, "changed rows")


@event.listens_for(Session, "do_orm_execute")
def _writes_in_statement(state: ORMExecuteState) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and _read_only(state.session):
        _refuse_write(state.session, "ran an INSERT, UPDATE or DELETE")


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request: commit on success, roll back on error."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with factory() as session:
        relations.attach(session, request.app.state.relations)
        # What else the entry point hands every session (the job runtime: jobs.defer, emit).
        session.info.update(getattr(request.app.state, "session_info", {}))
        try:
            if _may_write(request):
                await session.connection(execution_options={WRITE_INTENT: True})  # type: ignore[misc]
            else:
                # A GET that writes must say so (see writes_on_read): refused in development
                # and tests, where it is a bug to fix, and logged in production.
                session.info[_READ_ONLY] = request.url.path
                session.info[_STRICT] = request.app.state.settings.environment != "production"
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": commit BEFORE the response is sent. With FastAPI's default ("request")
# the commit ran after the client already had its 201, so an acknowledged write could still
# fail to commit, and a client's next request could start before the previous one committed
# (on SQLite that surfaced as "database is locked" under a single sequential client).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
