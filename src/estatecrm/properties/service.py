"""Business rules of the properties register; the API and the pages both call these."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service as activity
from estatecrm.auth import service as auth_service
from estatecrm.auth.models import Role, User
from estatecrm.contacts import service as contact_service
from estatecrm.contacts.models import ContactRoleName
from estatecrm.db import relations
from estatecrm.db.relations import Target
from estatecrm.errors import Conflict, Forbidden, NotFound, ValidationFailed, update_values
from estatecrm.kit.clock import utcnow
from estatecrm.kit.uk_postcode import outward_code
from estatecrm.properties import repository
from estatecrm.properties.models import (
    STATUSES_FOR,
    MarketingType,
    Property,
    PropertyStatus,
    PropertyType,
)
from estatecrm.properties.schemas import (
    PropertyCreate,
    PropertyFilters,
    PropertyReplace,
    PropertyUpdate,
)
from estatecrm.tasks import service as task_service

ENTITY = "property"
# What a PATCH may not clear.
REQUIRED = (
    "address_line1",
    "city",
    "postcode",
    "property_type",
    "marketing_type",
    "status",
    "price_pence",
    "reference",
    "has_gas",
)
TRACKED = [
    "reference",
    "address_line1",
    "address_line2",
    "city",
    "county",
    "postcode",
    "property_type",
    "bedrooms",
    "bathrooms",
    "receptions",
    "marketing_type",
    "status",
    "price_pence",
    "tenure",
    "furnishing",
    "epc_rating",
    "has_gas",
    "council_tax_band",
    "description",
    "features",
    "available_date",
    "office_id",
    "negotiator_id",
    "access_code",
    "owner_contact_id",
]


def may_see_access_code(user: User) -> bool:
    """Key safe and alarm codes are for the people who visit properties, not viewers."""
    return user.role in (Role.admin, Role.manager, Role.negotiator)


def access_code_of(user: User, prop: Property) -> str | None:
    """The property's access code for someone allowed to see it (403 for viewers)."""
    if not may_see_access_code(user):
        raise Forbidden("Only staff who visit properties can see access codes")
    return prop.access_code


def _snapshot(prop: Property) -> dict[str, Any]:
    return {name: getattr(prop, name) for name in TRACKED}


def _search_text(prop: Property) -> str:
    parts = [prop.reference, prop.address_line1, prop.address_line2, prop.city, prop.county]
    parts += [prop.postcode, prop.postcode.replace(" ", "")]
    return " ".join(p for p in parts if p).lower()[:600]


def default_has_gas(property_type: PropertyType) -> bool:
    """Assume a gas supply unless the property is bare land (safer: asks for the certificate)."""
    return property_type != PropertyType.land


def check_status(marketing_type: MarketingType, status: PropertyStatus) -> None:
    """Only the statuses of the property's marketing type are allowed (422 naming `status`)."""
    allowed = STATUSES_FOR[marketing_type]
    if status not in allowed:
        names = ", ".join(s.value for s in allowed)
        raise ValidationFailed(
            "status", f"'{status.value}' is not a status for {marketing_type.value}: use {names}"
        )


def apply_status(prop: Property, status: PropertyStatus) -> None:
    """Move a property to a status and stamp the dates KPIs need."""
    now = utcnow()
    if prop.status != status or prop.status_changed_at is None:
        prop.status_changed_at = now
    prop.status = status
    if status != PropertyStatus.valuation and prop.instructed_at is None:
        prop.instructed_at = now
    if status == PropertyStatus.available and prop.listed_at is None:
        prop.listed_at = now


async def _check_links(session: AsyncSession, agency_id: int, values: dict[str, Any]) -> None:
    office_id = values.get("office_id")
    if (
        office_id is not None
        and await auth_service.get_office(session, agency_id, office_id) is None
    ):
        raise ValidationFailed("office_id", "No such office in your agency")
    negotiator_id = values.get("negotiator_id")
    if (
        negotiator_id is not None
        and await auth_service.get_user(session, agency_id, negotiator_id) is None
    ):
        raise ValidationFailed("negotiator_id", "No such negotiator in your agency")
    owner_id = values.get("owner_contact_id")
    if owner_id is not None and not await contact_service.exists(session, agency_id, owner_id):
        raise ValidationFailed("owner_contact_id", "No such contact in your agency")


