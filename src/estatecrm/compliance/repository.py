"""Queries over certificates and the agency's compliance; the only place with compliance SQL.

Statuses are date ranges on `expiry_date` of the current certificates, so every filter is an
index range scan on `(agency_id, is_current, expiry_date)`; "missing" is a NOT EXISTS per
required type over the agency's active properties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.compliance import rules
from estatecrm.compliance.models import Certificate, CertificateType, ComplianceStatus
from estatecrm.compliance.schemas import CertificateFilters
from estatecrm.db.base import IdType
from estatecrm.properties.models import MarketingType, Property

URGENCY_RANK = {"expired": 0, "due_7": 1, "due_30": 2, "missing": 3}
REQUIRED_TYPES = tuple(
    t for t in CertificateType if t in rules.REQUIRED_FOR_LETTING + rules.REQUIRED_FOR_SALE
)


@dataclass(frozen=True)
class ItemRow:
    """One compliance item as the query returns it."""

    property_id: int
    type: CertificateType
    urgency: str
    certificate_id: int | None
    expiry_date: date | None


# --- certificates -------------------------------------------------------------------------


async def get(session: AsyncSession, agency_id: int, certificate_id: int) -> Certificate | None:
    """A certificate of this agency, or None (also when it belongs to another agency)."""
    return await session.scalar(select(Certificate).where(Certificate.id == certificate_id))


async def ids_of_property(session: AsyncSession, agency_id: int, property_id: int) -> list[int]:
    """The ids of a property's certificate records (task links)."""
    rows = await session.scalars(
        select(Certificate.id).where(Certificate.property_id == property_id)
    )
    return list(rows)


async def get_many(
    session: AsyncSession, agency_id: int, ids: Sequence[int]
) -> dict[int, Certificate]:
    """Certificates by id in one query."""
    if not ids:
        return {}
    rows = await session.scalars(select(Certificate).where(Certificate.id.in_(set(ids))))
    return {c.id: c for c in rows}


async def add(session: AsyncSession, cert: Certificate) -> Certificate:
    """Insert a certificate."""
    session.add(cert)
    await session.flush()
    return cert


async def delete(session: AsyncSession, cert: Certificate) -> None:
    """Delete a certificate."""
    await session.delete(cert)
    await session.flush()


async def of_property_type(
    session: AsyncSession, agency_id: int, property_id: int, cert_type: CertificateType
) -> Sequence[Certificate]:
    """Every certificate of one type for one property, newest expiry first."""
    rows = await session.scalars(
        select(Certificate)
        .where(
            Certificate.property_id == property_id,
            Certificate.type == cert_type,
        )
        .order_by(Certificate.expiry_date.desc(), Certificate.id.desc())
    )
    return rows.all()


async def for_property(
    session: AsyncSession, agency_id: int, property_id: int, *, limit: int, offset: int
) -> tuple[Sequence[Certificate], int]:
    """A property's certificates, history included: current first, then by type and expiry."""
    where = (Certificate.property_id == property_id,)
    rows = await session.scalars(
        select(Certificate)
        .where(*where)
        .order_by(
            Certificate.is_current.desc(),
            Certificate.type,
            Certificate.expiry_date.desc(),
            Certificate.id.desc(),
        )
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(Certificate).where(*where))
    return rows.all(), int(total or 0)


async def current_for_property(
    session: AsyncSession, agency_id: int, property_id: int
) -> dict[CertificateType, Certificate]:
    """The current certificate of each type a property has."""
    rows = await session.scalars(
        select(Certificate).where(
            Certificate.property_id == property_id,
            Certificate.is_current == true(),
        )
    )
    return {c.type: c for c in rows}


async def valid_on(
    session: AsyncSession, agency_id: int, property_id: int, on_date: date
) -> dict[CertificateType, Certificate]:
    """For each type, the latest-issued certificate in force on `on_date` (issued, not expired)."""
    rows = await session.scalars(
        select(Certificate)
        .where(
            Certificate.property_id == property_id,
            Certificate.issued_date <= on_date,
            Certificate.expiry_date >= on_date,
        )
        .order_by(Certificate.issued_date.asc(), Certificate.id.asc())
    )
    # Later rows overwrite earlier ones, so the newest issue of each type wins.
    return {c.type: c for c in rows}


