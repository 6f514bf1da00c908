"""Queries over sales, milestones and chain links; the only place that builds their SQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.properties.models import Property
from estatecrm.sales.models import ChainLink, Sale, SaleMilestone
from estatecrm.sales.schemas import SaleFilters


async def get(session: AsyncSession, agency_id: int, sale_id: int) -> Sale | None:
    """A sale of this agency, or None (also for another agency's)."""
    return await session.scalar(select(Sale).where(Sale.id == sale_id))


async def get_many(session: AsyncSession, agency_id: int, ids: Sequence[int]) -> dict[int, Sale]:
    """Sales by id in one query."""
    if not ids:
        return {}
    rows = await session.scalars(select(Sale).where(Sale.id.in_(set(ids))))
    return {s.id: s for s in rows}


async def for_offer(session: AsyncSession, agency_id: int, offer_id: int) -> int | None:
    """The sale that followed an offer, if any."""
    return await session.scalar(select(Sale.id).where(Sale.offer_id == offer_id).limit(1))


async def ids_for_offers(
    session: AsyncSession, agency_id: int, offer_ids: Sequence[int]
) -> dict[int, int]:
    """The sale that followed each of these offers, by offer id (offers without one left out)."""
    if not offer_ids:
        return {}
    rows = await session.execute(
        select(Sale.offer_id, func.min(Sale.id))
        .where(Sale.offer_id.in_(set(offer_ids)))
        .group_by(Sale.offer_id)
    )
    return {offer_id: sale_id for offer_id, sale_id in rows.tuples() if offer_id}


def _conditions(agency_id: int, f: SaleFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.status is not None:
        conds.append(Sale.status == f.status)
    if f.property_id is not None:
        conds.append(Sale.property_id == f.property_id)
    if f.contact_id is not None:
        conds.append(
            or_(Sale.buyer_contact_id == f.contact_id, Sale.vendor_contact_id == f.contact_id)
        )
    return conds


async def search(
    session: AsyncSession, agency_id: int, filters: SaleFilters, *, limit: int, offset: int
) -> tuple[list[tuple[Sale, Property]], int]:
    """A page of sales, newest agreed first, with their properties."""
    conds = _conditions(agency_id, filters)
    rows = await session.execute(
        select(Sale, Property)
        .join(Property, Property.id == Sale.property_id)
        .where(*conds)
        .order_by(Sale.agreed_date.desc(), Sale.id.desc())
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(Sale).where(*conds))
    return [(s, p) for s, p in rows.tuples()], int(total or 0)


async def milestones(
    session: AsyncSession, agency_id: int, sale_ids: Sequence[int]
) -> dict[int, list[SaleMilestone]]:
    """The milestones of several sales, in one query."""
    if not sale_ids:
        return {}
    rows = await session.scalars(
        select(SaleMilestone).where(SaleMilestone.sale_id.in_(set(sale_ids)))
    )
    found: dict[int, list[SaleMilestone]] = {i: [] for i in sale_ids}
    for m in rows:
        found[m.sale_id].append(m)
    return found


async def links(
    session: AsyncSession, agency_id: int, sale_ids: Sequence[int]
) -> dict[int, list[ChainLink]]:
    """The chain links of several sales, in one query."""
    if not sale_ids:
        return {}
    rows = await session.scalars(
        select(ChainLink).where(ChainLink.sale_id.in_(set(sale_ids))).order_by(ChainLink.id)
    )
    found: dict[int, list[ChainLink]] = {i: [] for i in sale_ids}
    for link in rows:
        found[link.sale_id].append(link)
    return found


async def get_link(
    session: AsyncSession, agency_id: int, sale_id: int, link_id: int
) -> ChainLink | None:
    """One chain link of a sale."""
    return await session.scalar(
        select(ChainLink).where(ChainLink.sale_id == sale_id, ChainLink.id == link_id)
    )


async def add(session: AsyncSession, row: object) -> None:
    """Insert a row (sale, milestone or link)."""
    session.add(row)
    await session.flush()


async def delete(session: AsyncSession, row: object) -> None:
    """Delete a row."""
    await session.delete(row)
    await session.flush()
