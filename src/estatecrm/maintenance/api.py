"""Maintenance jobs JSON API: `/api/v1/maintenance`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from estatecrm.activity import service as activity_service
from estatecrm.activity.schemas import ActivityRead
from estatecrm.auth.deps import CurrentUser, ManagerUser, WriterUser
from estatecrm.db.session import SessionDep
from estatecrm.kit.pagination import Page, PageParams, page_params
from estatecrm.maintenance import service
from estatecrm.maintenance.schemas import JobCreate, JobFilters, JobRead, JobUpdate

router = APIRouter(prefix="/api/v1", tags=["maintenance"])

Paging = Annotated[PageParams, Depends(page_params)]


@router.get("/maintenance", response_model=Page[JobRead])
async def list_jobs(
    session: SessionDep,
    user: CurrentUser,
    paging: Paging,
    filters: Annotated[JobFilters, Query()],
) -> Page[JobRead]:
    """Jobs: open first, most urgent first (`status`, `priority`, `property_id`, `open`)."""
    items, total = await service.search(
        session, user, filters, limit=paging.limit, offset=paging.offset
    )
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post("/maintenance", response_model=JobRead, status_code=201)
async def create_job(body: JobCreate, session: SessionDep, user: WriterUser) -> JobRead:
    """Report a job."""
    job = await service.create(session, user, body)
    return await service.read(session, user, job.id)


@router.get("/maintenance/{job_id}", response_model=JobRead)
async def get_job(job_id: int, session: SessionDep, user: CurrentUser) -> JobRead:
    """One job."""
    return await service.read(session, user, job_id)


@router.patch("/maintenance/{job_id}", response_model=JobRead)
async def update_job(
    job_id: int, body: JobUpdate, session: SessionDep, user: WriterUser
) -> JobRead:
    """Change a job (status, contractor, quote, cost, dates)."""
    await service.update(session, user, job_id, body)
    return await service.read(session, user, job_id)


@router.delete("/maintenance/{job_id}", status_code=204)
async def delete_job(job_id: int, session: SessionDep, user: ManagerUser) -> Response:
    """Delete a job (managers and admins)."""
    await service.delete(session, user, job_id)
    return Response(status_code=204)


@router.get("/maintenance/{job_id}/activity", response_model=Page[ActivityRead])
async def job_activity(
    job_id: int, session: SessionDep, user: CurrentUser, paging: Paging
) -> Page[ActivityRead]:
    """The job's timeline, newest first."""
    await service.get(session, user, job_id)
    rows, total = await activity_service.timeline(
        session, user.agency_id, service.ENTITY, job_id, limit=paging.limit, offset=paging.offset
    )
    return Page(
        items=[ActivityRead.model_validate(r) for r in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )
