"""Queries on the per-minute SLI table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.ops.models import SLIMinute


async def add_counts(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Add counts to their minute buckets in one statement (INSERT ... ON CONFLICT DO UPDATE)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(SLIMinute).values(list(rows))
    stmt = stmt.on_conflict_do_update(
        index_elements=[SLIMinute.bucket_at],
        set_={
            "total": SLIMinute.total + stmt.excluded.total,
            "errors": SLIMinute.errors + stmt.excluded.errors,
            "slow": SLIMinute.slow + stmt.excluded.slow,
        },
    )
    await session.execute(stmt)


async def window_sums(
    session: AsyncSession,
    now: datetime,
    windows: dict[str, timedelta],
    *,
    down_percent: int,
    exclude: Sequence[datetime] = (),
) -> dict[str, dict[str, int]]:
    """For each window ending now: requests, errors, slow requests, minutes and down minutes.

    A minute is down when more than `down_percent` % of its requests failed with a 5xx.
    """
    columns = []
    for span in windows.values():
        inside = SLIMinute.bucket_at >= now - span
        # Integer arithmetic: the same on both databases, no float parameters.
        down = and_(
            inside, SLIMinute.total > 0, SLIMinute.errors * 100 > SLIMinute.total * down_percent
        )
        columns += [
            func.coalesce(func.sum(case((inside, SLIMinute.total), else_=0)), 0),
            func.coalesce(func.sum(case((inside, SLIMinute.errors), else_=0)), 0),
            func.coalesce(func.sum(case((inside, SLIMinute.slow), else_=0)), 0),
            func.coalesce(func.sum(case((and_(inside, SLIMinute.total > 0), 1), else_=0)), 0),
            func.coalesce(func.sum(case((down, 1), else_=0)), 0),
        ]
    longest = max(windows.values())
    stmt = select(*columns).where(SLIMinute.bucket_at >= now - longest)
    if exclude:
        stmt = stmt.where(SLIMinute.bucket_at.not_in(list(exclude)))
    row = (await session.execute(stmt)).one()
    keys = ("total", "errors", "slow", "minutes", "down_minutes")
    out: dict[str, dict[str, int]] = {}
    for i, name in enumerate(windows):
        out[name] = {key: int(row[i * 5 + j] or 0) for j, key in enumerate(keys)}
    return out


async def minutes(session: AsyncSession, buckets: Sequence[datetime]) -> list[SLIMinute]:
    """The stored rows of particular minutes."""
    if not buckets:
        return []
    rows = await session.scalars(select(SLIMinute).where(SLIMinute.bucket_at.in_(list(buckets))))
    return list(rows.all())


async def prune(session: AsyncSession, before: datetime) -> int:
    """Delete buckets older than `before`; how many went."""
    result: Any = await session.execute(delete(SLIMinute).where(SLIMinute.bucket_at < before))
    return int(result.rowcount or 0)
