"""Compliance pages: the dashboard, certificate forms and detail, and the property panel."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from estatecrm.activity import service as activity_service
from estatecrm.auth.deps import CurrentUser, ManagerUser, WriterUser
from estatecrm.auth.models import User
from estatecrm.compliance import rules, service
from estatecrm.compliance.models import Certificate, CertificateType
from estatecrm.compliance.schemas import CertificateCreate, CertificateUpdate
from estatecrm.db.session import SessionDep
from estatecrm.kit.clock import today_london
from estatecrm.kit.pagination import DEFAULT_LIMIT
from estatecrm.properties import service as property_service
from estatecrm.properties.models import Property
from estatecrm.web.forms import (
    FormInvalid,
    Refusal,
    errors_from,
    read_form,
    submit,
)
from estatecrm.web.forms import validate as validate_form
from estatecrm.web.templating import render

router = APIRouter(include_in_schema=False)

OVERVIEW_ROWS = 10
FORM_FIELDS = [
    "type",
    "issued_date",
    "expiry_date",
    "reference",
    "rating",
    "exemption_reference",
    "exemption_expiry_date",
    "document_url",
    "notes",
]


def _type_choices() -> list[tuple[str, str]]:
    return [(t.value, rules.label(t)) for t in CertificateType]


def _form_context() -> dict[str, Any]:
    return {
        "types": _type_choices(),
        "ratings": [(c, c) for c in rules.EPC_RATINGS],
        "validity": [(rules.label(t), months) for t, months in rules.VALIDITY_MONTHS.items()],
    }


def _page_date(params: dict[str, str]) -> date:
    """The day the pages judge statuses on: today, or `?date=` to look ahead or back."""
    try:
        return date.fromisoformat(params.get("date", "")) if params.get("date") else today_london()
    except ValueError:
        return today_london()


def _offset(params: dict[str, str]) -> int:
    try:
        return max(0, int(params.get("offset", "0") or 0))
    except ValueError:
        return 0


def _safe_next(value: str | None, default: str) -> str:
    """Only redirect within the site."""
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return default


@router.get("/compliance", response_class=HTMLResponse)
async def dashboard(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Everything expired, expiring or missing across the agency, by urgency or by property."""
    params = dict(request.query_params)
    on_date = _page_date(params)
    view = "property" if params.get("view") == "property" else "urgency"
    urgency = params.get("urgency") if params.get("urgency") in service.URGENCIES else None
    offset = _offset(params)
    kept = {k: v for k, v in params.items() if k in ("date", "view", "urgency") and v}
    summary = await service.summary(session, user.agency_id, on_date)
    context: dict[str, Any] = {
        "on_date": on_date,
        "view": view,
        "urgency": urgency,
        "titles": service.URGENCY_TITLES,
        "summary": summary,
        "date_param": f"date={on_date.isoformat()}" if "date" in params else "",
        "base_url": "/compliance" + ("?" + urlencode(kept) if kept else ""),
        "values": {"type": params.get("type", "")},
        "errors": {},
        **_form_context(),
    }
    if view == "property":
        groups, total = await service.by_property(
            session, user.agency_id, on_date, limit=DEFAULT_LIMIT, offset=offset
        )
        context["groups"] = groups
        context["page"] = {
            "items": groups,
            "total": total,
            "limit": DEFAULT_LIMIT,
            "offset": offset,
        }
    elif urgency is not None:
        rows, total = await service.items(
            session, user.agency_id, on_date, urgency=urgency, limit=DEFAULT_LIMIT, offset=offset
        )
        context["page"] = {"items": rows, "total": total, "limit": DEFAULT_LIMIT, "offset": offset}
    else:
        buckets = []
        for name in service.URGENCIES:
            total = summary.by_urgency[name]
            rows, _ = await service.items(
                session, user.agency_id, on_date, urgency=name, limit=OVERVIEW_ROWS, total=total
            )
            buckets.append({"name": name, "items": rows, "total": total})
        context["buckets"] = buckets
    context["epc"], context["epc_total"] = await service.epc_problems(
        session, user.agency_id, on_date, limit=50
    )
    context["extra_sections"] = await service.extra_sections(session, user.agency_id, on_date)
    return render(request, "compliance/dashboard.html", context, block="results")


async def _property_panel_context(
    session: SessionDep, user: User, prop: Property, on_date: date
) -> dict[str, Any]:
    compliance = await service.property_compliance(session, user, prop.id, on_date)
    history, total = await service.for_property(session, user, prop.id, limit=50, offset=0)
    return {
        "prop": prop,
        "on_date": on_date,
        "compliance": compliance,
        "history": [service.to_read(c, on_date) for c in history],
        "history_total": total,
        "is_letting": prop.marketing_type.value == "letting",
        "values": {},
        "errors": {},
        **_form_context(),
    }


