"""Applicants pages: list, detail with matching properties, add and edit forms."""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from estatecrm.activity import service as activity_service
from estatecrm.applicants import service
from estatecrm.applicants.models import (
    MUST_HAVE_RULES,
    Applicant,
    ApplicantStatus,
    BuyerPosition,
    MustHave,
)
from estatecrm.applicants.schemas import ApplicantCreate, ApplicantFilters, ApplicantReplace
from estatecrm.auth import service as auth_service
from estatecrm.auth.deps import CurrentUser, ManagerUser, WriterUser
from estatecrm.contacts import service as contact_service
from estatecrm.contacts.models import Contact
from estatecrm.contacts.pages import choices, contact_label
from estatecrm.db.session import SessionDep
from estatecrm.errors import CRMError
from estatecrm.kit.money import format_pence
from estatecrm.kit.pagination import DEFAULT_LIMIT, offset_from
from estatecrm.properties.models import MarketingType, PropertyType
from estatecrm.viewings import service as viewing_service
from estatecrm.viewings.schemas import ViewingFilters
from estatecrm.web.forms import (
    Refusal,
    errors_from,
    pence_field,
    read_form,
    submit,
    validate_read,
)
from estatecrm.web.templating import render

router = APIRouter(include_in_schema=False)

FILTER_KEYS = ["q", "marketing_type", "status", "active", "area", "negotiator_id", "sort"]
MATCHES_SHOWN = 20


def applicant_label(applicant: Applicant, contact: Contact) -> str:
    """How pickers and lists describe an applicant's search."""
    verb = "buying" if applicant.marketing_type == MarketingType.sale else "renting"
    text = f"{contact.first_name} {contact.last_name} — {verb}"
    if applicant.max_price_pence:
        letting = applicant.marketing_type == MarketingType.letting
        text += f" up to {format_pence(applicant.max_price_pence, per_month=letting)}"
    if applicant.areas:
        text += " in " + ", ".join(applicant.areas[:3]) + ("…" if len(applicant.areas) > 3 else "")
    return text


def _filters_from(params: dict[str, str]) -> tuple[ApplicantFilters, dict[str, str]]:
    raw = {k: v for k, v in params.items() if k in FILTER_KEYS and v != ""}
    try:
        return ApplicantFilters.model_validate(raw), {}
    except ValidationError as exc:
        return ApplicantFilters(), errors_from(exc)


