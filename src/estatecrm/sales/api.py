"""Sales progression JSON API: `/api/v1/sales`, milestones, chain and fall-through.

Derived figures (days since agreed, overdue milestones) are judged on `?on=YYYY-MM-DD` when
given (default: today in the UK).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from estatecrm.activity.api import add_timeline_route
from estatecrm.auth.deps import CurrentUser, WriterUser
from estatecrm.db.session import SessionDep
from estatecrm.kit.clock import today_london
from estatecrm.kit.pagination import Page, Paging
from estatecrm.sales import service
from estatecrm.sales.models import Milestone
from estatecrm.sales.schemas import (
    ChainEntry,
    ChainLinkCreate,
    FallThrough,
    MilestoneUpdate,
    SaleFilters,
    SaleRead,
    SaleUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["sales"])

On = Annotated[date | None, Query(alias="on", description="Judge dates on this day")]


def _day(on: date | None) -> date:
    return on or today_london()


@router.get("/sales", response_model=Page[SaleRead])
async def list_sales(
    session: SessionDep,
    user: CurrentUser,
    paging: Paging,
    filters: Annotated[SaleFilters, Query()],
    on: On = None,
) -> Page[SaleRead]:
    """Sales in progression, newest agreed first (`status`, `property_id`, `contact_id`)."""
    items, total = await service.search(
        session, user, filters, _day(on), limit=paging.limit, offset=paging.offset
    )
    return paging.page(items, total)


@router.get("/sales/{sale_id}", response_model=SaleRead)
async def get_sale(sale_id: int, session: SessionDep, user: CurrentUser, on: On = None) -> SaleRead:
    """One sale with its milestones, progress and chain links."""
    return await service.read(session, user, sale_id, _day(on))


@router.patch("/sales/{sale_id}", response_model=SaleRead)
async def update_sale(
    sale_id: int, body: SaleUpdate, session: SessionDep, user: WriterUser, on: On = None
) -> SaleRead:
    """Record the solicitors."""
    await service.update(session, user, sale_id, body)
    return await service.read(session, user, sale_id, _day(on))


@router.put("/sales/{sale_id}/milestones/{milestone}", response_model=SaleRead)
async def set_milestone(
    sale_id: int,
    milestone: Milestone,
    body: MilestoneUpdate,
    session: SessionDep,
    user: WriterUser,
    on: On = None,
) -> SaleRead:
    """Set a milestone's target and done dates (exchange → sold STC, completion → sold)."""
    await service.set_milestone(session, user, sale_id, milestone, body)
    return await service.read(session, user, sale_id, _day(on))


@router.post("/sales/{sale_id}/fall-through", response_model=SaleRead)
async def fall_through(
    sale_id: int, body: FallThrough, session: SessionDep, user: WriterUser, on: On = None
) -> SaleRead:
    """Record that the sale fell through; the property is available again."""
    await service.fall_through(session, user, sale_id, body)
    return await service.read(session, user, sale_id, _day(on))


@router.post("/sales/{sale_id}/chain-links", response_model=SaleRead, status_code=201)
async def add_chain_link(
    sale_id: int, body: ChainLinkCreate, session: SessionDep, user: WriterUser, on: On = None
) -> SaleRead:
    """Link the buyer's own sale (downward) or the vendor's onward purchase (upward)."""
    await service.add_link(session, user, sale_id, body)
    return await service.read(session, user, sale_id, _day(on))


@router.delete("/sales/{sale_id}/chain-links/{link_id}", status_code=204)
async def remove_chain_link(
    sale_id: int, link_id: int, session: SessionDep, user: WriterUser
) -> Response:
    """Remove a chain link."""
    await service.remove_link(session, user, sale_id, link_id)
    return Response(status_code=204)


@router.get("/sales/{sale_id}/chain", response_model=list[ChainEntry])
async def sale_chain(
    sale_id: int, session: SessionDep, user: CurrentUser, on: On = None
) -> list[ChainEntry]:
    """The chain through this sale, top to bottom, with each link's status."""
    return await service.chain(session, user, sale_id, _day(on))


add_timeline_route(
    router,
    "/sales/{sale_id}/activity",
    service,
    "The sale's timeline, newest first (kept after a fall-through).",
)
