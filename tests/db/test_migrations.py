"""Migrations: upgrade → downgrade → upgrade with data present, and no drift from the models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from estatecrm.cli import demo_data
from estatecrm.cli.common import session_scope
from estatecrm.config import Settings
from estatecrm.db.migrations import alembic_config, head_revision, ours
from estatecrm.models import Model
from tests.services import (
    postgres_url,
    prepare_postgres_database,
    require_or_skip,
    run_coroutine,
    whole_database_engine,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind, separate from the shared test database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    url = postgres_url(f"migrations_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    problem = run_coroutine(prepare_postgres_database(url))
    if problem:
        require_or_skip("PostgreSQL", problem)
    return url


def _engine(url: str) -> AsyncEngine:
    """An engine for checking a scratch database: its raw SQL reads every agency's rows."""
    engine: AsyncEngine = whole_database_engine(Settings(database_url=url))
    return engine


def _cfg(url: str):  # type: ignore[no-untyped-def]
    cfg = alembic_config(url)
    cfg.attributes["configure_logger"] = False
    return cfg


async def _scalar(url: str, sql: str) -> object:
    engine = _engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar()
    finally:
        await engine.dispose()


async def _seed(url: str) -> None:
    engine = _engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO agency (name, require_aml_for_offers, created_at, updated_at) "
                    "VALUES ('Migrating Agency', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
    finally:
        await engine.dispose()


async def _drift(url: str) -> list[object]:
    engine = _engine(url)
    try:
        async with engine.connect() as conn:

            def compare(sync_conn):  # type: ignore[no-untyped-def]
                ctx = MigrationContext.configure(
                    sync_conn,
                    opts={
                        "compare_type": True,
                        "compare_server_default": True,
                        "include_object": ours,
                    },
                )
                return compare_metadata(ctx, Model.metadata)

            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


def test_upgrade_downgrade_upgrade_with_data(scratch_url: str) -> None:
    cfg = _cfg(scratch_url)
    command.upgrade(cfg, "head")
    run_coroutine(_seed(scratch_url))
    assert (
        run_coroutine(_scalar(scratch_url, "SELECT version_num FROM alembic_version"))
        == head_revision()
    )
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")
    assert run_coroutine(_scalar(scratch_url, "SELECT count(*) FROM agency")) == 0
    run_coroutine(_seed(scratch_url))
    assert run_coroutine(_scalar(scratch_url, "SELECT count(*) FROM agency")) == 1


def test_step_by_step_downgrade_and_upgrade(scratch_url: str) -> None:
    cfg = _cfg(scratch_url)
    command.upgrade(cfg, "head")
    run_coroutine(_seed(scratch_url))
    command.downgrade(cfg, "-1")
    command.upgrade(cfg, "head")
    assert (
        run_coroutine(_scalar(scratch_url, "SELECT version_num FROM alembic_version"))
        == head_revision()
    )


def test_models_and_migrations_do_not_drift(scratch_url: str) -> None:
    command.upgrade(_cfg(scratch_url), "head")
    assert run_coroutine(_drift(scratch_url)) == []


async def _load_demo(url: str) -> None:
    async with session_scope(Settings(database_url=url), cross_agency="test: demo") as session:
        await demo_data.load(session, properties=30)


async def _snapshot(url: str) -> dict[str, tuple[int, int]]:
    """Rows and the sum of their ids (or of their rowids), table by table."""
    engine = _engine(url)
    try:
        async with engine.connect() as conn:
            names = (
                await conn.execute(
                    text(
                        "SELECT name FROM sqlite_master WHERE type = 'table' "
                        "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version'"
                    )
                )
            ).scalars()
            snapshot = {}
            for name in names:
                row = (await conn.execute(text(f'SELECT count(*), sum(rowid) FROM "{name}"'))).one()
                snapshot[name] = (row[0], row[1] or 0)
            return snapshot
    finally:
        await engine.dispose()


async def _replace_newest_activity(url: str) -> tuple[int, int]:
    """Delete the newest activity row and add one: (deleted id, new id)."""
    engine = _engine(url)
    try:
        async with engine.begin() as conn:
            newest = (await conn.execute(text("SELECT max(id) FROM activity"))).scalar_one()
            agency_id = (await conn.execute(text("SELECT min(id) FROM agency"))).scalar_one()
            await conn.execute(text("DELETE FROM activity WHERE id = :id"), {"id": newest})
            new = (
                await conn.execute(
                    text(
                        "INSERT INTO activity (entity_type, entity_id, action, summary, "
                        "changes, created_at, agency_id) VALUES ('property', 1, 'noted', '', "
                        "'{}', CURRENT_TIMESTAMP, :agency) RETURNING id"
                    ),
                    {"agency": agency_id},
                )
            ).scalar_one()
            broken = (await conn.execute(text("PRAGMA foreign_key_check"))).fetchall()
            assert broken == []
            return int(newest), int(new)
    finally:
        await engine.dispose()


def test_sqlite_rebuild_keeps_every_row_and_never_reuses_ids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rebuild.db'}"
    cfg = _cfg(url)
    command.upgrade(cfg, "0008_property_list_indexes")
    run_coroutine(_load_demo(url))
    deleted, reused = run_coroutine(_replace_newest_activity(url))
    assert reused == deleted  # the problem: SQLite without AUTOINCREMENT reuses the id

    before = run_coroutine(_snapshot(url))
    command.upgrade(cfg, "0009_sqlite_ids_never_reused")
    after = run_coroutine(_snapshot(url))
    # Every row of every table survives with its id; no cascade fired while tables were rebuilt.
    assert after == before
    assert sum(count for count, _ in after.values()) > 500
    assert run_coroutine(_scalar(url, "SELECT count(*) FROM property")) == 30

    deleted, new = run_coroutine(_replace_newest_activity(url))
    assert new == deleted + 1


def test_sqlite_tables_are_autoincrement_in_the_models_too() -> None:
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateTable

    ddl = str(CreateTable(Model.metadata.tables["property"]).compile(dialect=sqlite.dialect()))
    assert "PRIMARY KEY AUTOINCREMENT" in ddl
