"""Maintenance jobs JSON API: `/api/v1/maintenance`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from estatecrm.activity.api import add_timeline_route
from estatecrm.auth.deps import CurrentUser, ManagerUser, WriterUser
from estatecrm.db.session import SessionDep
from estatecrm.kit.pagination import Page, Paging
from estatecrm.maintenance import service
from estatecrm.maintenance.schemas import JobCreate, JobFilters, JobRead, JobUpdate

router = APIRouter(prefix="/api/v1", tags=["maintenance"])


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
    return paging.page(items, total)


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


add_timeline_route(router, "/maintenance/{job_id}/activity", service)