def _status_conditions(status: ComplianceStatus, on_date: date) -> list[ColumnElement[bool]]:
    until = rules.expiring_until(on_date)
    if status == ComplianceStatus.expired:
        return [Certificate.expiry_date < on_date]
    if status == ComplianceStatus.expiring:
        return [Certificate.expiry_date >= on_date, Certificate.expiry_date <= until]
    return [Certificate.expiry_date > until]


def certificate_conditions(
    agency_id: int, f: CertificateFilters, on_date: date
) -> list[ColumnElement[bool]]:
    """WHERE clauses of the certificate list (ranges on expiry_date, so indexable)."""
    conds: list[ColumnElement[bool]] = []
    if not f.include_superseded:
        conds.append(Certificate.is_current == true())
    if f.status is not None:
        conds += _status_conditions(f.status, on_date)
    if f.before is not None:
        conds.append(Certificate.expiry_date < f.before)
    if f.after is not None:
        conds.append(Certificate.expiry_date >= f.after)
    if f.property_id is not None:
        conds.append(Certificate.property_id == f.property_id)
    if f.type is not None:
        conds.append(Certificate.type == f.type)
    return conds


def certificate_query(agency_id: int, f: CertificateFilters, on_date: date) -> Select[Any]:
    """The certificate list's SELECT (also used to check its query plan)."""
    column = getattr(Certificate, f.sort.lstrip("-"))
    order = column.desc() if f.sort.startswith("-") else column.asc()
    tie = Certificate.id.desc() if f.sort.startswith("-") else Certificate.id.asc()
    return (
        select(Certificate)
        .where(*certificate_conditions(agency_id, f, on_date))
        .order_by(order, tie)
    )


async def search(
    session: AsyncSession,
    agency_id: int,
    filters: CertificateFilters,
    on_date: date,
    *,
    limit: int,
    offset: int,
) -> tuple[Sequence[Certificate], int]:
    """One page of certificates matching the filters, and the total count."""
    rows = await session.scalars(
        certificate_query(agency_id, filters, on_date).limit(limit).offset(offset)
    )
    total = await session.scalar(
        select(func.count())
        .select_from(Certificate)
        .where(*certificate_conditions(agency_id, filters, on_date))
    )
    return rows.all(), int(total or 0)


# --- the agency's compliance --------------------------------------------------------------


def _active_letting() -> ColumnElement[bool]:
    return and_(
        Property.marketing_type == MarketingType.letting,
        Property.status.in_(rules.ACTIVE_LETTING_STATUSES),
    )


def _active_sale() -> ColumnElement[bool]:
    return and_(
        Property.marketing_type == MarketingType.sale,
        Property.status.in_(rules.ACTIVE_SALE_STATUSES),
    )


def _relevant_certificate() -> ColumnElement[bool]:
    """A recorded certificate matters when its property is marketed or let and needs its type."""
    return or_(
        and_(
            _active_letting(),
            or_(Certificate.type != CertificateType.gas_safety, Property.has_gas == true()),
        ),
        and_(_active_sale(), Certificate.type == CertificateType.epc),
    )


def _requires(cert_type: CertificateType) -> ColumnElement[bool]:
    """Properties that must hold a certificate of this type."""
    if cert_type == CertificateType.gas_safety:
        return and_(_active_letting(), Property.has_gas == true())
    if cert_type == CertificateType.epc:
        return or_(_active_letting(), _active_sale())
    return _active_letting()


def _urgency(on_date: date) -> ColumnElement[str]:
    return case(
        (Certificate.expiry_date < on_date, literal("expired", String)),
        (
            Certificate.expiry_date <= rules.urgent_until(on_date),
            literal("due_7", String),
        ),
        else_=literal("due_30", String),
    )


def _urgency_rank(on_date: date) -> ColumnElement[int]:
    return case(
        (Certificate.expiry_date < on_date, literal(0, Integer)),
        (
            Certificate.expiry_date <= rules.urgent_until(on_date),
            literal(1, Integer),
        ),
        else_=literal(2, Integer),
    )


def _urgency_range(urgency: str, on_date: date) -> ColumnElement[bool]:
    urgent = rules.urgent_until(on_date)
    if urgency == "expired":
        return Certificate.expiry_date < on_date
    if urgency == "due_7":
        return and_(Certificate.expiry_date >= on_date, Certificate.expiry_date <= urgent)
    return and_(
        Certificate.expiry_date > urgent,
        Certificate.expiry_date <= rules.expiring_until(on_date),
    )


