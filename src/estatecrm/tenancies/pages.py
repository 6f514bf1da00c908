"""Tenancies pages: the list, the "create tenancy" form, a tenancy with its deposit, right-to-
rent checks, activation, rent and ending, and the panels on property and contact pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from estatecrm.activity import service as activity_service
from estatecrm.auth.deps import CurrentUser, WriterUser
from estatecrm.auth.models import User
from estatecrm.contacts import service as contact_service
from estatecrm.contacts.schemas import ContactFilters
from estatecrm.db.session import SessionDep
from estatecrm.kit.clock import today_london
from estatecrm.kit.pagination import DEFAULT_LIMIT, offset_from
from estatecrm.offers import service as offer_service
from estatecrm.properties import service as property_service
from estatecrm.tenancies import rules, service
from estatecrm.tenancies.models import RentFrequency, RightToRentResult, TenancyStatus, TenancyTerm
from estatecrm.tenancies.schemas import (
    RentIncrease,
    RightToRentCreate,
    TenancyActivate,
    TenancyCreate,
    TenancyEnd,
    TenancyFilters,
    TenancyUpdate,
)
from estatecrm.web.forms import Refusal, pence_field, read_form, submit, validate_read
from estatecrm.web.templating import render

router = APIRouter(include_in_schema=False)

MONEY = {"rent": "rent_pence", "deposit": "deposit_pence"}
ALIASES = {v: k for k, v in MONEY.items()}


def _choices(enum_cls: Any) -> list[tuple[str, str]]:
    return [(e.value, e.value.replace("_", " ").capitalize()) for e in enum_cls]


SCHEMES = [("dps", "DPS"), ("mydeposits", "mydeposits"), ("tds", "TDS")]


def _int(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() else None


def _money(values: dict[str, Any], errors: dict[str, str]) -> None:
    for form_name, api_name in MONEY.items():
        if form_name in values:
            pence_field(values, form_name, api_name, errors)


@router.get("/tenancies", response_class=HTMLResponse)
async def tenancies_list(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Tenancies, latest first, with overdue deposits flagged; HTMX swaps only the results."""
    params = dict(request.query_params)
    offset = offset_from(params)
    kept = {k: v for k, v in params.items() if k in ("status", "deposit_overdue") and v}
    try:
        filters = TenancyFilters.model_validate(kept)
    except ValidationError:
        filters = TenancyFilters()
    today = today_london()
    rows, total = await service.search(
        session, user, filters, today, limit=DEFAULT_LIMIT, offset=offset
    )
    context = {
        "rows": rows,
        "page": {"items": rows, "total": total, "limit": DEFAULT_LIMIT, "offset": offset},
        "values": kept,
        "statuses": _choices(TenancyStatus),
        "base_url": "/tenancies" + ("?" + urlencode(kept) if kept else ""),
    }
    return render(request, "tenancies/list.html", context, block="results")


async def _form_context(session: SessionDep, user: User, values: dict[str, Any]) -> dict[str, Any]:
    offer = None
    prop = None
    offer_id = _int(values.get("offer_id"))
    if offer_id:
        offer = await offer_service.read(session, user, offer_id)
    property_id = offer.property_id if offer else _int(values.get("property_id"))
    if property_id:
        prop = await property_service.get(session, user, property_id)
    contacts, _ = await contact_service.search(session, user, ContactFilters(), limit=200, offset=0)
    return {
        "offer": offer,
        "prop": prop,
        "contacts": [(c.id, f"{c.first_name} {c.last_name}") for c in contacts],
        "terms": _choices(TenancyTerm),
        "frequencies": _choices(RentFrequency),
        "schemes": SCHEMES,
    }


