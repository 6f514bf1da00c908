"""Queries over maintenance jobs; the only place that builds their SQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.maintenance.models import JobPriority, JobStatus, MaintenanceJob
from estatecrm.maintenance.schemas import JobFilters
from estatecrm.properties.models import Property

PRIORITY_ORDER = case(
    {p.value: i for i, p in enumerate(reversed(list(JobPriority)))},
    value=MaintenanceJob.priority,
    else_=9,
)


async def get(session: AsyncSession, agency_id: int, job_id: int) -> MaintenanceJob | None:
    """A job of this agency, or None (also for another agency's)."""
    return await session.scalar(select(MaintenanceJob).where(MaintenanceJob.id == job_id))


async def get_many(
    session: AsyncSession, agency_id: int, ids: Sequence[int]
) -> dict[int, MaintenanceJob]:
    """Jobs by id in one query (task links)."""
    if not ids:
        return {}
    rows = await session.scalars(select(MaintenanceJob).where(MaintenanceJob.id.in_(set(ids))))
    return {j.id: j for j in rows}


def _conditions(agency_id: int, f: JobFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.status is not None:
        conds.append(MaintenanceJob.status == f.status)
    if f.priority is not None:
        conds.append(MaintenanceJob.priority == f.priority)
    if f.property_id is not None:
        conds.append(MaintenanceJob.property_id == f.property_id)
    if f.contact_id is not None:
        conds.append(
            or_(
                MaintenanceJob.reported_by_contact_id == f.contact_id,
                MaintenanceJob.contractor_contact_id == f.contact_id,
            )
        )
    if f.open is True:
        conds.append(MaintenanceJob.status != JobStatus.done)
    elif f.open is False:
        conds.append(MaintenanceJob.status == JobStatus.done)
    return conds


async def search(
    session: AsyncSession, agency_id: int, filters: JobFilters, *, limit: int, offset: int
) -> tuple[list[tuple[MaintenanceJob, Property]], int]:
    """A page of jobs: open first, most urgent first, then oldest reported."""
    conds = _conditions(agency_id, filters)
    rows = await session.execute(
        select(MaintenanceJob, Property)
        .join(Property, Property.id == MaintenanceJob.property_id)
        .where(*conds)
        .order_by(
            (MaintenanceJob.status == JobStatus.done).asc(),
            PRIORITY_ORDER,
            MaintenanceJob.reported_date,
            MaintenanceJob.id,
        )
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(MaintenanceJob).where(*conds))
    return [(j, p) for j, p in rows.tuples()], int(total or 0)


async def add(session: AsyncSession, job: MaintenanceJob) -> MaintenanceJob:
    """Insert a job."""
    session.add(job)
    await session.flush()
    return job


async def delete(session: AsyncSession, job: MaintenanceJob) -> None:
    """Delete a job."""
    await session.delete(job)
    await session.flush()
