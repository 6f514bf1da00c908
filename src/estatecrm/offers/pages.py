"""Offers pages: the offers board, an offer with its decisions, the "make an offer" form, and
the offers panels on the property and applicant pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from estatecrm.activity import service as activity_service
from estatecrm.applicants import service as applicant_service
from estatecrm.applicants.schemas import ApplicantFilters
from estatecrm.auth.deps import CurrentUser, WriterUser
from estatecrm.auth.models import User
from estatecrm.db.session import SessionDep
from estatecrm.kit.pagination import DEFAULT_LIMIT, offset_from
from estatecrm.offers import service
from estatecrm.offers.models import OfferStatus
from estatecrm.offers.schemas import (
    OfferCounter,
    OfferCreate,
    OfferFilters,
    OfferReject,
    OfferWithdraw,
)
from estatecrm.properties import service as property_service
from estatecrm.web.forms import Refusal, pence_field, read_form, submit, validate_read
from estatecrm.web.templating import render

router = APIRouter(include_in_schema=False)

FILTER_KEYS = ["status", "marketing_type", "property_id", "applicant_id"]


def _filters_from(params: dict[str, str]) -> OfferFilters:
    raw = {k: v for k, v in params.items() if k in FILTER_KEYS and v}
    try:
        return OfferFilters.model_validate(raw)
    except ValidationError:
        return OfferFilters()


@router.get("/offers", response_class=HTMLResponse)
async def offers_board(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Every offer, newest first, by status; HTMX swaps only the results."""
    params = dict(request.query_params)
    offset = offset_from(params)
    filters = _filters_from(params)
    rows, total = await service.search(session, user, filters, limit=DEFAULT_LIMIT, offset=offset)
    kept = {k: v for k, v in params.items() if k in FILTER_KEYS and v}
    context = {
        "rows": await service.read_rows(session, user, rows),
        "page": {"items": rows, "total": total, "limit": DEFAULT_LIMIT, "offset": offset},
        "values": kept,
        "statuses": [(s.value, s.value.capitalize()) for s in OfferStatus],
        "counts": await service.status_counts(session, user),
        "base_url": "/offers" + ("?" + urlencode(kept) if kept else ""),
    }
    return render(request, "offers/list.html", context, block="results")


async def _form_context(session: SessionDep, user: User, property_id: int | None) -> dict[str, Any]:
    prop = await property_service.get(session, user, property_id) if property_id else None
    filters = ApplicantFilters(marketing_type=prop.marketing_type) if prop else ApplicantFilters()
    applicants, _ = await applicant_service.search(session, user, filters, limit=100, offset=0)
    return {
        "prop": prop,
        "applicants": [
            (a.id, f"{c.first_name} {c.last_name} ({a.marketing_type.value})")
            for a, c in applicants
            if a.status.value != "archived"
        ],
    }


def _int(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() else None


@router.get("/offers/new", response_class=HTMLResponse)
async def offer_new(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """The "Record an offer" form; `?property_id=&applicant_id=` fill it in."""
    params = dict(request.query_params)
    property_id = _int(params.get("property_id"))
    values = {"property_id": property_id, "applicant_id": _int(params.get("applicant_id"))}
    context = {"values": values, "errors": {}, **await _form_context(session, user, property_id)}
    return render(request, "offers/form.html", context)


@router.post("/offers", response_class=HTMLResponse)
async def offer_create(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """Submit the "Record an offer" form."""
    data = await read_form(request)
    values = dict(data)
    found: dict[str, str] = {}
    pence_field(values, "amount", "amount_pence", found)

    async def run() -> Any:
        body = validate_read(OfferCreate, values, {"amount_pence": "amount"}, found)
        return await service.create(session, user, body)

    async def refused(refusal: Refusal) -> Response:
        context = {
            "values": data,
            "errors": refusal.errors,
            **await _form_context(session, user, _int(data.get("property_id"))),
        }
        return render(request, "offers/form.html", context, status_code=refusal.status)

    aliases = {"amount_pence": "amount"}
    done = "/offers/{0.id}".format
    return await submit(session, run, done=done, refused=refused, aliases=aliases)


async def _detail(
    request: Request,
    session: SessionDep,
    user: User,
    offer_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    offer = await service.read(session, user, offer_id)
    timeline, _ = await activity_service.timeline(
        session, user.agency_id, service.ENTITY, offer_id, limit=50
    )
    context = {
        "o": offer,
        "timeline": timeline,
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, "offers/detail.html", context, status_code=status_code)


@router.get("/offers/{offer_id}", response_class=HTMLResponse)
async def offer_detail(
    offer_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """One offer with its decisions and timeline."""
    return await _detail(request, session, user, offer_id)


async def _act(
    request: Request,
    session: SessionDep,
    user: User,
    offer_id: int,
    schema: type[BaseModel] | None,
    action: Any,
    aliases: dict[str, str] | None = None,
) -> Response:
    data = await read_form(request)
    values = dict(data)
    found: dict[str, str] = {}
    if "counter_amount" in values:
        pence_field(values, "counter_amount", "counter_amount_pence", found)

    async def run() -> None:
        if schema is None:
            await action(session, user, offer_id)
        else:
            body = validate_read(schema, values, aliases, found)
            await action(session, user, offer_id, body)

    async def refused(refusal: Refusal) -> Response:
        errors, status = refusal.errors, refusal.status
        return await _detail(
            request, session, user, offer_id, errors=errors, values=data, status_code=status
        )

    return await submit(
        session, run, done=f"/offers/{offer_id}", refused=refused, default_field="action"
    )


@router.post("/offers/{offer_id}/accept", response_class=HTMLResponse)
async def offer_accept(
    offer_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Accept the offer (refusals are shown on the offer's page)."""
    return await _act(request, session, user, offer_id, None, service.accept)


@router.post("/offers/{offer_id}/reject", response_class=HTMLResponse)
async def offer_reject(
    offer_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Reject the offer with a reason."""
    return await _act(request, session, user, offer_id, OfferReject, service.reject)


@router.post("/offers/{offer_id}/withdraw", response_class=HTMLResponse)
async def offer_withdraw(
    offer_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """The applicant withdraws the offer."""
    return await _act(request, session, user, offer_id, OfferWithdraw, service.withdraw)


@router.post("/offers/{offer_id}/counter", response_class=HTMLResponse)
async def offer_counter(
    offer_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Counter the offer."""
    return await _act(
        request,
        session,
        user,
        offer_id,
        OfferCounter,
        service.counter,
        {"counter_amount_pence": "counter_amount"},
    )


@router.get("/properties/{property_id}/offers", response_class=HTMLResponse)
async def property_offers(
    property_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """The offers panel of a property's page (loaded by HTMX)."""
    prop = await property_service.get(session, user, property_id)
    rows, total = await service.search(
        session, user, OfferFilters(property_id=prop.id), limit=50, offset=0
    )
    context = {"rows": await service.read_rows(session, user, rows), "total": total, "prop": prop}
    return render(request, "offers/_property_panel.html", context)


@router.get("/applicants/{applicant_id}/offers", response_class=HTMLResponse)
async def applicant_offers(
    applicant_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """The offers panel of an applicant's page (loaded by HTMX)."""
    applicant = await applicant_service.get(session, user, applicant_id)
    rows, total = await service.search(
        session, user, OfferFilters(applicant_id=applicant.id), limit=50, offset=0
    )
    context = {
        "rows": await service.read_rows(session, user, rows),
        "total": total,
        "applicant": applicant,
    }
    return render(request, "offers/_applicant_panel.html", context)