@router.get("/properties/{property_id}/compliance", response_class=HTMLResponse)
async def property_panel(
    property_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """The property page's compliance panel (loaded by HTMX), or the same as a page."""
    prop = await property_service.get(session, user, property_id)
    context = await _property_panel_context(
        session, user, prop, _page_date(dict(request.query_params))
    )
    return render(request, "compliance/property.html", context, block="panel")


@router.get("/certificates")
async def certificates_index(user: CurrentUser) -> Response:
    """Certificates are browsed on the compliance dashboard."""
    return RedirectResponse("/compliance", status_code=303)


@router.get("/certificates/new", response_class=HTMLResponse)
async def certificate_new(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """The "Add certificate" form; `?property_id=` and `?type=` fill it in."""
    params = dict(request.query_params)
    prop = None
    if params.get("property_id", "").isdigit():
        prop = await property_service.get(session, user, int(params["property_id"]))
    values = {"type": params.get("type", "")}
    context = {"values": values, "errors": {}, "mode": "new", "prop": prop, "cert_id": None}
    context["next"] = _safe_next(params.get("next"), "")
    return render(request, "compliance/form.html", {**context, **_form_context()})


def _form_values(data: dict[str, Any]) -> dict[str, Any]:
    return {name: data.get(name, "") for name in FORM_FIELDS}


def _form_again(
    request: Request,
    data: dict[str, Any],
    refusal: Refusal,
    prop: Property | None,
    cert_id: int | None,
    next_url: str,
) -> Response:
    """The certificate form again (new, or editing `cert_id`) with why it was refused: a 422."""
    context = {
        "values": data,
        "errors": refusal.errors,
        "mode": "new" if cert_id is None else "edit",
        "prop": prop,
        "cert_id": cert_id,
        "next": next_url,
        **_form_context(),
    }
    return render(request, "compliance/form.html", context, status_code=422)


@router.post("/certificates", response_class=HTMLResponse)
async def certificate_create(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """Submit the "Add certificate" form (from the dashboard, the property page or its own)."""
    data = await read_form(request)
    prop: Property | None = None

    async def run() -> Certificate:
        nonlocal prop
        if str(data.get("property_id", "")).isdigit():
            prop = await property_service.get(session, user, int(data["property_id"]))
        elif str(data.get("property_reference", "")).strip():
            prop = await service.property_by_reference(
                session, user, str(data["property_reference"])
            )
        values = _form_values(data)
        if prop is not None:
            values["property_id"] = prop.id
        new = validate_form(CertificateCreate, values, {"property_id": "property_reference"})
        return await service.create(session, user, new)

    def done(cert: Certificate) -> str:
        return _safe_next(str(data.get("next", "")), f"/certificates/{cert.id}")

    async def refused(refusal: Refusal) -> Response:
        next_url = _safe_next(str(data.get("next", "")), "")
        return _form_again(request, data, refusal, prop, None, next_url)

    return await submit(session, run, done=done, refused=refused)


@router.get("/certificates/{certificate_id}", response_class=HTMLResponse)
async def certificate_detail(
    certificate_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """One certificate with its status and timeline."""
    return await _detail(request, session, user, certificate_id)


async def _detail(
    request: Request,
    session: SessionDep,
    user: Any,
    certificate_id: int,
    *,
    delete_error: str | None = None,
    status_code: int = 200,
) -> Response:
    cert = await service.get(session, user, certificate_id)
    prop = await service.property_of(session, user, cert)
    on_date = _page_date(dict(request.query_params))
    timeline, _ = await activity_service.timeline(
        session, user.agency_id, service.ENTITY, cert.id, limit=50
    )
    context = {
        "cert": service.to_read(cert, on_date),
        "prop": prop,
        "timeline": timeline,
        "on_date": on_date,
        "type_label": rules.label(cert.type),
        "delete_error": delete_error,
    }
    return render(request, "compliance/detail.html", context, status_code=status_code)


def _values_of(cert: Certificate) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in FORM_FIELDS:
        value = getattr(cert, name)
        values[name] = getattr(value, "value", value)
    if cert.expiry_derived:
        values["expiry_date"] = ""
    return values


@router.get("/certificates/{certificate_id}/edit", response_class=HTMLResponse)
async def certificate_edit(
    certificate_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """The edit form, filled in (a derived expiry shows blank, so it follows the issue date)."""
    cert = await service.get(session, user, certificate_id)
    prop = await service.property_of(session, user, cert)
    context = {
        "values": _values_of(cert),
        "errors": {},
        "mode": "edit",
        "prop": prop,
        "cert_id": cert.id,
        "next": "",
        **_form_context(),
    }
    return render(request, "compliance/form.html", context)


@router.post("/certificates/{certificate_id}/edit", response_class=HTMLResponse)
async def certificate_update(
    certificate_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Submit the edit form; a blank expiry is derived again from the type's rule."""
    cert = await service.get(session, user, certificate_id)
    prop = await service.property_of(session, user, cert)
    data = await read_form(request)
    values: dict[str, Any] = {k: (v if v != "" else None) for k, v in _form_values(data).items()}
    values["notes"] = values["notes"] or ""

    async def run() -> None:
        try:
            changes = CertificateUpdate.model_validate(values)
        except ValidationError as exc:
            raise FormInvalid(errors_from(exc)) from exc
        await service.update(session, user, cert.id, changes)

    async def refused(refusal: Refusal) -> Response:
        return _form_again(request, data, refusal, prop, certificate_id, "")

    return await submit(session, run, done=f"/certificates/{certificate_id}", refused=refused)


@router.post("/certificates/{certificate_id}/delete")
async def certificate_delete(
    certificate_id: int, request: Request, session: SessionDep, user: ManagerUser
) -> Response:
    """Delete a certificate recorded in error (managers and admins); why not, by the button."""

    async def refused(refusal: Refusal) -> Response:
        error, status = refusal.errors.get("delete"), refusal.status
        return await _detail(
            request, session, user, certificate_id, delete_error=error, status_code=status
        )

    delete = partial(service.delete, session, user, certificate_id)
    done = "/properties/{0.id}".format
    return await submit(session, delete, done=done, refused=refused, default_field="delete")