@router.get("/applicants", response_class=HTMLResponse)
async def applicants_list(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Applicants with filters (live ones unless asked otherwise); HTMX swaps the results."""
    params = dict(request.query_params)
    if "active" not in params and "status" not in params:
        params["active"] = "true"
    filters, errors = _filters_from(params)
    offset = offset_from(params)
    rows, total = await service.search(session, user, filters, limit=DEFAULT_LIMIT, offset=offset)
    kept = {k: v for k, v in params.items() if k in FILTER_KEYS and v}
    users = await auth_service.list_users(session, user)
    context = {
        "page": {"items": rows, "total": total, "limit": DEFAULT_LIMIT, "offset": offset},
        "values": kept,
        "errors": errors,
        "base_url": "/applicants" + ("?" + urlencode(kept) if kept else ""),
        "marketing_types": [("sale", "Buying"), ("letting", "Renting")],
        "statuses": choices(ApplicantStatus),
        "actives": [("true", "Live searches"), ("false", "Archived")],
        "negotiators": [(u.id, u.full_name) for u in users],
        "sorts": [
            ("-updated_at", "Recently changed"),
            ("-created_at", "Newest"),
            ("move_by_date", "Moving soonest"),
            ("-max_price_pence", "Highest budget"),
        ],
    }
    return render(request, "applicants/list.html", context, block="results")


@router.get("/applicants/pick", response_class=HTMLResponse)
async def applicants_pick(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Options for an applicant picker (search as you type by the contact's details)."""
    params = request.query_params
    field = "applicant_id"
    q = (params.get(f"{field}_q") or "").strip()
    rows = await service.pick(session, user, q)
    selected = None
    chosen = params.get(field, "")
    if chosen.isdigit():
        try:
            applicant, contact = await service.get_with_contact(session, user, int(chosen))
        except CRMError:
            pass
        else:
            selected = (applicant.id, applicant_label(applicant, contact))
    items = [(a.id, applicant_label(a, c)) for a, c in rows]
    return render(
        request,
        "contacts/pick.html",
        {"field": field, "items": items, "selected": selected, "q": q},
    )


async def _form_context(session: SessionDep, user: Any) -> dict[str, Any]:
    users = await auth_service.list_users(session, user)
    return {
        "marketing_types": [("letting", "Renting"), ("sale", "Buying")],
        "statuses": choices(ApplicantStatus),
        "positions": choices(BuyerPosition),
        "property_types": choices(PropertyType),
        "must_haves": [(m.value, MUST_HAVE_RULES[m].label.capitalize()) for m in MustHave],
        "negotiators": [(u.id, u.full_name) for u in users],
    }


async def _contact_label(session: SessionDep, user: Any, raw: Any) -> str | None:
    if not str(raw or "").isdigit():
        return None
    contact = await contact_service.pick_one(session, user, int(raw))
    return contact_label(contact) if contact else None


@router.get("/applicants/new", response_class=HTMLResponse)
async def applicant_new(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """The empty "Add requirements" form (for a contact, when given)."""
    contact_id = request.query_params.get("contact_id", "")
    values: dict[str, Any] = {
        "marketing_type": "letting",
        "status": "warm",
        "negotiator_id": user.id,
        "contact_id": contact_id if contact_id.isdigit() else "",
    }
    context = {
        "values": values,
        "errors": {},
        "mode": "new",
        "contact_label": await _contact_label(session, user, contact_id),
        **await _form_context(session, user),
    }
    return render(request, "applicants/form.html", context)


def _as_list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    return [value] if isinstance(value, str) else [v for v in value if v]


def _form_to_values(data: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    values = {k: v for k, v in data.items() if not k.endswith("_q")}
    pence_field(values, "min_price", "min_price_pence", errors)
    pence_field(values, "max_price", "max_price_pence", errors)
    values["property_types"] = _as_list(values.get("property_types"))
    values["must_haves"] = _as_list(values.get("must_haves"))
    areas = str(values.pop("areas", "") or "")
    values["areas"] = [a.strip() for a in areas.replace("\n", ",").split(",") if a.strip()]
    return values


async def _save(
    request: Request, session: SessionDep, user: Any, applicant: Applicant | None
) -> Response:
    data = await read_form(request)
    found: dict[str, str] = {}
    values = _form_to_values(data, found)
    aliases = {"min_price_pence": "min_price", "max_price_pence": "max_price"}

    async def run() -> Applicant:
        if applicant is None:
            new = validate_read(ApplicantCreate, values, aliases, found)
            return await service.create(session, user, new)
        replace = validate_read(ApplicantReplace, values, aliases, found)
        return await service.update(session, user, applicant.id, replace)

    async def refused(refusal: Refusal) -> Response:
        shown = {
            **data,
            "property_types": values["property_types"],
            "must_haves": values["must_haves"],
        }
        context = {
            "values": shown,
            "errors": refusal.errors,
            "mode": "new" if applicant is None else "edit",
            "applicant": applicant,
            "contact_label": await _contact_label(session, user, data.get("contact_id")),
            **await _form_context(session, user),
        }
        return render(request, "applicants/form.html", context, status_code=refusal.status)

    return await submit(
        session, run, done=lambda a: f"/applicants/{a.id}", refused=refused, aliases=aliases
    )


@router.post("/applicants", response_class=HTMLResponse)
async def applicant_create(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """Submit the "Add requirements" form."""
    return await _save(request, session, user, None)


@router.get("/applicants/{applicant_id}", response_class=HTMLResponse)
async def applicant_detail(
    applicant_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """An applicant: requirements, matching properties (book from there), viewings, timeline."""
    return await _detail(request, session, user, applicant_id)


async def _detail(
    request: Request,
    session: SessionDep,
    user: Any,
    applicant_id: int,
    *,
    delete_error: str | None = None,
    status_code: int = 200,
) -> Response:
    applicant, contact = await service.get_with_contact(session, user, applicant_id)
    matches, total = await service.matches_for_applicant(
        session, user, applicant.id, limit=MATCHES_SHOWN, offset=0
    )
    viewings, _ = await viewing_service.search(
        session,
        user,
        ViewingFilters(applicant_id=applicant.id, sort="-start_at"),
        limit=20,
        offset=0,
    )
    timeline, _ = await activity_service.timeline(
        session, user.agency_id, service.ENTITY, applicant.id, limit=20
    )
    negotiator = (
        await auth_service.get_user(session, user.agency_id, applicant.negotiator_id)
        if applicant.negotiator_id
        else None
    )
    context = {
        "applicant": applicant,
        "contact": contact,
        "negotiator": negotiator,
        "matches": matches,
        "match_total": total,
        "viewings": await viewing_service.describe(session, user.agency_id, viewings),
        "timeline": timeline,
        "must_have_labels": {m: MUST_HAVE_RULES[m].label for m in MustHave},
        "delete_error": delete_error,
    }
    return render(request, "applicants/detail.html", context, status_code=status_code)


def _pounds(pence: int | None) -> str:
    if pence is None:
        return ""
    pounds, rem = divmod(pence, 100)
    return f"{pounds}" if rem == 0 else f"{pounds}.{rem:02d}"


@router.get("/applicants/{applicant_id}/edit", response_class=HTMLResponse)
async def applicant_edit(
    applicant_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """The edit form, filled in."""
    applicant, contact = await service.get_with_contact(session, user, applicant_id)
    values: dict[str, Any] = {name: getattr(applicant, name) for name in service.TRACKED}
    for key, value in list(values.items()):
        values[key] = getattr(value, "value", value)
    values["property_types"] = [t.value for t in applicant.property_types]
    values["must_haves"] = [m.value for m in applicant.must_haves]
    values["areas"] = ", ".join(applicant.areas or [])
    values["min_price"] = _pounds(applicant.min_price_pence)
    values["max_price"] = _pounds(applicant.max_price_pence)
    values["move_by_date"] = applicant.move_by_date.isoformat() if applicant.move_by_date else ""
    context = {
        "values": values,
        "errors": {},
        "mode": "edit",
        "applicant": applicant,
        "contact_label": contact_label(contact),
        **await _form_context(session, user),
    }
    return render(request, "applicants/form.html", context)


@router.post("/applicants/{applicant_id}/edit", response_class=HTMLResponse)
async def applicant_update(
    applicant_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Submit the edit form."""
    applicant = await service.get(session, user, applicant_id)
    return await _save(request, session, user, applicant)


@router.post("/applicants/{applicant_id}/delete")
async def applicant_delete(
    applicant_id: int, request: Request, session: SessionDep, user: ManagerUser
) -> Response:
    """Delete an applicant (managers and admins); why not, by the button, when it must stay."""
    applicant = await service.get(session, user, applicant_id)
    contact_id = applicant.contact_id

    async def refused(refusal: Refusal) -> Response:
        error, status = refusal.errors["delete"], refusal.status
        return await _detail(
            request, session, user, applicant_id, delete_error=error, status_code=status
        )

    delete = partial(service.delete, session, user, applicant_id)
    done = f"/contacts/{contact_id}"
    return await submit(session, delete, done=done, refused=refused, default_field="delete")
