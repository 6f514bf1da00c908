"""Alembic environment: async engine from DATABASE_URL, batch mode on SQLite."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import event
from sqlalchemy.engine import Connection

from estatecrm.config import Settings, to_async_url
from estatecrm.db.migrations import ours
from estatecrm.db.scoping import CROSS_AGENCY
from estatecrm.db.session import create_engine
from estatecrm.models import Model

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Model.metadata


def _settings() -> Settings:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    return Settings(database_url=url) if url else Settings()


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=ours,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
    )


def run_offline() -> None:
    context.configure(
        url=to_async_url(_settings().database_url),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    # A migration changes the rows of every agency, and says so (see db/scoping.py).
    connection.execution_options(**{CROSS_AGENCY: "migrations change every agency's rows"})
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            _check_foreign_keys(connection)


def _foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
    # SQLite rebuilds a table to change it (batch mode, or by hand); with foreign keys on,
    # dropping the old table would cascade-delete the rows that refer to it. The pragma
    # only works outside a transaction, so it is set as each connection opens.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


def _check_foreign_keys(connection: Connection) -> None:
    """Refuse to commit a migration that left a reference to a missing row."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration broke foreign keys (table, rowid, parent): {broken[:10]}")


async def run_online() -> None:
    engine = create_engine(_settings())
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _foreign_keys_off)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run_sync)
            await conn.commit()
    finally:
        await engine.dispose()


def _run_async() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(run_online())
        return
    # Called from code that already runs an event loop (a test harness, a notebook):
    # run the migration on a fresh loop in its own thread.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run_online()).result()


if context.is_offline_mode():
    run_offline()
else:
    _run_async()
