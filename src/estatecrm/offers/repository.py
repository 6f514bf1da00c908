"""Queries over offers; the only place that builds offer SQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.contacts.models import Contact
from estatecrm.db import references
from estatecrm.offers.models import OPEN_STATUSES, Offer
from estatecrm.offers.schemas import OfferFilters
from estatecrm.properties.models import Property

OfferRow = tuple[Offer, Property, Contact]


async def get(session: AsyncSession, agency_id: int, offer_id: int) -> Offer | None:
    """An offer of this agency, or None (also for another agency's)."""
    return await session.scalar(select(Offer).where(Offer.id == offer_id))


async def get_many(session: AsyncSession, agency_id: int, ids: Sequence[int]) -> dict[int, Offer]:
    """Offers by id in one query (task links)."""
    if not ids:
        return {}
    rows = await session.scalars(select(Offer).where(Offer.id.in_(set(ids))))
    return {o.id: o for o in rows}


async def applicant_of(session: AsyncSession, agency_id: int, offer_id: int | None) -> int | None:
    """The applicant (search) who made an offer; None without an offer."""
    if offer_id is None:
        return None
    return await session.scalar(select(Offer.applicant_id).where(Offer.id == offer_id))


async def count_for_applicant(session: AsyncSession, agency_id: int, applicant_id: int) -> int:
    """How many offers an applicant (search) made."""
    return await references.count_naming(session, agency_id, applicant_id, Offer.applicant_id)


async def get_row(session: AsyncSession, agency_id: int, offer_id: int) -> OfferRow | None:
    """An offer with its property and buyer contact, in one query."""
    row = (
        await session.execute(
            select(Offer, Property, Contact)
            .join(Property, Property.id == Offer.property_id)
            .join(Contact, Contact.id == Offer.contact_id)
            .where(Offer.id == offer_id)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


def _conditions(agency_id: int, f: OfferFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.status is not None:
        conds.append(Offer.status == f.status)
    if f.property_id is not None:
        conds.append(Offer.property_id == f.property_id)
    if f.applicant_id is not None:
        conds.append(Offer.applicant_id == f.applicant_id)
    if f.contact_id is not None:
        conds.append(Offer.contact_id == f.contact_id)
    if f.marketing_type is not None:
        conds.append(Property.marketing_type == f.marketing_type)
    return conds


async def search(
    session: AsyncSession, agency_id: int, filters: OfferFilters, *, limit: int, offset: int
) -> tuple[list[OfferRow], int]:
    """A page of offers (newest first) with their properties and contacts, and the total."""
    conds = _conditions(agency_id, filters)
    rows = await session.execute(
        select(Offer, Property, Contact)
        .join(Property, Property.id == Offer.property_id)
        .join(Contact, Contact.id == Offer.contact_id)
        .where(*conds)
        .order_by(Offer.created_at.desc(), Offer.id.desc())
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(
        select(func.count())
        .select_from(Offer)
        .join(Property, Property.id == Offer.property_id)
        .where(*conds)
    )
    return [(o, p, c) for o, p, c in rows.tuples()], int(total or 0)


async def open_on_property(
    session: AsyncSession, agency_id: int, property_id: int, exclude_id: int
) -> Sequence[Offer]:
    """The other open offers on a property (rejected when one is accepted)."""
    rows = await session.scalars(
        select(Offer)
        .where(
            Offer.property_id == property_id,
            Offer.status.in_(OPEN_STATUSES),
            Offer.id != exclude_id,
        )
        .order_by(Offer.id)
    )
    return rows.all()


async def status_counts(session: AsyncSession, agency_id: int) -> dict[str, int]:
    """How many offers the agency has in each status (the board's tabs)."""
    rows = await session.execute(select(Offer.status, func.count(Offer.id)).group_by(Offer.status))
    return {str(getattr(s, "value", s)): int(n) for s, n in rows.tuples()}


async def add(session: AsyncSession, offer: Offer) -> Offer:
    """Insert an offer."""
    session.add(offer)
    await session.flush()
    return offer
