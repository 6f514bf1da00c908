"""Business rules for applicants, and the reasons behind every match."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service as activity
from estatecrm.applicants import repository
from estatecrm.applicants.models import (
    MUST_HAVE_RULES,
    Applicant,
    ApplicantStatus,
    must_haves_to_mask,
    types_to_mask,
)
from estatecrm.applicants.repository import (
    CLOSE_STRETCH_PERCENT,
    SCORE_BASE,
    SCORE_BEDROOMS,
    SCORE_MOVE,
    SCORE_MUST_HAVES,
    SCORE_PRICE,
    SCORE_STATUS,
    property_satisfies,
)
from estatecrm.applicants.schemas import (
    ApplicantCreate,
    ApplicantFilters,
    ApplicantReplace,
    ApplicantUpdate,
    area_key,
)
from estatecrm.auth import service as auth_service
from estatecrm.auth.models import User
from estatecrm.contacts import service as contact_service
from estatecrm.contacts.models import Contact, ContactRoleName
from estatecrm.db import relations
from estatecrm.db.relations import Target
from estatecrm.errors import Conflict, NotFound, ValidationFailed, update_values
from estatecrm.kit.clock import utcnow
from estatecrm.kit.money import format_pence
from estatecrm.properties import service as property_service
from estatecrm.properties.models import MarketingType, Property

ENTITY = "applicant"
TRACKED = [
    "contact_id",
    "marketing_type",
    "min_price_pence",
    "max_price_pence",
    "min_bedrooms",
    "max_bedrooms",
    "property_types",
    "areas",
    "must_haves",
    "move_by_date",
    "position",
    "status",
    "negotiator_id",
    "notes",
]
REQUIRED = ("contact_id", "marketing_type", "status", "property_types", "areas", "must_haves")


def _snapshot(applicant: Applicant) -> dict[str, Any]:
    return {name: getattr(applicant, name) for name in TRACKED}


async def _check_links(session: AsyncSession, agency_id: int, values: dict[str, Any]) -> None:
    contact_id = values.get("contact_id")
    if contact_id is not None and not await contact_service.exists(session, agency_id, contact_id):
        raise ValidationFailed("contact_id", "No such contact in your agency")
    negotiator_id = values.get("negotiator_id")
    if (
        negotiator_id is not None
        and await auth_service.get_user(session, agency_id, negotiator_id) is None
    ):
        raise ValidationFailed("negotiator_id", "No such negotiator in your agency")


def _check_ranges(applicant: Applicant) -> None:
    low, high = applicant.min_price_pence, applicant.max_price_pence
    if low is not None and high is not None and high < low:
        raise ValidationFailed("max_price_pence", "The maximum must be at least the minimum")
    low, high = applicant.min_bedrooms, applicant.max_bedrooms
    if low is not None and high is not None and high < low:
        raise ValidationFailed("max_bedrooms", "The maximum must be at least the minimum")


def _apply(applicant: Applicant, values: dict[str, Any]) -> bool:
    """Set fields from schema values; whether the areas changed."""
    if "property_types" in values:
        applicant.property_types_mask = types_to_mask(values.pop("property_types"))
    if "must_haves" in values:
        applicant.must_haves_mask = must_haves_to_mask(values.pop("must_haves"))
    areas_changed = False
    if "areas" in values:
        areas = values.pop("areas")
        areas_changed = areas != (applicant.areas or [])
        applicant.areas = areas
        applicant.area_count = len(areas)
    for key, value in values.items():
        setattr(applicant, key, value)
    return areas_changed


async def get(session: AsyncSession, user: User, applicant_id: int) -> Applicant:
    """An applicant of the user's agency; 404 when missing or foreign."""
    applicant = await repository.get(session, user.agency_id, applicant_id)
    if applicant is None:
        raise NotFound("Applicant not found")
    return applicant


async def get_with_contact(
    session: AsyncSession, user: User, applicant_id: int
) -> tuple[Applicant, Contact]:
    """An applicant and its contact; 404 when missing or foreign."""
    found = await repository.get_with_contact(session, user.agency_id, applicant_id)
    if found is None:
        raise NotFound("Applicant not found")
    return found


async def search(
    session: AsyncSession, user: User, filters: ApplicantFilters, *, limit: int, offset: int
) -> tuple[list[tuple[Applicant, Contact]], int]:
    """A page of the agency's applicants with their contacts."""
    return await repository.search(session, user.agency_id, filters, limit=limit, offset=offset)


