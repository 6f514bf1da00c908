"""Queries over contacts; the only place that builds contact SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from estatecrm.contacts.models import ConsentChange, Contact, ContactRole
from estatecrm.contacts.schemas import ContactFilters


def _with_roles(stmt: Select[Any]) -> Select[Any]:
    return stmt.options(selectinload(Contact.role_rows))


async def get(session: AsyncSession, agency_id: int, contact_id: int) -> Contact | None:
    """A contact of this agency with its roles, or None (also for another agency's contact)."""
    return await session.scalar(_with_roles(select(Contact)).where(Contact.id == contact_id))


async def get_for_update(session: AsyncSession, agency_id: int, contact_id: int) -> Contact | None:
    """A contact, row-locked until the transaction ends (merges lock both sides)."""
    return await session.scalar(
        _with_roles(select(Contact)).where(Contact.id == contact_id).with_for_update()
    )


async def exists(session: AsyncSession, agency_id: int, contact_id: int) -> bool:
    """Whether the agency has this contact."""
    found = await session.scalar(select(Contact.id).where(Contact.id == contact_id))
    return found is not None


async def get_many(session: AsyncSession, agency_id: int, ids: Sequence[int]) -> dict[int, Contact]:
    """Contacts by id in one query (roles not loaded: for showing names beside other rows)."""
    if not ids:
        return {}
    rows = await session.scalars(select(Contact).where(Contact.id.in_(set(ids))))
    return {c.id: c for c in rows}


def _conditions(agency_id: int, f: ContactFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.role is not None:
        conds.append(
            Contact.id.in_(select(ContactRole.contact_id).where(ContactRole.role == f.role))
        )
    if f.id_check_status is not None:
        conds.append(Contact.id_check_status == f.id_check_status)
    if f.marketing_consent is not None:
        conds.append(Contact.marketing_consent.is_(f.marketing_consent))
    if f.q:
        for word in f.q.lower().split()[:6]:
            conds.append(Contact.search_text.contains(word, autoescape=True))
    return conds


def _ordered(stmt: Select[Any], sort: str) -> Select[Any]:
    column = getattr(Contact, sort.lstrip("-"))
    if sort.startswith("-"):
        return stmt.order_by(column.desc(), Contact.id.desc())
    secondary = [Contact.first_name.asc()] if sort == "last_name" else []
    return stmt.order_by(column.asc(), *secondary, Contact.id.asc())


async def search(
    session: AsyncSession, agency_id: int, filters: ContactFilters, *, limit: int, offset: int
) -> tuple[Sequence[Contact], int]:
    """One page of the agency's contacts matching the filters, and the total count."""
    conds = _conditions(agency_id, filters)
    rows = await session.scalars(
        _ordered(_with_roles(select(Contact)).where(*conds), filters.sort)
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(Contact).where(*conds))
    return rows.all(), int(total or 0)


async def find_same_details(
    session: AsyncSession,
    agency_id: int,
    *,
    email: str | None,
    phone: str | None,
    exclude_id: int | None = None,
) -> Contact | None:
    """The oldest other contact with this e-mail or phone (both stored normalised)."""
    matches: list[ColumnElement[bool]] = []
    if email:
        matches.append(Contact.email == email)
    if phone:
        matches.append(Contact.phone == phone)
    if not matches:
        return None
    stmt = select(Contact).where(or_(*matches))
    if exclude_id is not None:
        stmt = stmt.where(Contact.id != exclude_id)
    return await session.scalar(stmt.order_by(Contact.id).limit(1))


def _pairs_query(agency_id: int) -> Select[Any]:
    a = aliased(Contact, name="a")
    b = aliased(Contact, name="b")
    same_email = and_(a.email.is_not(None), a.email == b.email)
    same_phone = and_(a.phone.is_not(None), a.phone == b.phone)
    # Same name only counts when no e-mail or phone says they are different people.
    same_name = and_(
        a.name_key == b.name_key,
        or_(a.email.is_(None), b.email.is_(None), a.email == b.email),
        or_(a.phone.is_(None), b.phone.is_(None), a.phone == b.phone),
    )
    email_hit = case((same_email, 1), else_=0)
    phone_hit = case((same_phone, 1), else_=0)
    name_hit = case((a.name_key == b.name_key, 1), else_=0)
    score = (email_hit * 40 + phone_hit * 40 + name_hit * 20).label("score")
    return (
        select(
            a.id.label("a_id"),
            b.id.label("b_id"),
            email_hit.label("same_email"),
            phone_hit.label("same_phone"),
            name_hit.label("same_name"),
            score,
        )
        .select_from(a)
        .join(
            b,
            and_(
                b.agency_id == a.agency_id,
                b.id > a.id,
                or_(a.email == b.email, a.phone == b.phone, a.name_key == b.name_key),
            ),
        )
        .where(or_(same_email, same_phone, same_name))
    )


async def duplicate_pairs(
    session: AsyncSession, agency_id: int, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Likely duplicate pairs, strongest first: same e-mail, same phone, or same name."""
    pairs = _pairs_query(agency_id).subquery()
    rows = await session.execute(
        select(pairs)
        .order_by(pairs.c.score.desc(), pairs.c.a_id, pairs.c.b_id)
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(pairs))
    return [dict(r._mapping) for r in rows], int(total or 0)


async def consent_history(
    session: AsyncSession, agency_id: int, contact_id: int
) -> Sequence[ConsentChange]:
    """Every marketing consent change of a contact, newest first."""
    rows = await session.scalars(
        select(ConsentChange)
        .where(ConsentChange.contact_id == contact_id)
        .order_by(ConsentChange.changed_at.desc(), ConsentChange.id.desc())
    )
    return rows.all()


async def add(session: AsyncSession, contact: Contact) -> Contact:
    """Insert a contact."""
    session.add(contact)
    await session.flush()
    return contact


async def add_consent_change(session: AsyncSession, change: ConsentChange) -> None:
    """Insert one consent history entry."""
    session.add(change)
    await session.flush()


async def delete(session: AsyncSession, contact: Contact) -> None:
    """Delete a contact (roles and consent history go with it, in the database)."""
    await session.delete(contact)
    await session.flush()


async def move_consent_history(
    session: AsyncSession, agency_id: int, from_id: int, to_id: int
) -> int:
    """Move one contact's consent history onto another; how many entries moved."""
    result = await session.execute(
        update(ConsentChange).where(ConsentChange.contact_id == from_id).values(contact_id=to_id)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def latest_consent_change(
    session: AsyncSession, agency_id: int, contact_id: int
) -> ConsentChange | None:
    """The most recent consent change of a contact."""
    return await session.scalar(
        select(ConsentChange)
        .where(ConsentChange.contact_id == contact_id)
        .order_by(ConsentChange.changed_at.desc(), ConsentChange.id.desc())
        .limit(1)
    )


async def pick(session: AsyncSession, agency_id: int, q: str, limit: int = 8) -> Sequence[Contact]:
    """Contacts for a search-as-you-type picker."""
    conds = _conditions(agency_id, ContactFilters(q=q[:200]))
    rows = await session.scalars(
        select(Contact).where(*conds).order_by(Contact.last_name, Contact.first_name).limit(limit)
    )
    return rows.all()
