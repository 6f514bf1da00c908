"""Business rules of tasks; the API, the pages and other features' rules all call these."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service as activity
from estatecrm.auth import service as auth_service
from estatecrm.auth.models import User
from estatecrm.db import relations
from estatecrm.errors import Conflict, NotFound, ValidationFailed, update_values
from estatecrm.kit.clock import today_london, utcnow
from estatecrm.tasks import repository
from estatecrm.tasks.models import Task, TaskPriority
from estatecrm.tasks.schemas import LinkRead, TaskCreate, TaskFilters, TaskUpdate

ENTITY = "task"
TRACKED = [
    "title",
    "description",
    "due_date",
    "priority",
    "assignee_id",
    "entity_type",
    "entity_id",
    "done",
]


def _snapshot(task: Task) -> dict[str, Any]:
    return {name: getattr(task, name) for name in TRACKED}


def is_overdue(task: Task, today: date) -> bool:
    """An open task whose due date has passed."""
    return not task.done and task.due_date is not None and task.due_date < today


async def _check_assignee(session: AsyncSession, agency_id: int, assignee_id: int | None) -> None:
    if assignee_id is None:
        return
    user = await auth_service.get_user(session, agency_id, assignee_id)
    if user is None or not user.is_active:
        raise ValidationFailed("assignee_id", "No such user in your agency")


async def check_link(
    session: AsyncSession, agency_id: int, entity_type: str | None, entity_id: int | None
) -> None:
    """A link names a known kind of record that exists in the agency (422 naming the field)."""
    if entity_type is None and entity_id is None:
        return
    if entity_type is None:
        raise ValidationFailed("entity_type", "Say what kind of record entity_id is")
    if entity_id is None:
        raise ValidationFailed("entity_id", "Say which record the task is about")
    # The kinds of record a task may link to are declared in the features' relations.py.
    link_types = relations.of(session).task_links
    kind = link_types.get(entity_type)
    if kind is None:
        names = ", ".join(sorted(link_types))
        raise ValidationFailed("entity_type", f"Tasks can link to: {names}")
    if entity_id not in await kind.get_many(session, agency_id, [entity_id]):
        raise ValidationFailed("entity_id", f"No such {entity_type} in your agency")


async def get(session: AsyncSession, user: User, task_id: int) -> Task:
    """A task of the user's agency; 404 when missing or foreign."""
    task = await repository.get(session, user.agency_id, task_id)
    if task is None:
        raise NotFound("Task not found")
    return task


async def search(
    session: AsyncSession,
    user: User,
    filters: TaskFilters,
    *,
    today: date | None = None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Task], int]:
    """A page of the agency's tasks; "urgency" order puts overdue open tasks first."""
    if filters.assignee is not None and filters.assignee.isdigit():
        await _check_assignee(session, user.agency_id, int(filters.assignee))
    return await repository.search(
        session,
        user.agency_id,
        user.id,
        filters,
        today or filters.date or today_london(),
        limit=limit,
        offset=offset,
    )


async def links_for(
    session: AsyncSession, agency_id: int, tasks: Sequence[Task]
) -> dict[tuple[str, int], LinkRead]:
    """The linked record of each task, one query per kind of record (no N+1)."""
    pairs = [
        (t.entity_type, t.entity_id)
        for t in tasks
        if t.entity_type is not None and t.entity_id is not None
    ]
    return await _links(session, agency_id, pairs)


async def link_for(
    session: AsyncSession, agency_id: int, entity_type: str, entity_id: int
) -> LinkRead:
    """How to name and reach one record a task may link to."""
    return (await _links(session, agency_id, [(entity_type, entity_id)]))[(entity_type, entity_id)]


async def _links(
    session: AsyncSession, agency_id: int, pairs: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], LinkRead]:
    wanted: dict[str, set[int]] = {}
    for entity_type, entity_id in pairs:
        wanted.setdefault(entity_type, set()).add(entity_id)
    links: dict[tuple[str, int], LinkRead] = {}
    link_types = relations.of(session).task_links
    for kind_name, ids in wanted.items():
        kind = link_types.get(kind_name)
        rows = await kind.get_many(session, agency_id, sorted(ids)) if kind else {}
        for entity_id in ids:
            row = rows.get(entity_id)
            links[(kind_name, entity_id)] = LinkRead(
                entity_type=kind_name,
                entity_id=entity_id,
                label=kind.describe(row)
                if kind and row is not None
                else f"{kind_name.replace('_', ' ').capitalize()} #{entity_id} (deleted)",
                href=kind.href.format(id=entity_id) if kind and row is not None else None,
            )
    return links