async def _owner_role(session: AsyncSession, user: User, prop: Property) -> None:
    """The owner of a letting is a landlord; of a sale, a vendor."""
    if prop.owner_contact_id is None:
        return
    role = (
        ContactRoleName.landlord
        if prop.marketing_type == MarketingType.letting
        else ContactRoleName.vendor
    )
    await contact_service.add_role(session, user, prop.owner_contact_id, role)


async def _new_reference(session: AsyncSession, agency_id: int, postcode: str) -> str:
    district = outward_code(postcode)
    for _ in range(20):
        candidate = f"{district}-{secrets.randbelow(90000) + 10000}"
        if not await repository.reference_taken(session, agency_id, candidate):
            return candidate
    return f"{district}-{secrets.token_hex(4).upper()}"


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("A property with this reference already exists", field="reference") from exc


async def get(session: AsyncSession, user: User, property_id: int) -> Property:
    """A property of the user's agency; 404 when missing or foreign."""
    prop = await repository.get(session, user.agency_id, property_id)
    if prop is None:
        raise NotFound("Property not found")
    return prop


async def search(
    session: AsyncSession, user: User, filters: PropertyFilters, *, limit: int, offset: int
) -> tuple[Sequence[Property], int]:
    """A page of the agency's properties."""
    return await repository.search(session, user.agency_id, filters, limit=limit, offset=offset)


async def cities(session: AsyncSession, user: User) -> list[str]:
    """The towns the agency has properties in (for the filter form)."""
    return await repository.distinct_cities(session, user.agency_id)


async def owned_by(session: AsyncSession, user: User, contact_id: int) -> Sequence[Property]:
    """The properties a contact owns (landlord or vendor), newest first."""
    return await repository.owned_by(session, user.agency_id, contact_id)


async def pick(session: AsyncSession, user: User, q: str) -> Sequence[Property]:
    """Properties for a picker (reference, street, town or postcode; search as you type)."""
    if not q.strip():
        return []
    return await repository.pick(session, user.agency_id, q)


async def create(session: AsyncSession, user: User, data: PropertyCreate) -> Property:
    """Add a property to the register."""
    values = data.model_dump()
    check_status(data.marketing_type, data.status)
    await _check_links(session, user.agency_id, values)
    if data.reference is None:
        values["reference"] = await _new_reference(session, user.agency_id, data.postcode)
    elif await repository.reference_taken(session, user.agency_id, data.reference):
        raise Conflict(
            f"Reference {data.reference} is already used by another property", field="reference"
        )
    if values["has_gas"] is None:
        values["has_gas"] = default_has_gas(data.property_type)
    status = values.pop("status")
    prop = Property(agency_id=user.agency_id, **values)
    prop.status = PropertyStatus.valuation
    apply_status(prop, status)
    prop.postcode_district = outward_code(prop.postcode)
    prop.search_text = _search_text(prop)
    await repository.add(session, prop)
    await _flush(session)
    await _owner_role(session, user, prop)
    summary = f"Added {prop.address_line1}, {prop.city}"
    await activity.log(session, user, prop, "created", summary, activity.diff({}, _snapshot(prop)))
    return prop


