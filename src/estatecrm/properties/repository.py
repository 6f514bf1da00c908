"""Queries over properties; the only place that builds property SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.kit.uk_postcode import is_district
from estatecrm.properties.models import Property
from estatecrm.properties.schemas import PropertyFilters


async def get(session: AsyncSession, agency_id: int, property_id: int) -> Property | None:
    """A property of this agency, or None (also when it belongs to another agency)."""
    return await session.scalar(select(Property).where(Property.id == property_id))


async def get_by_reference(
    session: AsyncSession, agency_id: int, reference: str
) -> Property | None:
    """A property of this agency by its reference (case-insensitive), or None."""
    return await session.scalar(
        select(Property).where(
            func.upper(Property.reference) == reference.strip().upper(),
        )
    )


async def get_for_update(
    session: AsyncSession, agency_id: int, property_id: int
) -> Property | None:
    """A property, row-locked until the transaction ends (PostgreSQL; SQLite locks the file)."""
    return await session.scalar(
        select(Property).where(Property.id == property_id).with_for_update()
    )


async def get_many(
    session: AsyncSession, agency_id: int, ids: Sequence[int]
) -> dict[int, Property]:
    """Properties by id in one query (for lists that show a property beside each row)."""
    if not ids:
        return {}
    rows = await session.scalars(select(Property).where(Property.id.in_(set(ids))))
    return {p.id: p for p in rows}


def _conditions(agency_id: int, f: PropertyFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.city:
        conds.append(Property.city == f.city.strip().title())
    if f.postcode:
        code = f.postcode.strip().upper()
        compact = code.replace(" ", "")
        if is_district(compact):
            conds.append(Property.postcode_district == compact)
        else:
            conds.append(Property.postcode.startswith(code, autoescape=True))
    if f.status:
        conds.append(Property.status == f.status)
    if f.marketing_type:
        conds.append(Property.marketing_type == f.marketing_type)
    if f.property_type:
        conds.append(Property.property_type == f.property_type)
    if f.min_bedrooms is not None:
        conds.append(Property.bedrooms >= f.min_bedrooms)
    if f.max_bedrooms is not None:
        conds.append(Property.bedrooms <= f.max_bedrooms)
    if f.min_price_pence is not None:
        conds.append(Property.price_pence >= f.min_price_pence)
    if f.max_price_pence is not None:
        conds.append(Property.price_pence <= f.max_price_pence)
    if f.negotiator_id is not None:
        conds.append(Property.negotiator_id == f.negotiator_id)
    if f.q:
        for word in f.q.lower().split()[:6]:
            conds.append(Property.search_text.contains(word, autoescape=True))
    return conds


def _ordered(stmt: Select[Any], sort: str) -> Select[Any]:
    column = getattr(Property, sort.lstrip("-"))
    if sort.startswith("-"):
        return stmt.order_by(column.desc(), Property.id.desc())
    return stmt.order_by(column.asc(), Property.id.asc())


async def search(
    session: AsyncSession, agency_id: int, filters: PropertyFilters, *, limit: int, offset: int
) -> tuple[Sequence[Property], int]:
    """One page of the agency's properties matching the filters, and the total count."""
    conds = _conditions(agency_id, filters)
    rows = await session.scalars(
        _ordered(select(Property).where(*conds), filters.sort).limit(limit).offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(Property).where(*conds))
    return rows.all(), int(total or 0)


async def reference_taken(
    session: AsyncSession, agency_id: int, reference: str, exclude_id: int | None = None
) -> bool:
    """Whether another property of the agency already has this reference."""
    stmt = select(Property.id).where(Property.reference == reference)
    if exclude_id is not None:
        stmt = stmt.where(Property.id != exclude_id)
    return (await session.scalar(stmt.limit(1))) is not None


async def add(session: AsyncSession, prop: Property) -> Property:
    """Insert a property."""
    session.add(prop)
    await session.flush()
    return prop


async def delete(session: AsyncSession, prop: Property) -> None:
    """Delete a property."""
    await session.delete(prop)
    await session.flush()


async def distinct_cities(session: AsyncSession, agency_id: int) -> list[str]:
    """The towns the agency has properties in (for the filter form)."""
    rows = await session.scalars(select(Property.city).distinct().order_by(Property.city))
    return list(rows)


async def owned_by(session: AsyncSession, agency_id: int, contact_id: int) -> Sequence[Property]:
    """The properties a contact owns (landlord or vendor), newest first."""
    rows = await session.scalars(
        select(Property)
        .where(Property.owner_contact_id == contact_id)
        .order_by(Property.created_at.desc(), Property.id.desc())
    )
    return rows.all()


async def reassign_owner(session: AsyncSession, agency_id: int, from_id: int, to_id: int) -> int:
    """Move every property owned by one contact to another (merging duplicates)."""
    result = await session.execute(
        update(Property).where(Property.owner_contact_id == from_id).values(owner_contact_id=to_id)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def pick(session: AsyncSession, agency_id: int, q: str, limit: int = 8) -> Sequence[Property]:
    """Properties for a search-as-you-type picker (reference, street, town or postcode)."""
    conds = _conditions(agency_id, PropertyFilters(q=q[:200]))
    rows = await session.scalars(
        select(Property).where(*conds).order_by(Property.address_line1, Property.id).limit(limit)
    )
    return rows.all()