def _mark_done(task: Task, done: bool, actor_id: int | None) -> None:
    if done and not task.done:
        task.done = True
        task.done_at = utcnow()
        task.done_by_id = actor_id
        task.open_rule_key = None
    elif not done and task.done:
        task.done = False
        task.done_at = None
        task.done_by_id = None
        task.open_rule_key = task.rule_key


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "Another open task already exists for this; complete or edit that one instead",
            field="done",
        ) from exc


async def create(session: AsyncSession, user: User, data: TaskCreate) -> Task:
    """Add a task."""
    await _check_assignee(session, user.agency_id, data.assignee_id)
    await check_link(session, user.agency_id, data.entity_type, data.entity_id)
    task = Task(agency_id=user.agency_id, created_by_id=user.id, done=False, **data.model_dump())
    await repository.add(session, task)
    summary = f"Created task: {task.title}"
    await activity.log(session, user, task, "created", summary, activity.diff({}, _snapshot(task)))
    return task


async def update(session: AsyncSession, user: User, task_id: int, data: TaskUpdate) -> Task:
    """Change a task; `done` completes or reopens it."""
    task = await get(session, user, task_id)
    before = _snapshot(task)
    values = update_values(data, ("title", "priority", "done"))
    if "assignee_id" in values:
        await _check_assignee(session, user.agency_id, values["assignee_id"])
    if "entity_type" in values or "entity_id" in values:
        await check_link(
            session,
            user.agency_id,
            values.get("entity_type", task.entity_type),
            values.get("entity_id", task.entity_id),
        )
    done = values.pop("done", None)
    if (
        done is False
        and task.done
        and task.rule_key
        and await repository.open_by_rule(session, user.agency_id, task.rule_key)
    ):
        raise Conflict(
            "A newer open task exists for the same duty; work on that one instead", field="done"
        )
    for key, value in values.items():
        setattr(task, key, value)
    if done is not None:
        _mark_done(task, done, user.id)
    task.updated_at = utcnow()
    await _flush(session)
    changes = activity.diff(before, _snapshot(task))
    if changes:
        if set(changes) == {"done"}:
            action = "completed" if task.done else "reopened"
            summary = f"{action.capitalize()}: {task.title}"
        else:
            action, summary = "updated", f"Changed {', '.join(sorted(changes))}"
        await activity.log(session, user, task, action, summary, changes)
    return task


async def set_done(session: AsyncSession, user: User, task_id: int, done: bool) -> Task:
    """Complete (or reopen) a task."""
    return await update(session, user, task_id, TaskUpdate(done=done))


async def delete(session: AsyncSession, user: User, task_id: int) -> None:
    """Remove a task (managers and admins)."""
    task = await get(session, user, task_id)
    title = task.title
    await repository.delete(session, task)
    await activity.log(session, user, (ENTITY, task_id), "deleted", f"Deleted task: {title}")


async def ensure_task(
    session: AsyncSession,
    *,
    agency_id: int,
    rule_key: str,
    title: str,
    due_date: date | None,
    assignee_id: int | None = None,
    entity_type: str | None = None,
    entity_id: int | None = None,
    description: str = "",
    priority: TaskPriority = TaskPriority.normal,
    actor_user_id: int | None = None,
) -> Task:
    """The open task a rule asks for: created once, then kept up to date, never duplicated.

    `rule_key` names the duty ("certificate-renewal:12:gas_safety", "deposit-protection:7").
    While a task for it is open, calling again updates that task (a person's choice of
    assignee is kept). Once it is done, a call with the same due date and record changes
    nothing; a new due date means a new cycle, so a new task is created.
    """
    values: dict[str, Any] = {
        "title": title[:200],
        "description": description,
        "due_date": due_date,
        "priority": priority,
        "entity_type": entity_type,
        "entity_id": entity_id,
    }
    agent = activity.Agent(agency_id, actor_user_id)
    task = await repository.open_by_rule(session, agency_id, rule_key)
    if task is None:
        finished = await repository.latest_done_by_rule(session, agency_id, rule_key)
        if (
            finished is not None
            and finished.due_date == due_date
            and (finished.entity_type, finished.entity_id) == (entity_type, entity_id)
        ):
            return finished
        task, created = await _add_rule_task(session, agent, rule_key, assignee_id, values)
        if created:
            return task
    return await _update_rule_task(session, agent, task, assignee_id, values)


async def _add_rule_task(
    session: AsyncSession,
    agent: activity.Agent,
    rule_key: str,
    assignee_id: int | None,
    values: dict[str, Any],
) -> tuple[Task, bool]:
    """A new task for the duty (True), or the one another request created a moment ago."""
    task = Task(
        agency_id=agent.agency_id,
        rule_key=rule_key,
        open_rule_key=rule_key,
        assignee_id=assignee_id,
        created_by_id=agent.id,
        done=False,
        **values,
    )
    try:
        async with session.begin_nested():
            await repository.add(session, task)
    except IntegrityError:
        # Another request created it a moment ago: update that one instead.
        existing = await repository.open_by_rule(session, agent.agency_id, rule_key)
        if existing is None:
            raise
        return existing, False
    summary = f"Created automatically: {task.title}"
    created = activity.diff({}, _snapshot(task))
    await activity.log(session, agent, task, "created", summary, created)
    return task, True


