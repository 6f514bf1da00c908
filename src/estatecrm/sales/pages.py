"""Sales progression pages: the pipeline, a sale with its milestones, solicitors, chain and
fall-through, and the panel on a property's page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from estatecrm.activity import service as activity_service
from estatecrm.auth.deps import CurrentUser, WriterUser
from estatecrm.auth.models import User
from estatecrm.db.session import SessionDep
from estatecrm.errors import NotFound
from estatecrm.kit.clock import today_london
from estatecrm.kit.pagination import DEFAULT_LIMIT, offset_from
from estatecrm.properties import service as property_service
from estatecrm.sales import service
from estatecrm.sales.models import ChainDirection, Milestone, SaleStatus
from estatecrm.sales.schemas import (
    ChainLinkCreate,
    FallThrough,
    MilestoneUpdate,
    SaleFilters,
    SaleUpdate,
)
from estatecrm.web.forms import Refusal, read_form, submit
from estatecrm.web.forms import validate as validate_form
from estatecrm.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/sales", response_class=HTMLResponse)
async def sales_list(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Sales in progression with their progress; HTMX swaps only the results."""
    params = dict(request.query_params)
    offset = offset_from(params)
    kept = {k: v for k, v in params.items() if k == "status" and v}
    try:
        filters = SaleFilters.model_validate(kept)
    except ValidationError:
        filters = SaleFilters()
    rows, total = await service.search(
        session, user, filters, today_london(), limit=DEFAULT_LIMIT, offset=offset
    )
    context = {
        "rows": rows,
        "page": {"items": rows, "total": total, "limit": DEFAULT_LIMIT, "offset": offset},
        "values": kept,
        "statuses": [(s.value, s.value.replace("_", " ").capitalize()) for s in SaleStatus],
        "base_url": "/sales" + ("?" + urlencode(kept) if kept else ""),
    }
    return render(request, "sales/list.html", context, block="results")


async def _detail(
    request: Request,
    session: SessionDep,
    user: User,
    sale_id: int,
    *,
    refusal: Refusal | None = None,
    values: dict[str, Any] | None = None,
    form: str = "",
) -> Response:
    """The sale's page; with the `refusal` of the form that was sent, if any."""
    today = today_london()
    s = await service.read(session, user, sale_id, today)
    timeline, _ = await activity_service.timeline(
        session, user.agency_id, service.ENTITY, sale_id, limit=50
    )
    context = {
        "s": s,
        "chain": await service.chain(session, user, sale_id, today),
        "timeline": timeline,
        "errors": refusal.errors if refusal else {},
        "values": values or {},
        "form": form,
        "directions": [(d.value, d.value.capitalize()) for d in ChainDirection],
    }
    status_code = refusal.status if refusal else 200
    return render(request, "sales/detail.html", context, status_code=status_code)


@router.get("/sales/{sale_id}", response_class=HTMLResponse)
async def sale_detail(
    sale_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """One sale: milestones, solicitors, chain and timeline."""
    return await _detail(request, session, user, sale_id)


async def _act(
    request: Request,
    session: SessionDep,
    user: User,
    sale_id: int,
    form: str,
    schema: type[BaseModel],
    act: Any,
) -> Response:
    """Save one form of the sale's page: `act(session, user, sale_id, body)`."""
    data = await read_form(request)

    async def run() -> None:
        await act(session, user, sale_id, validate_form(schema, data))

    async def refused(refusal: Refusal) -> Response:
        return await _detail(
            request, session, user, sale_id, refusal=refusal, values=data, form=form
        )

    return await submit(
        session, run, done=f"/sales/{sale_id}", refused=refused, default_field="action"
    )


@router.post("/sales/{sale_id}/milestones/{milestone}", response_class=HTMLResponse)
async def sale_milestone(
    sale_id: int, milestone: str, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Save one milestone's dates."""
    try:
        key = Milestone(milestone)
    except ValueError:
        raise NotFound("No such milestone") from None

    async def save(session: SessionDep, user: User, sale_id: int, body: MilestoneUpdate) -> None:
        data = MilestoneUpdate(target_date=body.target_date, done_date=body.done_date)
        await service.set_milestone(session, user, sale_id, key, data)

    return await _act(request, session, user, sale_id, key.value, MilestoneUpdate, save)


@router.post("/sales/{sale_id}/solicitors", response_class=HTMLResponse)
async def sale_solicitors(
    sale_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Save the solicitors."""
    return await _act(request, session, user, sale_id, "solicitors", SaleUpdate, service.update)


@router.post("/sales/{sale_id}/chain-links", response_class=HTMLResponse)
async def sale_link(
    sale_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Add a chain link."""
    return await _act(request, session, user, sale_id, "chain", ChainLinkCreate, service.add_link)


@router.post("/sales/{sale_id}/chain-links/{link_id}/delete", response_class=HTMLResponse)
async def sale_unlink(
    sale_id: int, link_id: int, session: SessionDep, user: WriterUser
) -> Response:
    """Remove a chain link."""
    await service.remove_link(session, user, sale_id, link_id)
    return RedirectResponse(f"/sales/{sale_id}", status_code=303)


@router.post("/sales/{sale_id}/fall-through", response_class=HTMLResponse)
async def sale_fall_through(
    sale_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Record that the sale fell through."""
    return await _act(request, session, user, sale_id, "fall", FallThrough, service.fall_through)


@router.get("/properties/{property_id}/sales", response_class=HTMLResponse)
async def property_sales(
    property_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """The sales panel of a property's page (loaded by HTMX)."""
    prop = await property_service.get(session, user, property_id)
    rows, total = await service.search(
        session, user, SaleFilters(property_id=prop.id), today_london(), limit=20, offset=0
    )
    return render(request, "sales/_panel.html", {"rows": rows, "total": total})
