"""On SQLite, a GET that writes waits for another writer instead of failing with a 503.

A read transaction that then writes cannot move its snapshot past a commit made meanwhile:
SQLite answers "database is locked" at once. The diary page and `GET /api/v1/me` make the
user's calendar feed on first use, so they declare write intent like a POST. This test holds
SQLite's write lock from a second connection while the request runs.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from estatecrm.activity.models import Activity
from estatecrm.config import Settings
from estatecrm.db.session import SessionDep, create_engine, create_sessionmaker, writes_on_read
from estatecrm.main import create_app
from tests.builders import make_agency, make_user, token_headers
from tests.services import migrate_to_head


def _hold_write_lock(path: Path, locked: threading.Event, seconds: float) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO sli_minute (bucket_at, total, errors, slow) "
            "VALUES ('2031-01-01 00:00:00.000000', 1, 0, 0)"
        )
        locked.set()
        threading.Event().wait(seconds)
        db.execute("COMMIT")
    finally:
        db.close()


async def test_first_me_waits_for_a_writer_and_makes_the_feed(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    url = f"sqlite:///{path}"
    migrate_to_head(url)
    settings = Settings(environment="test", database_url=url, secret_key="t" * 48)
    engine = create_engine(settings)
    try:
        factory = create_sessionmaker(engine)
        async with factory() as session, session.begin():
            user = await make_user(session, await make_agency(session), email="w@agency.test")
            headers = await token_headers(session, user)
        app = create_app(settings)
        app.state.engine, app.state.owns_engine = engine, False
        app.state.sessionmaker = factory

        locked = threading.Event()
        writer = threading.Thread(target=_hold_write_lock, args=(path, locked, 1.0))
        writer.start()
        await asyncio.to_thread(locked.wait, 5)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            r = await c.get("/api/v1/me", headers=headers)
        await asyncio.to_thread(writer.join)
        assert r.status_code == 200, r.text
        assert r.json()["calendar_feed_url"].endswith(".ics")
    finally:
        await engine.dispose()


@pytest.fixture
def make_production_app(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> Any:
    def build() -> Any:
        app = create_app(settings.model_copy(update={"environment": "production"}))
        app.state.owns_engine = False
        app.state.sessionmaker = session_factory
        return app

    return build


def _routes(app: Any, agency_id: int) -> None:
    async def write(session: AsyncSession) -> dict[str, bool]:
        session.add(
            Activity(agency_id=agency_id, entity_type="test", entity_id=1, action="t", summary="")
        )
        return {"ok": True}

    @app.get("/_test/unmarked")
    async def unmarked(session: SessionDep) -> dict[str, bool]:
        return await write(session)

    @app.get("/_test/marked")
    @writes_on_read
    async def marked(session: SessionDep) -> dict[str, bool]:
        return await write(session)


async def _written(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).where(Activity.entity_type == "test")))


async def test_a_get_that_writes_must_say_so(
    app: Any, client: Any, session: AsyncSession, agency: Any
) -> None:
    """Outside production an unmarked GET that writes is a 500 and writes nothing."""
    _routes(app, agency.id)
    assert (await client.get("/_test/unmarked")).status_code == 500
    assert await _written(session) == 0
    assert (await client.get("/_test/marked")).status_code == 200
    assert await _written(session) == 1


async def test_in_production_an_unmarked_write_is_logged(
    make_production_app: Any, session: AsyncSession, agency: Any, caplog: Any
) -> None:
    app = make_production_app()
    _routes(app, agency.id)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.get("/_test/unmarked")
    assert r.status_code == 200 and await _written(session) == 1
    assert "GET /_test/unmarked changed rows without @writes_on_read" in caplog.text
