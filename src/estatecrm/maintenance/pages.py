"""Maintenance pages: the jobs list (open and most urgent first), report a job, a job with its
progress and timeline, and the panel on a property's page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from estatecrm.activity import service as activity_service
from estatecrm.auth.deps import CurrentUser, WriterUser
from estatecrm.auth.models import User
from estatecrm.contacts import service as contact_service
from estatecrm.contacts.schemas import ContactFilters
from estatecrm.db.session import SessionDep
from estatecrm.kit.clock import today_london
from estatecrm.kit.pagination import DEFAULT_LIMIT, offset_from
from estatecrm.maintenance import service
from estatecrm.maintenance.models import JobPriority, JobStatus, MaintenanceJob
from estatecrm.maintenance.schemas import JobCreate, JobFilters, JobUpdate
from estatecrm.properties import service as property_service
from estatecrm.web.forms import (
    FormInvalid,
    Refusal,
    pence_field,
    read_form,
    submit,
)
from estatecrm.web.forms import validate as validate_form
from estatecrm.web.templating import render

router = APIRouter(include_in_schema=False)

ALIASES = {"quote_pence": "quote", "cost_pence": "cost"}


def _choices(enum_cls: Any) -> list[tuple[str, str]]:
    return [(e.value, e.value.replace("_", " ").capitalize()) for e in enum_cls]


def _money(values: dict[str, Any], errors: dict[str, str]) -> None:
    for form_name, api_name in (("quote", "quote_pence"), ("cost", "cost_pence")):
        if form_name in values:
            pence_field(values, form_name, api_name, errors)


async def _contacts(session: SessionDep, user: User) -> list[tuple[int, str]]:
    rows, _ = await contact_service.search(session, user, ContactFilters(), limit=200, offset=0)
    return [(c.id, f"{c.first_name} {c.last_name}") for c in rows]


@router.get("/maintenance", response_class=HTMLResponse)
async def jobs_list(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Jobs: open first, most urgent first; HTMX swaps only the results."""
    params = dict(request.query_params)
    offset = offset_from(params)
    kept = {k: v for k, v in params.items() if k in ("status", "priority", "open") and v}
    try:
        filters = JobFilters.model_validate(kept)
    except ValidationError:
        filters = JobFilters()
    rows, total = await service.search(session, user, filters, limit=DEFAULT_LIMIT, offset=offset)
    context = {
        "rows": rows,
        "page": {"items": rows, "total": total, "limit": DEFAULT_LIMIT, "offset": offset},
        "values": kept,
        "statuses": _choices(JobStatus),
        "priorities": _choices(JobPriority),
        "base_url": "/maintenance" + ("?" + urlencode(kept) if kept else ""),
    }
    return render(request, "maintenance/list.html", context, block="results")


@router.get("/maintenance/new", response_class=HTMLResponse)
async def job_new(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """The "report a job" form; `?property_id=` fills in the property."""
    property_id = request.query_params.get("property_id", "")
    prop = (
        await property_service.get(session, user, int(property_id))
        if property_id.isdigit()
        else None
    )
    values = {
        "property_id": prop.id if prop else "",
        "priority": "normal",
        "reported_date": today_london().isoformat(),
    }
    context = {
        "values": values,
        "errors": {},
        "prop": prop,
        "contacts": await _contacts(session, user),
        "priorities": _choices(JobPriority),
    }
    return render(request, "maintenance/form.html", context)


def _refusal_errors(refusal: Refusal, found: dict[str, str]) -> dict[str, str]:
    """A refused form's messages by field, after those found reading the amounts."""
    if isinstance(refusal.error, FormInvalid):
        return {**found, **refusal.errors}
    return refusal.errors


@router.post("/maintenance", response_class=HTMLResponse)
async def job_create(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """Submit the "report a job" form."""
    data = await read_form(request)
    values = dict(data)
    errors: dict[str, str] = {}
    _money(values, errors)

    async def run() -> MaintenanceJob:
        body = validate_form(JobCreate, values, ALIASES)
        if errors:
            raise FormInvalid(errors)
        return await service.create(session, user, body)

    async def refused(refusal: Refusal) -> Response:
        property_id = str(data.get("property_id") or "")
        prop = (
            await property_service.get(session, user, int(property_id))
            if property_id.isdigit()
            else None
        )
        context = {
            "values": data,
            "errors": _refusal_errors(refusal, errors),
            "prop": prop,
            "contacts": await _contacts(session, user),
            "priorities": _choices(JobPriority),
        }
        return render(request, "maintenance/form.html", context, status_code=422)

    done = "/maintenance/{0.id}".format
    return await submit(session, run, done=done, refused=refused, aliases=ALIASES)


async def _detail(
    request: Request,
    session: SessionDep,
    user: User,
    job_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    job = await service.read(session, user, job_id)
    timeline, _ = await activity_service.timeline(
        session, user.agency_id, service.ENTITY, job_id, limit=50
    )
    people = await contact_service.get_many(
        session,
        user.agency_id,
        [i for i in (job.reported_by_contact_id, job.contractor_contact_id) if i],
    )
    if values is None:
        values = {
            "status": job.status.value,
            "priority": job.priority.value,
            "contractor_contact_id": job.contractor_contact_id or "",
            "quote": f"{job.quote_pence / 100:.2f}" if job.quote_pence is not None else "",
            "cost": f"{job.cost_pence / 100:.2f}" if job.cost_pence is not None else "",
        }
    context = {
        "j": job,
        "people": people,
        "timeline": timeline,
        "errors": errors or {},
        "values": values,
        "contacts": await _contacts(session, user),
        "statuses": _choices(JobStatus),
        "priorities": _choices(JobPriority),
    }
    return render(request, "maintenance/detail.html", context, status_code=status_code)


@router.get("/maintenance/{job_id}", response_class=HTMLResponse)
async def job_detail(
    job_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """One job with its timeline."""
    return await _detail(request, session, user, job_id)


@router.post("/maintenance/{job_id}", response_class=HTMLResponse)
async def job_update(
    job_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Save the job's progress (status, priority, contractor, quote, cost)."""
    data = await read_form(request)
    values = dict(data)
    errors: dict[str, str] = {}
    _money(values, errors)

    async def run() -> None:
        body = validate_form(JobUpdate, values, ALIASES)
        if errors:
            raise FormInvalid(errors)
        await service.update(session, user, job_id, body)

    async def refused(refusal: Refusal) -> Response:
        found, status = _refusal_errors(refusal, errors), refusal.status
        return await _detail(
            request, session, user, job_id, errors=found, values=data, status_code=status
        )

    done = f"/maintenance/{job_id}"
    return await submit(session, run, done=done, refused=refused, aliases=ALIASES)


@router.get("/properties/{property_id}/maintenance", response_class=HTMLResponse)
async def property_jobs(
    property_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """The maintenance panel of a property's page (loaded by HTMX)."""
    prop = await property_service.get(session, user, property_id)
    rows, total = await service.search(
        session, user, JobFilters(property_id=prop.id), limit=20, offset=0
    )
    return render(request, "maintenance/_panel.html", {"rows": rows, "total": total, "prop": prop})
