"""Queries over the activity table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity.models import Activity


async def add(session: AsyncSession, activity: Activity) -> Activity:
    """Insert one activity record."""
    session.add(activity)
    await session.flush()
    return activity


async def list_for_entity(
    session: AsyncSession,
    agency_id: int,
    entity_type: str,
    entity_id: int,
    *,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Activity], int]:
    """A record's timeline, newest first, and how many entries it has."""
    where = (
        Activity.entity_type == entity_type,
        Activity.entity_id == entity_id,
    )
    rows = await session.scalars(
        select(Activity)
        .where(*where)
        .order_by(Activity.created_at.desc(), Activity.id.desc())
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(Activity).where(*where))
    return rows.all(), int(total or 0)


async def reassign_entity(
    session: AsyncSession, agency_id: int, entity_type: str, from_id: int, to_id: int
) -> None:
    """Move one record's timeline onto another (used when merging duplicates)."""
    from sqlalchemy import update

    await session.execute(
        update(Activity)
        .where(
            Activity.entity_type == entity_type,
            Activity.entity_id == from_id,
        )
        .values(entity_id=to_id)
    )
