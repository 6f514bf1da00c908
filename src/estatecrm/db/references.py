"""Rows that name another record by id: count them, or point them at another record.

Merging duplicate contacts moves every reference to the contact that stays; deleting a
contact, a property, a certificate or an applicant is refused while records that must be kept
refer to it (the declarations are in each feature's relations.py, see db/relations.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


async def count_naming(
    session: AsyncSession, agency_id: int, record_id: int, *columns: InstrumentedAttribute[Any]
) -> int:
    """How many rows of one agency-scoped table name `record_id` in any of `columns`."""
    model: Any = columns[0].class_
    total = await session.scalar(
        select(func.count())
        .select_from(model)
        .where(or_(*(column == record_id for column in columns)))
    )
    return int(total or 0)


async def reassign(
    session: AsyncSession,
    agency_id: int,
    from_id: int,
    to_id: int,
    *columns: InstrumentedAttribute[Any],
) -> int:
    """Point every row (of one agency) that names `from_id` in each column at `to_id`;
    how many column values changed."""
    moved = 0
    for column in columns:
        model: Any = column.class_
        result = await session.execute(
            update(model).where(column == from_id).values({column.key: to_id})
        )
        moved += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return moved
