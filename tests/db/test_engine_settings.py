"""How the engine sets up each connection, per database."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def test_connections_are_set_up_for_the_database(connection: AsyncConnection) -> None:
    """PostgreSQL: custom plans. asyncpg prepares statements, and a generic plan ignores the
    values: with one big agency among small ones a filtered count walked every row of the
    agency (bench/README.md). SQLite: foreign keys enforced, WAL for concurrent readers."""
    if connection.dialect.name == "postgresql":
        assert await connection.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
    else:
        assert await connection.scalar(text("PRAGMA foreign_keys")) == 1
        assert str(await connection.scalar(text("PRAGMA journal_mode"))).lower() == "wal"
