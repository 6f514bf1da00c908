"""Offers JSON API: `/api/v1/offers`, with accept, reject, withdraw and counter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from estatecrm.activity.api import add_timeline_route
from estatecrm.auth.deps import CurrentUser, WriterUser
from estatecrm.db.session import SessionDep
from estatecrm.kit.pagination import Page, Paging
from estatecrm.offers import service
from estatecrm.offers.schemas import (
    OfferCounter,
    OfferCreate,
    OfferFilters,
    OfferRead,
    OfferReject,
    OfferUpdate,
    OfferWithdraw,
)

router = APIRouter(prefix="/api/v1", tags=["offers"])


@router.get("/offers", response_model=Page[OfferRead])
async def list_offers(
    session: SessionDep,
    user: CurrentUser,
    paging: Paging,
    filters: Annotated[OfferFilters, Query()],
) -> Page[OfferRead]:
    """Offers, newest first (`status`, `property_id`, `applicant_id`, `contact_id`, ...)."""
    rows, total = await service.search(
        session, user, filters, limit=paging.limit, offset=paging.offset
    )
    return paging.page(await service.read_rows(session, user, rows), total)


@router.post("/offers", response_model=OfferRead, status_code=201)
async def create_offer(body: OfferCreate, session: SessionDep, user: WriterUser) -> OfferRead:
    """Record an applicant's offer on a property."""
    offer = await service.create(session, user, body)
    return await service.read(session, user, offer.id)


@router.get("/offers/{offer_id}", response_model=OfferRead)
async def get_offer(offer_id: int, session: SessionDep, user: CurrentUser) -> OfferRead:
    """One offer."""
    return await service.read(session, user, offer_id)


@router.patch("/offers/{offer_id}", response_model=OfferRead)
async def update_offer(
    offer_id: int, body: OfferUpdate, session: SessionDep, user: WriterUser
) -> OfferRead:
    """Amend an open offer."""
    await service.update(session, user, offer_id, body)
    return await service.read(session, user, offer_id)


@router.post("/offers/{offer_id}/accept", response_model=OfferRead)
async def accept_offer(offer_id: int, session: SessionDep, user: WriterUser) -> OfferRead:
    """Accept: the property goes under offer / let agreed and other open offers are rejected."""
    await service.accept(session, user, offer_id)
    return await service.read(session, user, offer_id)


@router.post("/offers/{offer_id}/reject", response_model=OfferRead)
async def reject_offer(
    offer_id: int, body: OfferReject, session: SessionDep, user: WriterUser
) -> OfferRead:
    """Reject with a reason."""
    await service.reject(session, user, offer_id, body)
    return await service.read(session, user, offer_id)


@router.post("/offers/{offer_id}/withdraw", response_model=OfferRead)
async def withdraw_offer(
    offer_id: int, session: SessionDep, user: WriterUser, body: OfferWithdraw | None = None
) -> OfferRead:
    """The applicant withdraws the offer (the body, with its optional reason, may be left out)."""
    await service.withdraw(session, user, offer_id, body or OfferWithdraw())
    return await service.read(session, user, offer_id)


@router.post("/offers/{offer_id}/counter", response_model=OfferRead)
async def counter_offer(
    offer_id: int, body: OfferCounter, session: SessionDep, user: WriterUser
) -> OfferRead:
    """Counter with the amount the vendor or landlord would accept."""
    await service.counter(session, user, offer_id, body)
    return await service.read(session, user, offer_id)


add_timeline_route(router, "/offers/{offer_id}/activity", service)