async def update(
    session: AsyncSession,
    user: User,
    property_id: int,
    data: PropertyUpdate | PropertyReplace,
) -> Property:
    """Change a property: PATCH sends some fields, PUT sends them all."""
    prop = await get(session, user, property_id)
    before = _snapshot(prop)
    values = update_values(data, REQUIRED, full=isinstance(data, PropertyReplace))
    if isinstance(data, PropertyReplace):
        if values["reference"] is None:
            values["reference"] = prop.reference
        if values["has_gas"] is None:
            values["has_gas"] = default_has_gas(data.property_type)
    marketing_type = values.get("marketing_type", prop.marketing_type)
    status = values.pop("status", prop.status)
    check_status(marketing_type, status)
    await _check_links(session, user.agency_id, values)
    reference = values.get("reference")
    if reference and await repository.reference_taken(session, user.agency_id, reference, prop.id):
        raise Conflict(
            f"Reference {reference} is already used by another property", field="reference"
        )
    for key, value in values.items():
        setattr(prop, key, value)
    if status != prop.status:
        apply_status(prop, status)
    prop.postcode_district = outward_code(prop.postcode)
    prop.search_text = _search_text(prop)
    prop.updated_at = utcnow()
    await _flush(session)
    await _owner_role(session, user, prop)
    changes = activity.diff(before, _snapshot(prop))
    if changes:
        action = "status_changed" if set(changes) == {"status"} else "updated"
        await activity.log(
            session, user, prop, action, f"Changed {', '.join(sorted(changes))}", changes
        )
    return prop


async def set_status(
    session: AsyncSession,
    user: User | None,
    prop: Property,
    status: PropertyStatus,
    reason: str = "",
) -> None:
    """Move a property to a status on behalf of another feature (offers, tenancies, sales)."""
    check_status(prop.marketing_type, status)
    old = prop.status
    if old == status:
        return
    apply_status(prop, status)
    prop.updated_at = utcnow()
    await session.flush()
    summary = f"Status {old.value} → {status.value}" + (f": {reason}" if reason else "")
    changes = {"status": [old.value, status.value]}
    await activity.log(
        session, user or activity.Agent(prop.agency_id), prop, "status_changed", summary, changes
    )


async def set_epc_rating(
    session: AsyncSession, user: User | None, prop: Property, rating: str | None, reason: str
) -> None:
    """Keep the property's EPC rating in step with its current EPC (called by compliance)."""
    if prop.epc_rating == rating:
        return
    old = prop.epc_rating
    prop.epc_rating = rating
    prop.updated_at = utcnow()
    await session.flush()
    summary = f"EPC rating {old or '—'} → {rating or '—'}: {reason}"
    changes = {"epc_rating": [old, rating]}
    await activity.log(
        session, user or activity.Agent(prop.agency_id), prop, "updated", summary, changes
    )


async def delete(session: AsyncSession, user: User, property_id: int) -> None:
    """Remove a property (managers and admins); 409 while it has records that must be kept.

    Features whose records must outlive a property (offers, viewings, tenancies, ...) declare
    them in their relations.py; a property with any of them is withdrawn, not deleted.
    """
    prop = await get(session, user, property_id)
    reasons = await relations.of(session).why_kept(
        Target.property, session, prop, counted="it has {} on record"
    )
    if reasons:
        raise Conflict(
            f"This property cannot be deleted: {'; '.join(reasons)}. Mark it withdrawn instead.",
            detail={"reasons": reasons},
        )
    summary = f"Deleted {prop.address_line1}, {prop.city} ({prop.reference})"
    await task_service.remove_rule_tasks_of_property(
        session, agency_id=user.agency_id, property_id=prop.id, actor_user_id=user.id
    )
    await repository.delete(session, prop)
    await activity.log(session, user, (ENTITY, property_id), "deleted", summary)


# Lookups for other features (they call this service, never properties' repository).


async def find(session: AsyncSession, agency_id: int, property_id: int) -> Property | None:
    """A property of this agency, or None (also when it belongs to another agency)."""
    return await repository.get(session, agency_id, property_id)


async def find_for_update(
    session: AsyncSession, agency_id: int, property_id: int
) -> Property | None:
    """A property, row-locked until the transaction ends (PostgreSQL), or None."""
    return await repository.get_for_update(session, agency_id, property_id)


async def get_many(
    session: AsyncSession, agency_id: int, property_ids: Sequence[int]
) -> dict[int, Property]:
    """The agency's properties among these ids, by id, in one query."""
    return await repository.get_many(session, agency_id, property_ids)


async def get_by_reference(
    session: AsyncSession, agency_id: int, reference: str
) -> Property | None:
    """A property of this agency by its reference (case-insensitive), or None."""
    return await repository.get_by_reference(session, agency_id, reference)
