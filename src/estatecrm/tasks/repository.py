"""Queries over tasks; the only place that builds task SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, case, false, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.tasks.models import Task, TaskPriority
from estatecrm.tasks.schemas import TaskFilters

_PRIORITY_RANK = case(
    (Task.priority == TaskPriority.urgent, literal(0, Integer)),
    (Task.priority == TaskPriority.high, literal(1, Integer)),
    (Task.priority == TaskPriority.normal, literal(2, Integer)),
    else_=literal(3, Integer),
)


async def get(session: AsyncSession, agency_id: int, task_id: int) -> Task | None:
    """A task of this agency, or None (also when it belongs to another agency)."""
    return await session.scalar(select(Task).where(Task.id == task_id))


async def get_many(session: AsyncSession, agency_id: int, ids: Sequence[int]) -> dict[int, Task]:
    """Tasks by id in one query."""
    if not ids:
        return {}
    rows = await session.scalars(select(Task).where(Task.id.in_(set(ids))))
    return {t.id: t for t in rows}


async def open_by_rule(session: AsyncSession, agency_id: int, rule_key: str) -> Task | None:
    """The open task a rule made, if there is one."""
    return await session.scalar(select(Task).where(Task.open_rule_key == rule_key))


async def open_rule_tasks_linked(
    session: AsyncSession, agency_id: int, entity_type: str, entity_ids: Sequence[int]
) -> Sequence[Task]:
    """The open tasks rules made for these records."""
    if not entity_ids:
        return []
    rows = await session.scalars(
        select(Task).where(
            Task.open_rule_key.is_not(None),
            Task.entity_type == entity_type,
            Task.entity_id.in_(set(entity_ids)),
        )
    )
    return rows.all()


async def latest_done_by_rule(session: AsyncSession, agency_id: int, rule_key: str) -> Task | None:
    """The most recently completed task a rule made."""
    return await session.scalar(
        select(Task)
        .where(Task.rule_key == rule_key, Task.done == true())
        .order_by(Task.done_at.desc(), Task.id.desc())
        .limit(1)
    )


async def add(session: AsyncSession, task: Task) -> Task:
    """Insert a task."""
    session.add(task)
    await session.flush()
    return task


async def delete(session: AsyncSession, task: Task) -> None:
    """Delete a task."""
    await session.delete(task)
    await session.flush()


def _conditions(
    agency_id: int, user_id: int, f: TaskFilters, today: date
) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.assignee == "me":
        conds.append(Task.assignee_id == user_id)
    elif f.assignee == "unassigned":
        conds.append(Task.assignee_id.is_(None))
    elif f.assignee is not None:
        conds.append(Task.assignee_id == int(f.assignee))
    if f.done is not None:
        conds.append(Task.done == (true() if f.done else false()))
    if f.overdue is True:
        conds += [Task.done == false(), Task.due_date < today]
    elif f.overdue is False:
        conds.append((Task.done == true()) | Task.due_date.is_(None) | (Task.due_date >= today))
    if f.due_before is not None:
        conds.append(Task.due_date < f.due_before)
    if f.due_after is not None:
        conds.append(Task.due_date >= f.due_after)
    if f.priority is not None:
        conds.append(Task.priority == f.priority)
    if f.entity_type is not None:
        conds.append(Task.entity_type == f.entity_type)
    if f.entity_id is not None:
        conds.append(Task.entity_id == f.entity_id)
    if f.q:
        for word in f.q.lower().split()[:6]:
            conds.append(func.lower(Task.title).contains(word, autoescape=True))
    return conds


def _ordered(stmt: Select[Any], sort: str) -> Select[Any]:
    if sort == "urgency":
        # Open before done; then by due date, so overdue comes first; undated last.
        return stmt.order_by(
            Task.done.asc(),
            Task.due_date.is_(None).asc(),
            Task.due_date.asc(),
            _PRIORITY_RANK.asc(),
            Task.id.asc(),
        )
    if sort == "-priority":
        return stmt.order_by(_PRIORITY_RANK.asc(), Task.due_date.asc(), Task.id.asc())
    column = getattr(Task, sort.lstrip("-"))
    if sort.startswith("-"):
        return stmt.order_by(column.desc(), Task.id.desc())
    return stmt.order_by(column.asc(), Task.id.asc())


async def search(
    session: AsyncSession,
    agency_id: int,
    user_id: int,
    filters: TaskFilters,
    today: date,
    *,
    limit: int,
    offset: int,
) -> tuple[Sequence[Task], int]:
    """One page of the agency's tasks matching the filters, and the total count."""
    conds = _conditions(agency_id, user_id, filters, today)
    rows = await session.scalars(
        _ordered(select(Task).where(*conds), filters.sort).limit(limit).offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(Task).where(*conds))
    return rows.all(), int(total or 0)


async def count_open(
    session: AsyncSession, agency_id: int, user_id: int, today: date
) -> tuple[int, int]:
    """How many open tasks a user has, and how many of them are overdue."""
    base = (Task.assignee_id == user_id, Task.done == false())
    open_count = await session.scalar(select(func.count()).select_from(Task).where(*base))
    overdue = await session.scalar(
        select(func.count()).select_from(Task).where(*base, Task.due_date < today)
    )
    return int(open_count or 0), int(overdue or 0)