async def _update_rule_task(
    session: AsyncSession,
    agent: activity.Agent,
    task: Task,
    assignee_id: int | None,
    values: dict[str, Any],
) -> Task:
    """The open task brought up to date (a person's choice of assignee is kept)."""
    before = _snapshot(task)
    for key, value in values.items():
        setattr(task, key, value)
    if task.assignee_id is None and assignee_id is not None:
        task.assignee_id = assignee_id
    changes = activity.diff(before, _snapshot(task))
    if changes:
        task.updated_at = utcnow()
        await session.flush()
        summary = f"Updated automatically: {', '.join(sorted(changes))}"
        await activity.log(session, agent, task, "updated", summary, changes)
    return task


async def open_rule_task(session: AsyncSession, agency_id: int, rule_key: str) -> Task | None:
    """The open task a rule made, if any."""
    return await repository.open_by_rule(session, agency_id, rule_key)


async def complete_rule_task(
    session: AsyncSession,
    *,
    agency_id: int,
    rule_key: str,
    reason: str,
    actor_user_id: int | None = None,
) -> Task | None:
    """Close the open task of a rule because the duty was met (a new certificate, ...)."""
    task = await repository.open_by_rule(session, agency_id, rule_key)
    if task is None:
        return None
    _mark_done(task, True, actor_user_id)
    task.updated_at = utcnow()
    await session.flush()
    summary = f"Completed automatically: {reason}"
    changes = {"done": [False, True]}
    await activity.log(
        session, activity.Agent(agency_id, actor_user_id), task, "completed", summary, changes
    )
    return task


async def cancel_rule_task(
    session: AsyncSession,
    *,
    agency_id: int,
    rule_key: str,
    reason: str,
    actor_user_id: int | None = None,
) -> None:
    """Remove the open task of a rule that no longer applies (its record was deleted)."""
    task = await repository.open_by_rule(session, agency_id, rule_key)
    if task is not None:
        await _remove_automatically(session, task, reason, actor_user_id)


async def rekey_rule_task(
    session: AsyncSession,
    *,
    agency_id: int,
    from_key: str,
    to_key: str,
    reason: str,
    actor_user_id: int | None = None,
) -> None:
    """Point a rule's open task at another key (the record it was about was merged into
    another); when that key already has an open task, the moved one is removed as a double."""
    task = await repository.open_by_rule(session, agency_id, from_key)
    if task is None:
        return
    if await repository.open_by_rule(session, agency_id, to_key) is not None:
        await _remove_automatically(session, task, reason, actor_user_id)
        return
    task.rule_key = task.open_rule_key = to_key
    task.updated_at = utcnow()
    await session.flush()


async def _remove_automatically(
    session: AsyncSession, task: Task, reason: str, actor_user_id: int | None
) -> None:
    task_id, title, agency_id = task.id, task.title, task.agency_id
    await repository.delete(session, task)
    summary = f"Removed automatically ({reason}): {title}"
    await activity.log(
        session, activity.Agent(agency_id, actor_user_id), (ENTITY, task_id), "deleted", summary
    )


async def remove_rule_tasks_of_property(
    session: AsyncSession, *, agency_id: int, property_id: int, actor_user_id: int | None
) -> None:
    """Before a property is deleted: remove the open tasks rules made for it and its records.

    Renewing a certificate of a property that is gone is nothing anyone can do; such tasks
    would sit open for ever. Tasks people wrote themselves stay, shown as linked to a deleted
    record. (Properties with viewings, offers, tenancies, sales or maintenance jobs cannot be
    deleted at all.)
    """
    linked: dict[str, list[int]] = {"property": [property_id]}
    for kind in relations.of(session).task_links.values():
        ids = await kind.on_property(session, agency_id, property_id) if kind.on_property else []
        if ids:
            linked.setdefault(kind.name, []).extend(ids)
    for entity_type, ids in linked.items():
        for task in await repository.open_rule_tasks_linked(session, agency_id, entity_type, ids):
            await _remove_automatically(session, task, "its property was deleted", actor_user_id)


async def open_counts(
    session: AsyncSession, user: User, today: date | None = None
) -> tuple[int, int]:
    """The user's open tasks and how many are overdue."""
    return await repository.count_open(session, user.agency_id, user.id, today or today_london())