def _items_union(
    agency_id: int,
    on_date: date,
    *,
    urgencies: frozenset[str] | None = None,
    cert_type: CertificateType | None = None,
    property_id: int | None = None,
) -> Any:
    """Every item needing action as one UNION ALL subquery: current certificates expired or
    expiring within 30 days, and required certificates that were never recorded."""
    wanted = urgencies if urgencies is not None else frozenset(URGENCY_RANK)
    parts: list[Select[Any]] = []
    dated = sorted(wanted - {"missing"}, key=URGENCY_RANK.__getitem__)
    if dated:
        conds: list[ColumnElement[bool]] = [
            Certificate.is_current == true(),
            Certificate.expiry_date <= rules.expiring_until(on_date),
            _relevant_certificate(),
        ]
        if len(dated) < 3:
            conds.append(or_(*[_urgency_range(u, on_date) for u in dated]))
        if cert_type is not None:
            conds.append(Certificate.type == cert_type)
        if property_id is not None:
            conds.append(Certificate.property_id == property_id)
        parts.append(
            select(
                Certificate.property_id.label("property_id"),
                cast(Certificate.type, String).label("type"),
                _urgency(on_date).label("urgency"),
                _urgency_rank(on_date).label("rank"),
                Certificate.id.label("certificate_id"),
                Certificate.expiry_date.label("expiry_date"),
            )
            .join(
                Property,
                Property.id == Certificate.property_id,
            )
            .where(*conds)
        )
    if "missing" in wanted:
        wanted_types = [t for t in REQUIRED_TYPES if cert_type is None or t == cert_type]
        if wanted_types:
            # One pass: every active property against every type it must hold, anti-joined
            # with the certificates on record (index on agency, property, type).
            # (A UNION of literals rather than VALUES: SQLite cannot name VALUES columns.)
            required = union_all(
                *[select(literal(t.value, String).label("type")) for t in wanted_types]
            ).subquery("required_type")
            # exists(<entity column>), not a bare exists(): it names the entity, so the
            # session's agency criterion reaches the subquery too.
            recorded = exists(Certificate.id).where(
                Certificate.property_id == Property.id,
                Certificate.type == required.c.type,
            )
            pconds: list[ColumnElement[bool]] = [
                or_(*[and_(required.c.type == t.value, _requires(t)) for t in wanted_types]),
                ~recorded,
            ]
            if property_id is not None:
                pconds.append(Property.id == property_id)
            parts.append(
                select(
                    Property.id.label("property_id"),
                    required.c.type.label("type"),
                    literal("missing", String).label("urgency"),
                    literal(URGENCY_RANK["missing"], Integer).label("rank"),
                    cast(null(), IdType).label("certificate_id"),
                    cast(null(), Date).label("expiry_date"),
                )
                .select_from(Property)
                .join(required, true())
                .where(*pconds)
            )
    if not parts:  # e.g. missing HMO licences: that type is never required
        parts.append(
            select(
                cast(null(), IdType).label("property_id"),
                cast(null(), String).label("type"),
                cast(null(), String).label("urgency"),
                cast(null(), Integer).label("rank"),
                cast(null(), IdType).label("certificate_id"),
                cast(null(), Date).label("expiry_date"),
            ).where(false())
        )
    return union_all(*parts).subquery("items")


def _to_item(row: Any) -> ItemRow:
    expiry = row.expiry_date
    if isinstance(expiry, str):  # defensive: a driver may hand back union columns as text
        expiry = date.fromisoformat(expiry)
    return ItemRow(
        property_id=int(row.property_id),
        type=CertificateType(row.type),
        urgency=str(row.urgency),
        certificate_id=int(row.certificate_id) if row.certificate_id is not None else None,
        expiry_date=expiry,
    )


