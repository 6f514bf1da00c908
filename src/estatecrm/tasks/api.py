"""Tasks JSON API: `/api/v1/tasks`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity.api import add_timeline_route
from estatecrm.auth.deps import CurrentUser, ManagerUser, WriterUser
from estatecrm.db.session import SessionDep
from estatecrm.kit.clock import today_london
from estatecrm.kit.pagination import Page, Paging
from estatecrm.tasks import service
from estatecrm.tasks.models import Task
from estatecrm.tasks.schemas import TaskCreate, TaskFilters, TaskRead, TaskUpdate

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


async def _read(
    session: AsyncSession, agency_id: int, tasks: Sequence[Task], today: date
) -> list[TaskRead]:
    links = await service.links_for(session, agency_id, tasks)
    out = []
    for t in tasks:
        read = TaskRead.model_validate(t)
        read.overdue = service.is_overdue(t, today)
        if t.entity_type is not None and t.entity_id is not None:
            read.link = links.get((t.entity_type, t.entity_id))
        out.append(read)
    return out


@router.get("", response_model=Page[TaskRead])
async def list_tasks(
    session: SessionDep,
    user: CurrentUser,
    paging: Paging,
    filters: Annotated[TaskFilters, Query()],
) -> Page[TaskRead]:
    """Tasks; `?assignee=me&done=false` is "my tasks", overdue first."""
    today = filters.date or today_london()
    rows, total = await service.search(
        session, user, filters, today=today, limit=paging.limit, offset=paging.offset
    )
    return paging.page(await _read(session, user.agency_id, rows, today), total)


@router.post("", response_model=TaskRead, status_code=201)
async def create_task(body: TaskCreate, session: SessionDep, user: WriterUser) -> TaskRead:
    """Add a task."""
    task = await service.create(session, user, body)
    return (await _read(session, user.agency_id, [task], today_london()))[0]


@router.get("/{task_id}", response_model=TaskRead)
async def get_task(task_id: int, session: SessionDep, user: CurrentUser) -> TaskRead:
    """One task."""
    task = await service.get(session, user, task_id)
    return (await _read(session, user.agency_id, [task], today_london()))[0]


@router.patch("/{task_id}", response_model=TaskRead)
async def update_task(
    task_id: int, body: TaskUpdate, session: SessionDep, user: WriterUser
) -> TaskRead:
    """Change a task; `{"done": true}` completes it, `{"done": false}` reopens it."""
    task = await service.update(session, user, task_id, body)
    return (await _read(session, user.agency_id, [task], today_london()))[0]


@router.delete("/{task_id}", status_code=204)
async def delete_task(task_id: int, session: SessionDep, user: ManagerUser) -> Response:
    """Delete a task (managers and admins)."""
    await service.delete(session, user, task_id)
    return Response(status_code=204)


add_timeline_route(router, "/{task_id}/activity", service)