async def create(session: AsyncSession, user: User, data: ApplicantCreate) -> Applicant:
    """Record what a contact is looking for; the contact becomes an applicant."""
    values = data.model_dump()
    await _check_links(session, user.agency_id, values)
    applicant = Applicant(agency_id=user.agency_id, areas=[], area_count=0)
    _apply(applicant, values)
    await repository.add(session, applicant)
    await repository.set_areas(session, applicant, [area_key(a) for a in applicant.areas])
    await contact_service.add_role(session, user, applicant.contact_id, ContactRoleName.applicant)
    summary = f"Looking to {'buy' if applicant.marketing_type == MarketingType.sale else 'rent'}"
    changes = activity.diff({}, _snapshot(applicant))
    await activity.log(session, user, applicant, "created", summary, changes)
    return applicant


async def update(
    session: AsyncSession,
    user: User,
    applicant_id: int,
    data: ApplicantUpdate | ApplicantReplace,
) -> Applicant:
    """Change an applicant: PATCH sends some fields, PUT sends them all."""
    applicant = await get(session, user, applicant_id)
    before = _snapshot(applicant)
    values = update_values(data, REQUIRED, full=isinstance(data, ApplicantReplace))
    await _check_links(session, user.agency_id, values)
    contact_changed = values.get("contact_id", applicant.contact_id) != applicant.contact_id
    areas_changed = _apply(applicant, values)
    _check_ranges(applicant)
    applicant.updated_at = utcnow()
    await session.flush()
    if areas_changed:
        await repository.set_areas(session, applicant, [area_key(a) for a in applicant.areas])
    if contact_changed:
        await contact_service.add_role(
            session, user, applicant.contact_id, ContactRoleName.applicant
        )
    changes = activity.diff(before, _snapshot(applicant))
    if changes:
        action = "status_changed" if set(changes) == {"status"} else "updated"
        await activity.log(
            session, user, applicant, action, f"Changed {', '.join(sorted(changes))}", changes
        )
    return applicant


async def found_home(
    session: AsyncSession, user: User, applicant_id: int | None, what: str
) -> Applicant | None:
    """Archive a search that has ended in a move (`what` says which), so matching stops
    offering the applicant more property; None when there is no such live search."""
    if applicant_id is None:
        return None
    applicant = await repository.get(session, user.agency_id, applicant_id)
    if applicant is None or applicant.status == ApplicantStatus.archived:
        return None
    before = _snapshot(applicant)
    applicant.status = ApplicantStatus.archived
    applicant.updated_at = utcnow()
    await session.flush()
    summary = f"Search archived: {what}"
    changes = activity.diff(before, _snapshot(applicant))
    await activity.log(session, user, applicant, "status_changed", summary, changes)
    return applicant


async def delete(session: AsyncSession, user: User, applicant_id: int) -> None:
    """Remove an applicant (managers and admins); refused once viewings or offers refer to it
    (an offer put to a client is a record the agency must keep)."""
    applicant = await get(session, user, applicant_id)
    # What other features hold that names the applicant: declared in their relations.py.
    reasons = await relations.of(session).why_kept(Target.applicant, session, applicant)
    if reasons:
        raise Conflict(
            f"This applicant has {' and '.join(reasons)} on record; "
            "set the status to archived instead",
            detail={"reasons": reasons},
        )
    await repository.delete_applicant(session, applicant)
    await activity.log(session, user, (ENTITY, applicant_id), "deleted", "Deleted applicant")


async def for_contact(session: AsyncSession, user: User, contact_id: int) -> Sequence[Applicant]:
    """A contact's searches."""
    return await repository.for_contact(session, user.agency_id, contact_id)


async def pick(session: AsyncSession, user: User, q: str) -> list[tuple[Applicant, Contact]]:
    """Live applicants for a picker (search as you type)."""
    if not q.strip():
        return []
    return await repository.pick(session, user.agency_id, q)


# --- matching -------------------------------------------------------------------------------


def _date(value: Any) -> str:
    return f"{value.day} {value.strftime('%b %Y')}"


def explain(
    applicant: Applicant, prop: Property, *, for_property: bool = True
) -> tuple[int, list[str]]:
    """The score (as the SQL computes it) and the reasons, for one applicant and property."""
    points, reasons = SCORE_BASE, []
    for part, why in (
        _price_points(applicant, prop),
        _bedroom_points(applicant, prop),
        (0, _type_and_area_reasons(applicant, prop)),
        _must_have_points(applicant, prop),
        _move_points(applicant, prop),
    ):
        points += part
        reasons += why
    points += SCORE_STATUS.get(applicant.status, 0)
    if for_property and applicant.status in (ApplicantStatus.hot, ApplicantStatus.warm):
        reasons.append(f"{applicant.status.value.capitalize()} applicant")
    return points, reasons


