"""Queries over tenancies and right-to-rent checks; the only place that builds their SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from estatecrm.db import references
from estatecrm.properties.models import Property
from estatecrm.tenancies.models import RightToRentCheck, Tenancy, TenancyStatus, TenancyTenant
from estatecrm.tenancies.rules import overdue_if_received_before
from estatecrm.tenancies.schemas import TenancyFilters


async def get(session: AsyncSession, agency_id: int, tenancy_id: int) -> Tenancy | None:
    """A tenancy of this agency, or None (also for another agency's)."""
    return await session.scalar(select(Tenancy).where(Tenancy.id == tenancy_id))


async def get_many(session: AsyncSession, agency_id: int, ids: Sequence[int]) -> dict[int, Tenancy]:
    """Tenancies by id in one query (task links)."""
    if not ids:
        return {}
    rows = await session.scalars(select(Tenancy).where(Tenancy.id.in_(set(ids))))
    return {t.id: t for t in rows}


async def for_offer(session: AsyncSession, agency_id: int, offer_id: int) -> int | None:
    """The tenancy made from an offer, if any."""
    return await session.scalar(select(Tenancy.id).where(Tenancy.offer_id == offer_id).limit(1))


async def ids_for_offers(
    session: AsyncSession, agency_id: int, offer_ids: Sequence[int]
) -> dict[int, int]:
    """The tenancy made from each of these offers, by offer id (offers without one left out)."""
    if not offer_ids:
        return {}
    rows = await session.execute(
        select(Tenancy.offer_id, func.min(Tenancy.id))
        .where(Tenancy.offer_id.in_(set(offer_ids)))
        .group_by(Tenancy.offer_id)
    )
    return {offer_id: tenancy_id for offer_id, tenancy_id in rows.tuples() if offer_id}


def overdue_condition(on_date: date) -> ColumnElement[bool]:
    """Deposits received, not protected, past the 30-day deadline on `on_date` (rules.py)."""
    return (
        Tenancy.deposit_received_date.is_not(None)
        & Tenancy.deposit_protected_date.is_(None)
        & (Tenancy.deposit_received_date < overdue_if_received_before(on_date))
        & (Tenancy.status != TenancyStatus.ended)
    )


def _conditions(agency_id: int, f: TenancyFilters, on_date: date) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.status is not None:
        conds.append(Tenancy.status == f.status)
    if f.property_id is not None:
        conds.append(Tenancy.property_id == f.property_id)
    if f.contact_id is not None:
        tenant_of = select(TenancyTenant.tenancy_id).where(TenancyTenant.contact_id == f.contact_id)
        conds.append(or_(Tenancy.landlord_contact_id == f.contact_id, Tenancy.id.in_(tenant_of)))
    if f.deposit_overdue is True:
        conds.append(overdue_condition(on_date))
    elif f.deposit_overdue is False:
        conds.append(~overdue_condition(on_date))
    return conds


async def search(
    session: AsyncSession,
    agency_id: int,
    filters: TenancyFilters,
    on_date: date,
    *,
    limit: int,
    offset: int,
) -> tuple[list[tuple[Tenancy, Property]], int]:
    """A page of tenancies (latest start first) with their properties, and the total."""
    conds = _conditions(agency_id, filters, on_date)
    rows = await session.execute(
        select(Tenancy, Property)
        .join(Property, Property.id == Tenancy.property_id)
        .where(*conds)
        .order_by(Tenancy.start_date.desc(), Tenancy.id.desc())
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(Tenancy).where(*conds))
    return [(t, p) for t, p in rows.tuples()], int(total or 0)


async def add(session: AsyncSession, tenancy: Tenancy) -> Tenancy:
    """Insert a tenancy."""
    session.add(tenancy)
    await session.flush()
    return tenancy


async def set_tenants(session: AsyncSession, tenancy: Tenancy, contact_ids: Sequence[int]) -> None:
    """Replace the tenancy's tenant index rows."""
    await session.execute(delete(TenancyTenant).where(TenancyTenant.tenancy_id == tenancy.id))
    for contact_id in dict.fromkeys(contact_ids):
        session.add(
            TenancyTenant(agency_id=tenancy.agency_id, tenancy_id=tenancy.id, contact_id=contact_id)
        )
    await session.flush()


async def checks(
    session: AsyncSession, agency_id: int, tenancy_id: int
) -> Sequence[RightToRentCheck]:
    """A tenancy's right-to-rent checks, latest first."""
    rows = await session.scalars(
        select(RightToRentCheck)
        .where(RightToRentCheck.tenancy_id == tenancy_id)
        .order_by(RightToRentCheck.check_date.desc(), RightToRentCheck.id.desc())
    )
    return rows.all()


async def check_exists(
    session: AsyncSession, tenancy_id: int, contact_id: int, check_date: date
) -> bool:
    """Whether this occupier already has a check on that day for the tenancy."""
    found = await session.scalar(
        select(RightToRentCheck.id).where(
            RightToRentCheck.tenancy_id == tenancy_id,
            RightToRentCheck.contact_id == contact_id,
            RightToRentCheck.check_date == check_date,
        )
    )
    return found is not None


async def add_check(session: AsyncSession, check: RightToRentCheck) -> RightToRentCheck:
    """Insert a right-to-rent check."""
    session.add(check)
    await session.flush()
    return check


async def overdue_deposits(
    session: AsyncSession, agency_id: int, on_date: date, limit: int = 100
) -> tuple[list[tuple[Tenancy, Property]], int]:
    """Tenancies whose deposit is past its protection deadline, oldest first."""
    conds = [overdue_condition(on_date)]
    rows = await session.execute(
        select(Tenancy, Property)
        .join(Property, Property.id == Tenancy.property_id)
        .where(*conds)
        .order_by(Tenancy.deposit_received_date, Tenancy.id)
        .limit(limit)
    )
    total = await session.scalar(select(func.count()).select_from(Tenancy).where(*conds))
    return [(t, p) for t, p in rows.tuples()], int(total or 0)


async def follow_ups_due(
    session: AsyncSession, agency_id: int, on_date: date, limit: int = 100
) -> tuple[list[tuple[RightToRentCheck, Tenancy, Property]], int]:
    """Latest right-to-rent checks (per tenancy and occupier) whose follow-up is due."""
    later = aliased(RightToRentCheck)
    superseded = (
        select(later.id)
        .where(
            later.tenancy_id == RightToRentCheck.tenancy_id,
            later.contact_id == RightToRentCheck.contact_id,
            later.check_date > RightToRentCheck.check_date,
        )
        .exists()
    )
    conds = [
        RightToRentCheck.follow_up_date.is_not(None),
        RightToRentCheck.follow_up_date <= on_date,
        ~superseded,
        Tenancy.status != TenancyStatus.ended,
    ]
    rows = await session.execute(
        select(RightToRentCheck, Tenancy, Property)
        .join(Tenancy, Tenancy.id == RightToRentCheck.tenancy_id)
        .join(Property, Property.id == Tenancy.property_id)
        .where(*conds)
        .order_by(RightToRentCheck.follow_up_date, RightToRentCheck.id)
        .limit(limit)
    )
    total = await session.scalar(
        select(func.count())
        .select_from(RightToRentCheck)
        .join(Tenancy, Tenancy.id == RightToRentCheck.tenancy_id)
        .where(*conds)
    )
    return [(c, t, p) for c, t, p in rows.tuples()], int(total or 0)


def _tenant_of(agency_id: int, contact_id: int) -> Select[Any]:
    return select(TenancyTenant.tenancy_id).where(TenancyTenant.contact_id == contact_id)


async def count_for_contact(session: AsyncSession, agency_id: int, contact_id: int) -> int:
    """How many tenancies name a contact as tenant or landlord."""
    total = await session.scalar(
        select(func.count())
        .select_from(Tenancy)
        .where(
            or_(
                Tenancy.landlord_contact_id == contact_id,
                Tenancy.id.in_(_tenant_of(agency_id, contact_id)),
            ),
        )
    )
    return int(total or 0)


async def reassign_contact(session: AsyncSession, agency_id: int, from_id: int, to_id: int) -> int:
    """Move a contact's tenancies, as tenant and as landlord, to another (merging duplicates)."""
    tenancies = (
        await session.scalars(select(Tenancy).where(Tenancy.id.in_(_tenant_of(agency_id, from_id))))
    ).all()
    for tenancy in tenancies:
        ids = [to_id if i == from_id else i for i in tenancy.tenant_contact_ids or []]
        tenancy.tenant_contact_ids = list(dict.fromkeys(ids))
        await set_tenants(session, tenancy, tenancy.tenant_contact_ids)
    landlord = await references.reassign(
        session, agency_id, from_id, to_id, Tenancy.landlord_contact_id
    )
    return len(tenancies) + landlord


async def count_checks_for_contact(session: AsyncSession, agency_id: int, contact_id: int) -> int:
    """How many right-to-rent checks were made of a contact."""
    return await references.count_naming(
        session, agency_id, contact_id, RightToRentCheck.contact_id
    )


async def check_clash(
    session: AsyncSession, agency_id: int, from_id: int, to_id: int
) -> tuple[int, date] | None:
    """A tenancy and day on which both contacts have a check (one person, two checks)."""
    mine, theirs = aliased(RightToRentCheck), aliased(RightToRentCheck)
    row = (
        await session.execute(
            select(mine.tenancy_id, mine.check_date)
            .join(
                theirs,
                (theirs.tenancy_id == mine.tenancy_id) & (theirs.check_date == mine.check_date),
            )
            .where(
                mine.contact_id == from_id,
                theirs.contact_id == to_id,
            )
            .limit(1)
        )
    ).first()
    return (int(row[0]), row[1]) if row else None


async def check_tenancy_ids(session: AsyncSession, agency_id: int, contact_id: int) -> list[int]:
    """The tenancies in which a contact's right to rent was checked."""
    rows = await session.scalars(
        select(RightToRentCheck.tenancy_id)
        .where(RightToRentCheck.contact_id == contact_id)
        .distinct()
    )
    return list(rows)


async def reassign_checks(session: AsyncSession, agency_id: int, from_id: int, to_id: int) -> int:
    """Move a contact's right-to-rent checks to another (merging duplicates)."""
    return await references.reassign(
        session, agency_id, from_id, to_id, RightToRentCheck.contact_id
    )


async def started_during(
    session: AsyncSession, agency_id: int, property_id: int, start: date, end: date
) -> list[int]:
    """The tenancies of a property that had begun and ran at some time from `start` to `end`."""
    rows = await session.scalars(
        select(Tenancy.id)
        .where(
            Tenancy.property_id == property_id,
            Tenancy.activated_at.is_not(None),
            Tenancy.start_date <= end,
            or_(Tenancy.end_date.is_(None), Tenancy.end_date >= start),
        )
        .order_by(Tenancy.start_date)
    )
    return list(rows)