async def items(
    session: AsyncSession,
    agency_id: int,
    on_date: date,
    *,
    urgencies: frozenset[str] | None = None,
    cert_type: CertificateType | None = None,
    property_id: int | None = None,
    limit: int | None,
    offset: int = 0,
    count: bool = True,
) -> tuple[list[ItemRow], int | None]:
    """Items needing action, most urgent first (expired, ≤7 days, ≤30 days, missing), and
    their total (None when `count` is false and the caller knows it already)."""
    sub = _items_union(
        agency_id, on_date, urgencies=urgencies, cert_type=cert_type, property_id=property_id
    )
    stmt = select(sub).order_by(sub.c.rank, sub.c.expiry_date, sub.c.property_id, sub.c.type)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    rows = [_to_item(r) for r in (await session.execute(stmt)).all()]
    if not count:
        return rows, None
    if limit is None:
        return rows, len(rows)
    total = await session.scalar(select(func.count()).select_from(sub))
    return rows, int(total or 0)


async def items_for_properties(
    session: AsyncSession, agency_id: int, on_date: date, property_ids: Sequence[int]
) -> list[ItemRow]:
    """Every item of some properties (for the by-property view), most urgent first."""
    if not property_ids:
        return []
    sub = _items_union(agency_id, on_date)
    stmt = (
        select(sub)
        .where(sub.c.property_id.in_(set(property_ids)))
        .order_by(sub.c.rank, sub.c.expiry_date, sub.c.type)
    )
    return [_to_item(r) for r in (await session.execute(stmt)).all()]


async def properties_with_items(
    session: AsyncSession, agency_id: int, on_date: date, *, limit: int, offset: int
) -> tuple[list[int], int]:
    """A page of property ids with anything needing action, worst first, and how many."""
    sub = _items_union(agency_id, on_date)
    grouped = (
        select(
            sub.c.property_id,
            func.min(sub.c.rank).label("worst"),
            func.min(sub.c.expiry_date).label("soonest"),
        )
        .group_by(sub.c.property_id)
        .subquery("grouped")
    )
    rows = await session.execute(
        select(grouped.c.property_id)
        .order_by(grouped.c.worst, grouped.c.soonest, grouped.c.property_id)
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(grouped))
    return [int(r[0]) for r in rows.all()], int(total or 0)


async def item_counts(
    session: AsyncSession, agency_id: int, on_date: date
) -> dict[tuple[str, str], int]:
    """`{(urgency, type): n}` over every item needing action, in one pass."""
    sub = _items_union(agency_id, on_date)
    rows = await session.execute(
        select(sub.c.urgency, sub.c.type, func.count()).group_by(sub.c.urgency, sub.c.type)
    )
    return {(str(u), str(t)): int(n) for u, t, n in rows.all()}


async def recorded_status_counts(
    session: AsyncSession, agency_id: int, on_date: date
) -> dict[tuple[str, str], int]:
    """`{(type, status): n}` over the current certificates of active properties."""
    until = rules.expiring_until(on_date)
    status = case(
        (Certificate.expiry_date < on_date, literal("expired", String)),
        (Certificate.expiry_date <= until, literal("expiring", String)),
        else_=literal("valid", String),
    )
    recorded = await session.execute(
        select(cast(Certificate.type, String), status, func.count())
        .join(
            Property,
            Property.id == Certificate.property_id,
        )
        .where(
            Certificate.is_current == true(),
            _relevant_certificate(),
        )
        .group_by(cast(Certificate.type, String), status)
    )
    return {(str(t), str(st)): int(n) for t, st, n in recorded.all()}


def _epc_below_minimum(agency_id: int, on_date: date) -> Select[Any]:
    exempt = and_(
        Certificate.exemption_reference.is_not(None),
        or_(
            Certificate.exemption_expiry_date.is_(None),
            Certificate.exemption_expiry_date >= on_date,
        ),
    )
    return (
        select(Certificate)
        .join(
            Property,
            Property.id == Certificate.property_id,
        )
        .where(
            Certificate.is_current == true(),
            Certificate.type == CertificateType.epc,
            Certificate.rating.in_(rules.epc_ratings_below_minimum()),
            _active_letting(),
            ~exempt,
        )
    )


async def epc_below_minimum(
    session: AsyncSession, agency_id: int, on_date: date, *, limit: int | None = None
) -> tuple[Sequence[Certificate], int]:
    """Current EPCs of active lettings rated F or G without a valid exemption."""
    stmt = _epc_below_minimum(agency_id, on_date)
    page = stmt.order_by(Certificate.property_id)
    if limit is not None:
        page = page.limit(limit)
    rows = (await session.scalars(page)).all()
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    return rows, int(total or 0)
