"""Queries over applicants, and matching in SQL; the only place that builds applicant SQL.

Matching scores every candidate inside the database (0-100, see `SCORE_*`): hard requirements
are WHERE conditions, soft ones are CASE expressions summed into `score`, and `count(*) OVER ()`
gives the total in the same query. Only the requested page comes back to Python.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from estatecrm.applicants.models import (
    MUST_HAVE_RULES,
    PROPERTY_TYPE_BITS,
    Applicant,
    ApplicantArea,
    ApplicantStatus,
    MustHave,
    must_haves_to_mask,
)
from estatecrm.applicants.schemas import ApplicantFilters, area_key
from estatecrm.contacts.models import Contact
from estatecrm.db import references
from estatecrm.properties.models import Property, PropertyStatus

# Points of each part of the score; they add up to 100.
SCORE_BASE = 40  # passed every hard requirement
SCORE_PRICE = 20  # within the range; 10 without a range or under the minimum; 10/5 when stretched
SCORE_BEDROOMS = 10  # 5 when above the maximum
SCORE_MUST_HAVES = 15  # in proportion to the must-haves met; full without any
SCORE_MOVE = 5  # available by the move-by date (or no dates to compare)
SCORE_STATUS = {ApplicantStatus.hot: 10, ApplicantStatus.warm: 5, ApplicantStatus.cold: 0}
# A property up to 10% over the maximum is still shown (agents know budgets stretch).
STRETCH_PERCENT = 10
CLOSE_STRETCH_PERCENT = 5
LIVE_STATUSES = (ApplicantStatus.hot, ApplicantStatus.warm, ApplicantStatus.cold)


async def get(session: AsyncSession, agency_id: int, applicant_id: int) -> Applicant | None:
    """An applicant of this agency, or None (also for another agency's)."""
    return await session.scalar(select(Applicant).where(Applicant.id == applicant_id))


async def get_with_contact(
    session: AsyncSession, agency_id: int, applicant_id: int
) -> tuple[Applicant, Contact] | None:
    """An applicant and its contact in one query."""
    row = (
        await session.execute(
            select(Applicant, Contact)
            .join(Contact, Contact.id == Applicant.contact_id)
            .where(Applicant.id == applicant_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def get_many_with_contacts(
    session: AsyncSession, agency_id: int, ids: Sequence[int]
) -> dict[int, tuple[Applicant, Contact]]:
    """Applicants with their contacts by id, in one query (for lists of viewings)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Applicant, Contact)
        .join(Contact, Contact.id == Applicant.contact_id)
        .where(Applicant.id.in_(set(ids)))
    )
    return {a.id: (a, c) for a, c in rows.tuples()}


def _conditions(agency_id: int, f: ApplicantFilters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.marketing_type is not None:
        conds.append(Applicant.marketing_type == f.marketing_type)
    if f.status is not None:
        conds.append(Applicant.status == f.status)
    if f.active is True:
        conds.append(Applicant.status.in_(LIVE_STATUSES))
    elif f.active is False:
        conds.append(Applicant.status == ApplicantStatus.archived)
    if f.negotiator_id is not None:
        conds.append(Applicant.negotiator_id == f.negotiator_id)
    if f.contact_id is not None:
        conds.append(Applicant.contact_id == f.contact_id)
    if f.area:
        conds.append(
            Applicant.id.in_(
                select(ApplicantArea.applicant_id).where(ApplicantArea.area_key == area_key(f.area))
            )
        )
    if f.q:
        for word in f.q.lower().split()[:6]:
            conds.append(Contact.search_text.contains(word, autoescape=True))
    return conds


def _ordered(stmt: Select[Any], sort: str) -> Select[Any]:
    column = getattr(Applicant, sort.lstrip("-"))
    if sort.startswith("-"):
        return stmt.order_by(column.desc(), Applicant.id.desc())
    return stmt.order_by(column.asc(), Applicant.id.asc())


async def search(
    session: AsyncSession, agency_id: int, filters: ApplicantFilters, *, limit: int, offset: int
) -> tuple[list[tuple[Applicant, Contact]], int]:
    """One page of applicants with their contacts, and the total count."""
    conds = _conditions(agency_id, filters)
    base = select(Applicant, Contact).join(Contact, Contact.id == Applicant.contact_id)
    rows = await session.execute(
        _ordered(base.where(*conds), filters.sort).limit(limit).offset(offset)
    )
    total = await session.scalar(
        select(func.count())
        .select_from(Applicant)
        .join(Contact, Contact.id == Applicant.contact_id)
        .where(*conds)
    )
    return [(a, c) for a, c in rows.tuples()], int(total or 0)


async def add(session: AsyncSession, applicant: Applicant) -> Applicant:
    """Insert an applicant."""
    session.add(applicant)
    await session.flush()
    return applicant


async def set_areas(session: AsyncSession, applicant: Applicant, keys: Sequence[str]) -> None:
    """Replace the matching index of an applicant's areas."""
    await session.execute(delete(ApplicantArea).where(ApplicantArea.applicant_id == applicant.id))
    for key in dict.fromkeys(keys):
        session.add(
            ApplicantArea(agency_id=applicant.agency_id, applicant_id=applicant.id, area_key=key)
        )
    await session.flush()


async def delete_applicant(session: AsyncSession, applicant: Applicant) -> None:
    """Delete an applicant (its areas go with it, in the database)."""
    await session.delete(applicant)
    await session.flush()


async def reassign_contact(session: AsyncSession, agency_id: int, from_id: int, to_id: int) -> int:
    """Move every applicant of one contact to another (merging duplicates)."""
    return await references.reassign(session, agency_id, from_id, to_id, Applicant.contact_id)


async def for_contact(
    session: AsyncSession, agency_id: int, contact_id: int
) -> Sequence[Applicant]:
    """A contact's searches, live ones first."""
    rows = await session.scalars(
        select(Applicant)
        .where(Applicant.contact_id == contact_id)
        .order_by((Applicant.status == ApplicantStatus.archived).asc(), Applicant.id.desc())
    )
    return rows.all()


async def pick(
    session: AsyncSession, agency_id: int, q: str, limit: int = 8
) -> list[tuple[Applicant, Contact]]:
    """Live applicants for a search-as-you-type picker (by the contact's name, e-mail, phone)."""
    conds = _conditions(agency_id, ApplicantFilters(q=q[:200], active=True))
    rows = await session.execute(
        select(Applicant, Contact)
        .join(Contact, Contact.id == Applicant.contact_id)
        .where(*conds)
        .order_by(Contact.last_name, Contact.first_name, Applicant.id)
        .limit(limit)
    )
    return [(a, c) for a, c in rows.tuples()]


# --- matching -------------------------------------------------------------------------------
#
# Each direction builds its statement once per *shape* (which optional requirements are
# present) with bound parameters for every value, and caches it: a property page costs one
# cached, already-compiled statement, not a fresh expression tree compiled on every request.


def _bit_set(column: Any, bit: Any) -> ColumnElement[bool]:
    return column.op("&")(bit) != 0


def feature_text() -> ColumnElement[str]:
    """A property's features as lower-case text (JSON on SQLite, JSONB on PostgreSQL)."""
    return func.lower(cast(Property.features, String))


def property_has(item: MustHave) -> ColumnElement[bool]:
    """SQL for "the property has this must-have" (same rule as `property_satisfies`)."""
    rule = MUST_HAVE_RULES[item]
    if rule.furnishing is not None:
        return Property.furnishing == rule.furnishing
    text = feature_text()
    return or_(*(text.contains(word, autoescape=True) for word in rule.words))


def property_satisfies(prop: Property) -> set[MustHave]:
    """The must-haves a property offers (same rule as `property_has`, in Python)."""
    # Lower-case the JSON text exactly as the database does, so both sides agree.
    text = json.dumps(list(prop.features or [])).lower()
    found = set()
    for item, rule in MUST_HAVE_RULES.items():
        if rule.furnishing is not None:
            if prop.furnishing == rule.furnishing:
                found.add(item)
        elif any(word in text for word in rule.words):
            found.add(item)
    return found


def _status_points(status: Any) -> Any:
    return case(*((status == s, pts) for s, pts in SCORE_STATUS.items()), else_=0)


def _param(name: str, type_: Any) -> Any:
    return bindparam(name, type_=type_)


def _applicant_conditions() -> list[ColumnElement[bool]]:
    """The hard requirements, as conditions on bound parameters describing the property."""
    A = Applicant
    anywhere = aliased(Applicant)
    # Searching in the property's district or town, or anywhere at all. Written as one id set
    # so the planner can start from the (small) area index instead of filtering every budget.
    in_area = A.id.in_(
        union_all(
            select(ApplicantArea.applicant_id).where(
                ApplicantArea.area_key.in_(bindparam("area_keys", expanding=True)),
            ),
            select(anywhere.id).where(anywhere.area_count == 0),
        )
    )
    return [
        A.marketing_type == bindparam("marketing_type"),
        A.status.in_(LIVE_STATUSES),
        # price <= max * 1.10  ⇔  max >= ceil(price * 100 / 110): a plain range on the index.
        or_(A.max_price_pence.is_(None), A.max_price_pence >= _param("floor_max", BigInteger)),
        or_(A.min_bedrooms.is_(None), A.min_bedrooms <= _param("bedrooms", Integer)),
        or_(
            A.property_types_mask == 0,
            _bit_set(A.property_types_mask, _param("type_bit", Integer)),
        ),
        in_area,
    ]


@lru_cache(maxsize=4)
def _applicants_query(has_available: bool) -> Select[Any]:
    """Live applicants a property suits, scored (two shapes: with or without a free date)."""
    A = Applicant
    price = _param("price", BigInteger)
    price100 = _param("price100", BigInteger)
    beds = _param("bedrooms", Integer)
    conds = _applicant_conditions()
    price_pts = case(
        (and_(A.min_price_pence.is_(None), A.max_price_pence.is_(None)), 10),
        (
            and_(A.max_price_pence.is_not(None), A.max_price_pence < price),
            case((A.max_price_pence * (100 + CLOSE_STRETCH_PERCENT) >= price100, 10), else_=5),
        ),
        (and_(A.min_price_pence.is_not(None), A.min_price_pence > price), 10),
        else_=SCORE_PRICE,
    )
    beds_pts = case(
        (and_(A.max_bedrooms.is_not(None), A.max_bedrooms < beds), SCORE_BEDROOMS // 2),
        else_=SCORE_BEDROOMS,
    )
    wanted = sum(
        (case((_bit_set(A.must_haves_mask, r.bit), 1), else_=0) for r in MUST_HAVE_RULES.values()),
        start=literal(0),
    )
    # :offered is the property's must-haves as a bit mask: one statement for every property.
    offered = _param("offered", Integer)
    met = sum(
        (
            case((_bit_set(A.must_haves_mask.op("&")(offered), r.bit), 1), else_=0)
            for r in MUST_HAVE_RULES.values()
        ),
        start=literal(0),
    )
    must_pts = case(
        (A.must_haves_mask == 0, SCORE_MUST_HAVES), else_=(met * SCORE_MUST_HAVES) // wanted
    )
    move_pts: Any = literal(SCORE_MOVE)
    if has_available:
        move_pts = case(
            (
                or_(A.move_by_date.is_(None), A.move_by_date >= _param("available", Date)),
                SCORE_MOVE,
            ),
            else_=0,
        )
    score = cast(
        SCORE_BASE + price_pts + beds_pts + must_pts + move_pts + _status_points(A.status), Integer
    ).label("score")
    # Rank on the applicant table alone, then join the contacts of the one page shown.
    ranked = (
        select(A.id.label("applicant_id"), score, func.count().over().label("total"))
        .where(*conds)
        .order_by(score.desc(), A.updated_at.desc(), A.id.desc())
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery()
    )
    return (
        select(A, Contact, ranked.c.score, ranked.c.total)
        .join(ranked, ranked.c.applicant_id == A.id)
        .join(Contact, Contact.id == A.contact_id)
        .order_by(ranked.c.score.desc(), A.updated_at.desc(), A.id.desc())
    )


@lru_cache(maxsize=1)
def _applicants_count() -> Select[Any]:
    """How many applicants match (for a page past the end, where the window count is absent)."""
    return select(func.count()).select_from(Applicant).where(*_applicant_conditions())


async def match_applicants(
    session: AsyncSession, prop: Property, *, limit: int, offset: int
) -> tuple[list[tuple[Applicant, Contact, int]], int]:
    """Live applicants whose hard requirements this property meets, best score first."""
    price = prop.price_pence
    params: dict[str, Any] = {
        "marketing_type": prop.marketing_type,
        "price": price,
        "price100": price * 100,
        "floor_max": -((-price * 100) // (100 + STRETCH_PERCENT)),
        "bedrooms": prop.bedrooms,
        "type_bit": PROPERTY_TYPE_BITS[prop.property_type],
        "area_keys": [area_key(prop.postcode_district), area_key(prop.city.strip())],
        "available": prop.available_date,
        "limit": limit,
        "offset": offset,
    }
    params["offered"] = must_haves_to_mask(sorted(property_satisfies(prop)))
    stmt = _applicants_query(prop.available_date is not None)
    rows = (await session.execute(stmt, params)).all()
    total = int(rows[0].total) if rows else 0
    if not rows and offset:
        total = int(await session.scalar(_applicants_count(), params) or 0)
    return [(r[0], r[1], int(r.score)) for r in rows], total


@lru_cache(maxsize=512)
def _properties_query(
    has_low: bool,
    has_high: bool,
    has_min_beds: bool,
    has_max_beds: bool,
    has_types: bool,
    has_districts: bool,
    has_towns: bool,
    has_must_haves: bool,
    has_move_by: bool,
    count_only: bool = False,
) -> Select[Any]:
    """Available properties an applicant could want, scored; shaped by their requirements."""
    P = Property
    conds: list[ColumnElement[bool]] = [
        P.marketing_type == bindparam("marketing_type"),
        P.status == PropertyStatus.available,
    ]
    if has_high:
        conds.append(P.price_pence <= _param("high_stretch", BigInteger))
    if has_min_beds:
        conds.append(P.bedrooms >= _param("min_bedrooms", Integer))
    if has_types:
        conds.append(P.property_type.in_(bindparam("types", expanding=True)))
    places: list[ColumnElement[bool]] = []
    if has_districts:
        places.append(P.postcode_district.in_(bindparam("districts", expanding=True)))
    if has_towns:
        places.append(func.lower(P.city).in_(bindparam("towns", expanding=True)))
    if places:
        conds.append(or_(*places))
    if count_only:
        return select(func.count()).select_from(P).where(*conds)
    whens: list[tuple[Any, Any]] = []
    if has_high:
        high = _param("high", BigInteger)
        close = case((P.price_pence * 100 <= _param("high_close", BigInteger), 10), else_=5)
        whens.append((P.price_pence > high, close))
    if has_low:
        whens.append((P.price_pence < _param("low", BigInteger), 10))
    price_pts: Any = case(*whens, else_=SCORE_PRICE) if whens else literal(10)
    beds_pts: Any = literal(SCORE_BEDROOMS)
    if has_max_beds:
        beds_pts = case(
            (P.bedrooms > _param("max_bedrooms", Integer), SCORE_BEDROOMS // 2),
            else_=SCORE_BEDROOMS,
        )
    must_pts: Any = literal(SCORE_MUST_HAVES)
    if has_must_haves:
        # :wanted is the applicant's must-haves as a bit mask; a feature test only runs for
        # the bits that are set (the database folds the rest away).
        wanted = _param("wanted", Integer)
        met = sum(
            (
                case((and_(_bit_set(wanted, rule.bit), property_has(item)), 1), else_=0)
                for item, rule in MUST_HAVE_RULES.items()
            ),
            start=literal(0),
        )
        must_pts = (met * SCORE_MUST_HAVES) // _param("wanted_count", Integer)
    move_pts: Any = literal(SCORE_MOVE)
    if has_move_by:
        move_by = _param("move_by", Date)
        move_pts = case(
            (or_(P.available_date.is_(None), P.available_date <= move_by), SCORE_MOVE), else_=0
        )
    status_pts = _param("status_points", Integer)
    score = cast(
        SCORE_BASE + price_pts + beds_pts + must_pts + move_pts + status_pts, Integer
    ).label("score")
    # Rank narrow rows (id, score), then fetch the page's properties: a town-wide search
    # ranks thousands of candidates without carrying every description through the sort.
    # Newest listings come first among equals. (Ordering by the primary key alone lets the
    # planner walk the whole table in key order when every score is the same.)
    ranked = (
        select(
            P.id.label("property_id"),
            score,
            P.listed_at.label("listed_at"),
            func.count().over().label("total"),
        )
        .where(*conds)
        .order_by(score.desc(), P.listed_at.desc().nulls_last(), P.id.desc())
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery()
    )
    return (
        select(P, ranked.c.score, ranked.c.total)
        .join(ranked, ranked.c.property_id == P.id)
        .order_by(
            ranked.c.score.desc(),
            ranked.c.listed_at.desc().nulls_last(),
            ranked.c.property_id.desc(),
        )
    )


async def match_properties(
    session: AsyncSession,
    applicant: Applicant,
    area_keys: Sequence[str],
    *,
    limit: int,
    offset: int,
) -> tuple[list[tuple[Property, int]], int]:
    """Available properties meeting the applicant's hard requirements, best score first."""
    low, high = applicant.min_price_pence, applicant.max_price_pence
    districts = [k.upper() for k in area_keys if any(ch.isdigit() for ch in k)]
    towns = [k for k in area_keys if not any(ch.isdigit() for ch in k)]
    shape = (
        low is not None,
        high is not None,
        applicant.min_bedrooms is not None,
        applicant.max_bedrooms is not None,
        bool(applicant.property_types_mask),
        bool(districts),
        bool(towns),
        bool(applicant.must_haves_mask),
        applicant.move_by_date is not None,
    )
    params: dict[str, Any] = {
        "marketing_type": applicant.marketing_type,
        "low": low,
        "high": high,
        "high_stretch": high * (100 + STRETCH_PERCENT) // 100 if high is not None else None,
        "high_close": high * (100 + CLOSE_STRETCH_PERCENT) if high is not None else None,
        "min_bedrooms": applicant.min_bedrooms,
        "max_bedrooms": applicant.max_bedrooms,
        "types": applicant.property_types,
        "districts": districts,
        "towns": towns,
        "move_by": applicant.move_by_date,
        "status_points": SCORE_STATUS.get(applicant.status, 0),
        "wanted": applicant.must_haves_mask,
        "wanted_count": len(applicant.must_haves),
        "limit": limit,
        "offset": offset,
    }
    rows = (await session.execute(_properties_query(*shape), params)).all()
    total = int(rows[0].total) if rows else 0
    if not rows and offset:
        count = _properties_query(*shape, count_only=True)
        total = int(await session.scalar(count, params) or 0)
    return [(r[0], int(r.score)) for r in rows], total
