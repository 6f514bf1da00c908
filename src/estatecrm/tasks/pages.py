"""Tasks pages: my tasks (overdue first) with quick complete, add and edit forms, detail."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from estatecrm.activity import service as activity_service
from estatecrm.auth import service as auth_service
from estatecrm.auth.deps import CurrentUser, ManagerUser, WriterUser
from estatecrm.auth.models import User
from estatecrm.db.session import SessionDep
from estatecrm.errors import ValidationFailed
from estatecrm.kit.clock import today_london
from estatecrm.kit.pagination import DEFAULT_LIMIT, offset_from
from estatecrm.properties import service as property_service
from estatecrm.tasks import service
from estatecrm.tasks.models import Task, TaskPriority
from estatecrm.tasks.schemas import LinkRead, TaskCreate, TaskFilters, TaskUpdate
from estatecrm.web.forms import (
    FormInvalid,
    Refusal,
    errors_from,
    read_form,
    submit,
)
from estatecrm.web.forms import validate as validate_form
from estatecrm.web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)

VIEWS = {
    "mine": "My tasks",
    "overdue": "Overdue (everyone)",
    "unassigned": "Unassigned",
    "all": "All tasks",
}
FORM_FIELDS = ["title", "description", "due_date", "priority", "assignee_id"]


def _priorities() -> list[tuple[str, str]]:
    return [(p.value, p.value.capitalize()) for p in TaskPriority]


async def _people(session: SessionDep, user: User) -> dict[int, str]:
    return {u.id: u.full_name for u in await auth_service.list_users(session, user)}


def _filters_from(params: dict[str, str], view: str) -> TaskFilters:
    raw: dict[str, Any] = {}
    if view == "mine":
        raw["assignee"] = "me"
    elif view == "unassigned":
        raw["assignee"] = "unassigned"
    elif view == "overdue":
        raw["overdue"] = True
    if params.get("show_done") != "1":
        raw["done"] = False
    for key in ("q", "entity_type", "entity_id", "priority"):
        if params.get(key):
            raw[key] = params[key]
    try:
        return TaskFilters.model_validate(raw)
    except ValidationError:
        return TaskFilters(done=raw.get("done"), assignee=raw.get("assignee"))


def _row_context(
    t: Task, links: dict[tuple[str, int], LinkRead], people: dict[int, str], today: date
) -> dict[str, Any]:
    link = links.get((t.entity_type, t.entity_id)) if t.entity_type and t.entity_id else None
    return {
        "t": t,
        "link": link,
        "assignee_name": people.get(t.assignee_id) if t.assignee_id else None,
        "overdue": service.is_overdue(t, today),
    }


@router.get("/tasks", response_class=HTMLResponse)
async def tasks_list(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """My tasks (or everyone's), overdue first; HTMX swaps only the results."""
    params = dict(request.query_params)
    view = params.get("view", "mine") if params.get("view", "mine") in VIEWS else "mine"
    offset = offset_from(params)
    today = today_london()
    filters = _filters_from(params, view)
    rows, total = await service.search(
        session, user, filters, today=today, limit=DEFAULT_LIMIT, offset=offset
    )
    links = await service.links_for(session, user.agency_id, rows)
    people = await _people(session, user)
    open_count, overdue_count = await service.open_counts(session, user, today)
    kept = {
        k: v
        for k, v in params.items()
        if k in ("view", "q", "show_done", "entity_type", "entity_id", "priority") and v
    }
    context = {
        "rows": [_row_context(t, links, people, today) for t in rows],
        "page": {"items": rows, "total": total, "limit": DEFAULT_LIMIT, "offset": offset},
        "values": {**kept, "view": view},
        "views": list(VIEWS.items()),
        "priorities": _priorities(),
        "errors": {},
        "open_count": open_count,
        "overdue_count": overdue_count,
        "base_url": "/tasks" + ("?" + urlencode(kept) if kept else ""),
        "today": today,
    }
    return render(request, "tasks/list.html", context, block="results")


async def _toggle(
    request: Request, session: SessionDep, user: User, task_id: int, done: bool
) -> Response:
    task = await service.set_done(session, user, task_id, done)
    if not is_htmx(request):
        data = await read_form(request)
        target = str(data.get("next") or "")
        if not target.startswith("/") or target.startswith("//"):
            target = "/tasks"
        return RedirectResponse(target, status_code=303)
    today = today_london()
    links = await service.links_for(session, user.agency_id, [task])
    people = await _people(session, user)
    return render(request, "tasks/_row.html", _row_context(task, links, people, today))


@router.post("/tasks/{task_id}/complete", response_class=HTMLResponse)
async def task_complete(
    task_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Tick a task off; HTMX gets the updated row back."""
    return await _toggle(request, session, user, task_id, True)


@router.post("/tasks/{task_id}/reopen", response_class=HTMLResponse)
async def task_reopen(
    task_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Undo a completion; HTMX gets the updated row back."""
    return await _toggle(request, session, user, task_id, False)


async def _form_context(
    session: SessionDep, user: User, entity_type: str | None, entity_id: int | None
) -> dict[str, Any]:
    people = await _people(session, user)
    link = (
        await service.link_for(session, user.agency_id, entity_type, entity_id)
        if entity_type and entity_id
        else None
    )
    return {
        "priorities": _priorities(),
        "assignees": list(people.items()),
        "link": link,
        "entity_type": entity_type,
        "entity_id": entity_id,
    }


@router.get("/tasks/new", response_class=HTMLResponse)
async def task_new(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """The "Add task" form; `?entity_type=&entity_id=` links it to a record."""
    params = dict(request.query_params)
    entity_type = params.get("entity_type") or None
    entity_id = int(params["entity_id"]) if params.get("entity_id", "").isdigit() else None
    if entity_type or entity_id:
        await service.check_link(session, user.agency_id, entity_type, entity_id)
    values = {"priority": "normal", "assignee_id": user.id}
    context = {
        "values": values,
        "errors": {},
        "mode": "new",
        "task_id": None,
        **await _form_context(session, user, entity_type, entity_id),
    }
    return render(request, "tasks/form.html", context)


async def _form_again(
    request: Request,
    session: SessionDep,
    user: User,
    data: dict[str, Any],
    refusal: Refusal,
    task_id: int | None,
    link: tuple[str | None, int | None],
) -> Response:
    """The task form again (new, or editing `task_id`) with why it was refused: a 422."""
    context = {
        "values": data,
        "errors": refusal.errors,
        "mode": "new" if task_id is None else "edit",
        "task_id": task_id,
        **await _form_context(session, user, *link),
    }
    return render(request, "tasks/form.html", context, status_code=422)


@router.post("/tasks", response_class=HTMLResponse)
async def task_create(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """Submit the "Add task" form."""
    data = await read_form(request)
    values: dict[str, Any] = {k: data.get(k, "") for k in FORM_FIELDS}
    entity_type = str(data.get("entity_type") or "") or None
    raw_id = str(data.get("entity_id") or "")
    entity_id = int(raw_id) if raw_id.isdigit() else None

    async def run() -> Task:
        nonlocal entity_type, entity_id
        reference = str(data.get("property_reference") or "").strip()
        if entity_type is None and reference:
            prop = await property_service.get_by_reference(session, user.agency_id, reference)
            if prop is None:
                raise ValidationFailed(
                    "property_reference", f"No property with reference {reference!r}"
                )
            entity_type, entity_id = "property", prop.id
        values["entity_type"], values["entity_id"] = entity_type, entity_id
        return await service.create(session, user, validate_form(TaskCreate, values))

    async def refused(refusal: Refusal) -> Response:
        link = (entity_type, entity_id)
        return await _form_again(request, session, user, data, refusal, None, link)

    return await submit(session, run, done="/tasks/{0.id}".format, refused=refused)


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
async def task_detail(
    task_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """One task with its timeline."""
    task = await service.get(session, user, task_id)
    timeline, _ = await activity_service.timeline(
        session, user.agency_id, service.ENTITY, task.id, limit=50
    )
    links = await service.links_for(session, user.agency_id, [task])
    people = await _people(session, user)
    context = {
        **_row_context(task, links, people, today_london()),
        "timeline": timeline,
        "done_by": people.get(task.done_by_id) if task.done_by_id else None,
        "created_by": people.get(task.created_by_id) if task.created_by_id else None,
    }
    return render(request, "tasks/detail.html", context)


@router.get("/tasks/{task_id}/edit", response_class=HTMLResponse)
async def task_edit(
    task_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """The edit form, filled in."""
    task = await service.get(session, user, task_id)
    values = {name: getattr(task, name) for name in FORM_FIELDS}
    values["priority"] = task.priority.value
    context = {
        "values": values,
        "errors": {},
        "mode": "edit",
        "task_id": task.id,
        **await _form_context(session, user, task.entity_type, task.entity_id),
    }
    return render(request, "tasks/form.html", context)


@router.post("/tasks/{task_id}/edit", response_class=HTMLResponse)
async def task_update(
    task_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Submit the edit form (blank due date or assignee clears it)."""
    task = await service.get(session, user, task_id)
    entity_type, entity_id = task.entity_type, task.entity_id
    data = await read_form(request)
    values: dict[str, Any] = {k: (data.get(k) or None) for k in FORM_FIELDS}
    values["description"] = values["description"] or ""

    async def run() -> None:
        try:
            changes = TaskUpdate.model_validate(values)
        except ValidationError as exc:
            raise FormInvalid(errors_from(exc)) from exc
        await service.update(session, user, task_id, changes)

    async def refused(refusal: Refusal) -> Response:
        link = (entity_type, entity_id)
        return await _form_again(request, session, user, data, refusal, task_id, link)

    return await submit(session, run, done=f"/tasks/{task_id}", refused=refused)


@router.post("/tasks/{task_id}/delete")
async def task_delete(task_id: int, session: SessionDep, user: ManagerUser) -> Response:
    """Delete a task (managers and admins)."""
    await service.delete(session, user, task_id)
    return RedirectResponse("/tasks", status_code=303)
