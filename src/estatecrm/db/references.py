"""Rows that name another record by id: count them, point them at another record, or let
them stop the record's deletion.

Merging duplicate contacts moves every reference to the contact that stays; deleting a
contact, a property or a certificate is refused while records that must be kept refer to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from estatecrm.errors import Conflict

# An agency-scoped model instance (it has `id` and `agency_id`).
R = TypeVar("R")


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


class DeleteGuards(Generic[R]):
    """Why a record may not be deleted, as other features see it.

    A feature whose rows must outlive a record of another feature (a property's offers and
    tenancies, a certificate a tenancy ran on) registers a guard here when it is imported; the
    owning service asks `refuse_if_any` before deleting and answers 409 with every reason.
    """

    def __init__(self, noun: str, instead: str) -> None:
        self.noun = noun
        self.instead = instead
        self._guards: list[Callable[[AsyncSession, R], Awaitable[str | None]]] = []

    def register(self, guard: Callable[[AsyncSession, R], Awaitable[str | None]]) -> None:
        """`guard(session, record)` says why the record must stay, or None."""
        self._guards.append(guard)

    def while_any(self, one: str, many: str, column: InstrumentedAttribute[Any]) -> None:
        """Refuse while rows name the record in `column` ("it has 2 offers on record")."""

        async def guard(session: AsyncSession, record: R) -> str | None:
            row: Any = record
            found = await count_naming(session, row.agency_id, row.id, column)
            return f"it has {found} {one if found == 1 else many} on record" if found else None

        self.register(guard)

    async def refuse_if_any(self, session: AsyncSession, record: R) -> None:
        """Raise 409 naming every reason the record must stay; nothing when it may go."""
        reasons = [why for guard in self._guards if (why := await guard(session, record))]
        if reasons:
            raise Conflict(
                f"This {self.noun} cannot be deleted: {'; '.join(reasons)}. {self.instead}",
                detail={"reasons": reasons},
            )