def _price_points(applicant: Applicant, prop: Property) -> tuple[int, list[str]]:
    letting = prop.marketing_type == MarketingType.letting
    price, low, high = prop.price_pence, applicant.min_price_pence, applicant.max_price_pence
    asked = format_pence(price, per_month=letting)
    if low is None and high is None:
        return 10, [f"{asked}, no price range set"]
    if high is not None and price > high:
        points = 10 if price * 100 <= high * (100 + CLOSE_STRETCH_PERCENT) else 5
        over = max(1, ((price - high) * 200 + high) // (2 * high))  # nearest whole percent
        return points, [f"{asked} is {over}% over max {format_pence(high)}"]
    if low is not None and price < low:
        return 10, [f"{asked} under min {format_pence(low)}"]
    if low is not None and high is not None:
        return SCORE_PRICE, [f"{asked} within {format_pence(low)}\u2013{format_pence(high)}"]
    if high is not None:
        return SCORE_PRICE, [f"{asked} within max {format_pence(high)}"]
    return SCORE_PRICE, [f"{asked} meets min {format_pence(low)}"]


def _bedroom_points(applicant: Applicant, prop: Property) -> tuple[int, list[str]]:
    beds = prop.bedrooms
    if applicant.max_bedrooms is not None and beds > applicant.max_bedrooms:
        return SCORE_BEDROOMS // 2, [f"{beds} bed, more than max {applicant.max_bedrooms}"]
    if applicant.min_bedrooms is not None:
        return SCORE_BEDROOMS, [f"{beds} bed meets min {applicant.min_bedrooms}"]
    if applicant.max_bedrooms is not None:
        return SCORE_BEDROOMS, [f"{beds} bed within max {applicant.max_bedrooms}"]
    return SCORE_BEDROOMS, []


def _type_and_area_reasons(applicant: Applicant, prop: Property) -> list[str]:
    reasons = []
    if applicant.property_types:
        reasons.append(f"{prop.property_type.value.capitalize()} is a wanted type")
    keys = {area_key(a): a for a in applicant.areas or []}
    if area_key(prop.postcode_district) in keys:
        reasons.append(f"{prop.postcode_district} in areas")
    elif area_key(prop.city.strip()) in keys:
        reasons.append(f"{keys[area_key(prop.city.strip())]} in areas")
    return reasons


def _must_have_points(applicant: Applicant, prop: Property) -> tuple[int, list[str]]:
    wanted = applicant.must_haves
    if not wanted:
        return SCORE_MUST_HAVES, []
    offered = property_satisfies(prop)
    reasons = []
    for item in wanted:
        label = MUST_HAVE_RULES[item].label
        reasons.append(f"Has {label}" if item in offered else f"No {label} listed")
    met = sum(1 for item in wanted if item in offered)
    return met * SCORE_MUST_HAVES // len(wanted), reasons


def _move_points(applicant: Applicant, prop: Property) -> tuple[int, list[str]]:
    move_by, available = applicant.move_by_date, prop.available_date
    if move_by is None or available is None:
        return SCORE_MOVE, []
    if available <= move_by:
        return SCORE_MOVE, [f"Available {_date(available)}, by move-by {_date(move_by)}"]
    return 0, [f"Available {_date(available)}, after move-by {_date(move_by)}"]


async def matches_for_property(
    session: AsyncSession, user: User, property_id: int, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Applicants who fit a property, best first, with score and reasons."""
    prop = await property_service.get(session, user, property_id)
    rows, total = await repository.match_applicants(session, prop, limit=limit, offset=offset)
    items = [
        {
            "applicant": applicant,
            "contact": contact,
            "score": score,
            "reasons": explain(applicant, prop)[1],
        }
        for applicant, contact, score in rows
    ]
    return items, total


async def matches_for_applicant(
    session: AsyncSession, user: User, applicant_id: int, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Available properties that fit an applicant, best first, with score and reasons."""
    applicant = await get(session, user, applicant_id)
    keys = [area_key(a) for a in applicant.areas or []]
    rows, total = await repository.match_properties(
        session, applicant, keys, limit=limit, offset=offset
    )
    items = [
        {
            "property": prop,
            "score": score,
            "reasons": explain(applicant, prop, for_property=False)[1],
        }
        for prop, score in rows
    ]
    return items, total


# Lookups for other features (they call this service, never applicants' repository).


async def find(session: AsyncSession, agency_id: int, applicant_id: int) -> Applicant | None:
    """An applicant of this agency, or None (also when foreign)."""
    return await repository.get(session, agency_id, applicant_id)


async def find_with_contact(
    session: AsyncSession, agency_id: int, applicant_id: int
) -> tuple[Applicant, Contact] | None:
    """An applicant with their contact, or None."""
    return await repository.get_with_contact(session, agency_id, applicant_id)


async def get_many_with_contacts(
    session: AsyncSession, agency_id: int, applicant_ids: Sequence[int]
) -> dict[int, tuple[Applicant, Contact]]:
    """The agency's applicants among these ids with their contacts, by id, in one query."""
    return await repository.get_many_with_contacts(session, agency_id, applicant_ids)
