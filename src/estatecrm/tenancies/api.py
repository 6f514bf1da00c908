"""Tenancies JSON API: `/api/v1/tenancies`, right-to-rent checks, activation and ending.

Date rules are judged on `?on=YYYY-MM-DD` when given (default: today in the UK).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from estatecrm.activity.api import add_timeline_route
from estatecrm.auth.deps import CurrentUser, WriterUser
from estatecrm.db.session import SessionDep
from estatecrm.kit.clock import today_london
from estatecrm.kit.pagination import Page, Paging
from estatecrm.tenancies import service
from estatecrm.tenancies.schemas import (
    RentIncrease,
    RightToRentCreate,
    RightToRentRead,
    TenancyActivate,
    TenancyCreate,
    TenancyEnd,
    TenancyFilters,
    TenancyRead,
    TenancyUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["tenancies"])

On = Annotated[date | None, Query(alias="on", description="Judge dates on this day")]


def _day(on: date | None) -> date:
    return on or today_london()


@router.get("/tenancies", response_model=Page[TenancyRead])
async def list_tenancies(
    session: SessionDep,
    user: CurrentUser,
    paging: Paging,
    filters: Annotated[TenancyFilters, Query()],
    on: On = None,
) -> Page[TenancyRead]:
    """Tenancies, latest start first (`status`, `property_id`, `contact_id`, `deposit_overdue`)."""
    items, total = await service.search(
        session, user, filters, _day(on), limit=paging.limit, offset=paging.offset
    )
    return paging.page(items, total)


@router.post("/tenancies", response_model=TenancyRead, status_code=201)
async def create_tenancy(
    body: TenancyCreate, session: SessionDep, user: WriterUser, on: On = None
) -> TenancyRead:
    """A tenancy from an accepted lettings offer (`offer_id`) or directly."""
    tenancy = await service.create(session, user, body)
    return await service.read(session, user, tenancy.id, _day(on))


@router.post("/offers/{offer_id}/tenancy", response_model=TenancyRead, status_code=201)
async def tenancy_from_offer(
    offer_id: int,
    session: SessionDep,
    user: WriterUser,
    body: TenancyCreate | None = None,
    on: On = None,
) -> TenancyRead:
    """The tenancy that follows an accepted lettings offer (its terms default to the offer's)."""
    data = (body or TenancyCreate()).model_copy(update={"offer_id": offer_id})
    tenancy = await service.create(session, user, data)
    return await service.read(session, user, tenancy.id, _day(on))


@router.get("/tenancies/{tenancy_id}", response_model=TenancyRead)
async def get_tenancy(
    tenancy_id: int, session: SessionDep, user: CurrentUser, on: On = None
) -> TenancyRead:
    """One tenancy, with its deposit deadline and overdue flag."""
    return await service.read(session, user, tenancy_id, _day(on))


@router.patch("/tenancies/{tenancy_id}", response_model=TenancyRead)
async def update_tenancy(
    tenancy_id: int, body: TenancyUpdate, session: SessionDep, user: WriterUser, on: On = None
) -> TenancyRead:
    """Change deposit details, tenants or dates."""
    await service.update(session, user, tenancy_id, body)
    return await service.read(session, user, tenancy_id, _day(on))


@router.post("/tenancies/{tenancy_id}/rent-increase", response_model=TenancyRead)
async def increase_rent(
    tenancy_id: int, body: RentIncrease, session: SessionDep, user: WriterUser, on: On = None
) -> TenancyRead:
    """Change the rent (a periodic tenancy's rent rises at most once a year)."""
    await service.rent_increase(session, user, tenancy_id, body)
    return await service.read(session, user, tenancy_id, _day(on))


@router.get("/tenancies/{tenancy_id}/right-to-rent-checks", response_model=list[RightToRentRead])
async def list_checks(
    tenancy_id: int, session: SessionDep, user: CurrentUser
) -> list[RightToRentRead]:
    """The tenancy's right-to-rent checks, latest first."""
    return [
        RightToRentRead.model_validate(c) for c in await service.checks(session, user, tenancy_id)
    ]


@router.post(
    "/tenancies/{tenancy_id}/right-to-rent-checks",
    response_model=RightToRentRead,
    status_code=201,
)
async def add_check(
    tenancy_id: int, body: RightToRentCreate, session: SessionDep, user: WriterUser
) -> RightToRentRead:
    """Record a right-to-rent check of an adult occupier."""
    return RightToRentRead.model_validate(await service.add_check(session, user, tenancy_id, body))


@router.post("/tenancies/{tenancy_id}/activate", response_model=TenancyRead)
async def activate_tenancy(
    tenancy_id: int, session: SessionDep, user: WriterUser, body: TenancyActivate | None = None
) -> TenancyRead:
    """Start the tenancy (409 naming what is missing); the property becomes let."""
    day = _day(body.on_date if body else None)
    await service.activate(session, user, tenancy_id, day)
    return await service.read(session, user, tenancy_id, day)


@router.post("/tenancies/{tenancy_id}/end", response_model=TenancyRead)
async def end_tenancy(
    tenancy_id: int, body: TenancyEnd, session: SessionDep, user: WriterUser, on: On = None
) -> TenancyRead:
    """End the tenancy (a future date: notice running); the property becomes available."""
    await service.end(session, user, tenancy_id, body, _day(on))
    return await service.read(session, user, tenancy_id, _day(on))


add_timeline_route(router, "/tenancies/{tenancy_id}/activity", service)