@router.get("/tenancies/new", response_class=HTMLResponse)
async def tenancy_new(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """The "create tenancy" form, from an accepted offer (`?offer_id=`) or a property."""
    params = dict(request.query_params)
    values: dict[str, Any] = {
        "offer_id": params.get("offer_id", ""),
        "property_id": params.get("property_id", ""),
        "term": "periodic",
        "rent_frequency": "monthly",
    }
    context = await _form_context(session, user, values)
    offer = context["offer"]
    if offer is not None:
        values["tenant_contact_ids"] = [offer.contact_id]
        values["rent"] = f"{offer.amount_pence / 100:.2f}"
        if offer.proposed_move_in_date:
            values["start_date"] = offer.proposed_move_in_date.isoformat()
        if offer.proposed_term_months:
            values["term"] = "fixed"
    return render(request, "tenancies/form.html", {"values": values, "errors": {}, **context})


@router.post("/tenancies", response_class=HTMLResponse)
async def tenancy_create(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """Submit the "create tenancy" form."""
    data = await read_form(request)
    values = dict(data)
    if isinstance(values.get("tenant_contact_ids"), str):
        values["tenant_contact_ids"] = [values["tenant_contact_ids"]]
    found: dict[str, str] = {}
    _money(values, found)

    async def run() -> Any:
        body = validate_read(TenancyCreate, values, ALIASES, found)
        return await service.create(session, user, body)

    async def refused(refusal: Refusal) -> Response:
        context = {
            "values": data,
            "errors": refusal.errors,
            **await _form_context(session, user, data),
        }
        return render(request, "tenancies/form.html", context, status_code=refusal.status)

    done = "/tenancies/{0.id}".format
    return await submit(session, run, done=done, refused=refused, aliases=ALIASES)


async def _detail(
    request: Request,
    session: SessionDep,
    user: User,
    tenancy_id: int,
    *,
    refusal: Refusal | None = None,
    values: dict[str, Any] | None = None,
    form: str = "",
) -> Response:
    """The tenancy's page; with the `refusal` of the form that was sent, if any."""
    today = today_london()
    t = await service.read(session, user, tenancy_id, today)
    checks = await service.checks(session, user, tenancy_id)
    contacts = await contact_service.get_many(
        session, user.agency_id, t.tenant_contact_ids + [c.contact_id for c in checks]
    )
    timeline, _ = await activity_service.timeline(
        session, user.agency_id, service.ENTITY, tenancy_id, limit=50
    )
    landlord = (
        await contact_service.find(session, user.agency_id, t.landlord_contact_id)
        if t.landlord_contact_id
        else None
    )
    _, weeks = rules.deposit_cap(t.rent_pence, t.rent_frequency)
    context = {
        "t": t,
        "checks": checks,
        "contacts": contacts,
        "tenants": [
            (i, f"{contacts[i].first_name} {contacts[i].last_name}")
            for i in t.tenant_contact_ids
            if i in contacts
        ],
        "landlord": landlord,
        "timeline": timeline,
        "cap_weeks": weeks,
        "results": _choices(RightToRentResult),
        "schemes": SCHEMES,
        "errors": refusal.errors if refusal else {},
        "values": values or {},
        "form": form,
        "today": today,
        "end_statuses": [("available", "Available"), ("withdrawn", "Withdrawn")],
    }
    status_code = refusal.status if refusal else 200
    return render(request, "tenancies/detail.html", context, status_code=status_code)


@router.get("/tenancies/{tenancy_id}", response_class=HTMLResponse)
async def tenancy_detail(
    tenancy_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """One tenancy with its deposit, checks and timeline."""
    return await _detail(request, session, user, tenancy_id)


async def _act(
    request: Request,
    session: SessionDep,
    user: User,
    tenancy_id: int,
    form: str,
    schema: type[BaseModel],
    act: Any,
) -> Response:
    """Save one form of the tenancy's page: `act(session, user, tenancy_id, body)`."""
    data = await read_form(request)
    values = dict(data)
    found: dict[str, str] = {}
    _money(values, found)

    async def run() -> None:
        body = validate_read(schema, values, ALIASES, found)
        await act(session, user, tenancy_id, body)

    async def refused(refusal: Refusal) -> Response:
        return await _detail(
            request, session, user, tenancy_id, refusal=refusal, values=data, form=form
        )

    done = f"/tenancies/{tenancy_id}"
    return await submit(
        session, run, done=done, refused=refused, default_field="action", aliases=ALIASES
    )


async def _activate(
    session: SessionDep, user: User, tenancy_id: int, body: TenancyActivate
) -> None:
    await service.activate(session, user, tenancy_id, body.on_date or today_london())


async def _end(session: SessionDep, user: User, tenancy_id: int, body: TenancyEnd) -> None:
    await service.end(session, user, tenancy_id, body, today_london())


@router.post("/tenancies/{tenancy_id}/deposit", response_class=HTMLResponse)
async def tenancy_deposit(
    tenancy_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Save the deposit details (amount, dates, scheme, reference)."""
    return await _act(request, session, user, tenancy_id, "deposit", TenancyUpdate, service.update)


@router.post("/tenancies/{tenancy_id}/right-to-rent-checks", response_class=HTMLResponse)
async def tenancy_check(
    tenancy_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Record a right-to-rent check."""
    return await _act(
        request, session, user, tenancy_id, "check", RightToRentCreate, service.add_check
    )


@router.post("/tenancies/{tenancy_id}/activate", response_class=HTMLResponse)
async def tenancy_activate(
    tenancy_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Start the tenancy; what is missing is listed on the page when refused."""
    return await _act(request, session, user, tenancy_id, "activate", TenancyActivate, _activate)


@router.post("/tenancies/{tenancy_id}/end", response_class=HTMLResponse)
async def tenancy_end(
    tenancy_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """End the tenancy (or record notice for a future date)."""
    return await _act(request, session, user, tenancy_id, "end", TenancyEnd, _end)


@router.post("/tenancies/{tenancy_id}/rent-increase", response_class=HTMLResponse)
async def tenancy_rent(
    tenancy_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Change the rent."""
    return await _act(
        request, session, user, tenancy_id, "rent", RentIncrease, service.rent_increase
    )


@router.get("/properties/{property_id}/tenancies", response_class=HTMLResponse)
async def property_tenancies(
    property_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """The tenancies panel of a property's page (loaded by HTMX)."""
    prop = await property_service.get(session, user, property_id)
    rows, total = await service.search(
        session, user, TenancyFilters(property_id=prop.id), today_london(), limit=20, offset=0
    )
    return render(request, "tenancies/_panel.html", {"rows": rows, "total": total, "prop": prop})


@router.get("/contacts/{contact_id}/tenancies", response_class=HTMLResponse)
async def contact_tenancies(
    contact_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """The tenancies panel of a contact's page: as tenant or landlord (loaded by HTMX)."""
    contact = await contact_service.get(session, user, contact_id)
    rows, total = await service.search(
        session, user, TenancyFilters(contact_id=contact.id), today_london(), limit=20, offset=0
    )
    return render(request, "tenancies/_panel.html", {"rows": rows, "total": total, "prop": None})
