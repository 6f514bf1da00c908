"""Tenancies, core: create, change, read, rent increases and endings; the deposit duty."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service as activity
from estatecrm.auth.models import User
from estatecrm.contacts import service as contact_service
from estatecrm.contacts.models import Contact, ContactRoleName
from estatecrm.errors import Conflict, NotFound, ValidationFailed, update_values
from estatecrm.kit.clock import utcnow
from estatecrm.kit.money import format_pence
from estatecrm.offers import service as offer_service
from estatecrm.offers.models import OfferStatus
from estatecrm.properties import service as property_service
from estatecrm.properties.models import MarketingType, Property, PropertyStatus
from estatecrm.tasks import service as task_service
from estatecrm.tasks.models import TaskPriority
from estatecrm.tenancies import repository, rules
from estatecrm.tenancies.models import (
    Tenancy,
    TenancyStatus,
    TenancyTerm,
)
from estatecrm.tenancies.schemas import (
    RentIncrease,
    TenancyCreate,
    TenancyEnd,
    TenancyFilters,
    TenancyRead,
    TenancyUpdate,
)

ENTITY = "tenancy"


TRACKED = [
    "tenant_contact_ids",
    "start_date",
    "term",
    "end_date",
    "rent_pence",
    "rent_frequency",
    "deposit_pence",
    "deposit_scheme",
    "deposit_reference",
    "deposit_received_date",
    "deposit_protected_date",
    "prescribed_info_served_date",
    "status",
    "ended_date",
    "end_reason",
]


DEPOSIT_FIELDS = (
    "deposit_pence",
    "deposit_scheme",
    "deposit_reference",
    "deposit_received_date",
    "deposit_protected_date",
    "prescribed_info_served_date",
)


END_STATUSES = (PropertyStatus.available, PropertyStatus.withdrawn)


def _snapshot(tenancy: Tenancy) -> dict[str, Any]:
    return {name: getattr(tenancy, name) for name in TRACKED}


def _address(prop: Property) -> str:
    return f"{prop.address_line1}, {prop.city} {prop.postcode}"


def deposit_rule_key(tenancy_id: int) -> str:
    """The rule key of a tenancy's deposit-protection task."""
    return f"deposit-protection:{tenancy_id}"


def right_to_rent_rule_key(tenancy_id: int, contact_id: int) -> str:
    """The rule key of an occupier's right-to-rent follow-up task."""
    return f"right-to-rent-follow-up:{tenancy_id}:{contact_id}"


def to_read(
    tenancy: Tenancy, prop: Property, contacts: dict[int, Contact], on_date: date
) -> TenancyRead:
    """The API shape of a tenancy, its deadline and flags judged on `on_date`."""
    cap, _ = rules.deposit_cap(tenancy.rent_pence, tenancy.rent_frequency)
    ids = list(tenancy.tenant_contact_ids or [])
    return TenancyRead(
        id=tenancy.id,
        property_id=tenancy.property_id,
        property_address=_address(prop),
        offer_id=tenancy.offer_id,
        landlord_contact_id=tenancy.landlord_contact_id,
        tenant_contact_ids=ids,
        tenant_names=[
            f"{contacts[i].first_name} {contacts[i].last_name}" for i in ids if i in contacts
        ],
        start_date=tenancy.start_date,
        term=tenancy.term,
        end_date=tenancy.end_date,
        rent_pence=tenancy.rent_pence,
        rent_frequency=tenancy.rent_frequency,
        last_rent_increase_date=tenancy.last_rent_increase_date,
        next_rent_increase_date=(
            rules.next_rent_increase(tenancy.last_rent_increase_date, tenancy.start_date)
            if tenancy.term == TenancyTerm.periodic
            else None
        ),
        deposit_pence=tenancy.deposit_pence,
        deposit_cap_pence=cap,
        deposit_scheme=tenancy.deposit_scheme,
        deposit_reference=tenancy.deposit_reference,
        deposit_received_date=tenancy.deposit_received_date,
        deposit_protected_date=tenancy.deposit_protected_date,
        prescribed_info_served_date=tenancy.prescribed_info_served_date,
        deposit_protection_deadline=rules.protection_deadline(tenancy.deposit_received_date),
        deposit_overdue=tenancy.status != TenancyStatus.ended
        and rules.deposit_overdue(
            tenancy.deposit_received_date, tenancy.deposit_protected_date, on_date
        ),
        status=tenancy.status,
        activated_at=tenancy.activated_at,
        ended_date=tenancy.ended_date,
        end_reason=tenancy.end_reason,
        created_at=tenancy.created_at,
        updated_at=tenancy.updated_at,
    )


async def contacts_for(
    session: AsyncSession, agency_id: int, tenancies: Sequence[Tenancy]
) -> dict[int, Contact]:
    """The tenants of several tenancies, in one query."""
    ids = {i for t in tenancies for i in (t.tenant_contact_ids or [])}
    return await contact_service.get_many(session, agency_id, list(ids))


async def get(session: AsyncSession, user: User, tenancy_id: int) -> Tenancy:
    """A tenancy of the user's agency; 404 when missing or foreign."""
    tenancy = await repository.get(session, user.agency_id, tenancy_id)
    if tenancy is None:
        raise NotFound("Tenancy not found")
    return tenancy


async def ids_for_offers(
    session: AsyncSession, agency_id: int, offer_ids: Sequence[int]
) -> dict[int, int]:
    """The tenancy made from each of these offers, by offer id."""
    return await repository.ids_for_offers(session, agency_id, offer_ids)


async def read(session: AsyncSession, user: User, tenancy_id: int, on_date: date) -> TenancyRead:
    """The API shape of one tenancy."""
    tenancy = await get(session, user, tenancy_id)
    prop = await property_service.find(session, user.agency_id, tenancy.property_id)
    if prop is None:
        raise NotFound("Tenancy not found")
    contacts = await contacts_for(session, user.agency_id, [tenancy])
    return to_read(tenancy, prop, contacts, on_date)


async def search(
    session: AsyncSession,
    user: User,
    filters: TenancyFilters,
    on_date: date,
    *,
    limit: int,
    offset: int,
) -> tuple[list[TenancyRead], int]:
    """A page of the agency's tenancies."""
    rows, total = await repository.search(
        session, user.agency_id, filters, on_date, limit=limit, offset=offset
    )
    contacts = await contacts_for(session, user.agency_id, [t for t, _ in rows])
    return [to_read(t, p, contacts, on_date) for t, p in rows], total


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def _check(tenancy: Tenancy) -> None:
    if tenancy.term == TenancyTerm.fixed:
        if tenancy.end_date is None:
            raise ValidationFailed("end_date", "A fixed-term tenancy needs an end date")
        if tenancy.end_date <= tenancy.start_date:
            raise ValidationFailed("end_date", "The end date must be after the start date")
    elif tenancy.end_date is not None:
        raise ValidationFailed(
            "end_date", "A periodic tenancy has no end date (choose a fixed term to set one)"
        )
    cap, weeks = rules.deposit_cap(tenancy.rent_pence, tenancy.rent_frequency)
    if tenancy.deposit_pence > cap:
        raise ValidationFailed(
            "deposit_pence",
            f"The deposit cannot be more than {weeks} weeks' rent: at most {format_pence(cap)} "
            f"for a rent of {format_pence(tenancy.rent_pence)} {tenancy.rent_frequency.value}",
        )
    received, protected = tenancy.deposit_received_date, tenancy.deposit_protected_date
    if protected is not None:
        if received is None:
            raise ValidationFailed(
                "deposit_received_date", "Record when the deposit was received before protecting it"
            )
        if protected < received:
            raise ValidationFailed(
                "deposit_protected_date", "A deposit cannot be protected before it was received"
            )
        if tenancy.deposit_scheme is None:
            raise ValidationFailed("deposit_scheme", "Name the scheme the deposit is protected in")
    served = tenancy.prescribed_info_served_date
    if served is not None and received is not None and served < received:
        raise ValidationFailed(
            "prescribed_info_served_date",
            "Prescribed information is served after the deposit is received",
        )


async def _check_tenants(session: AsyncSession, agency_id: int, ids: Sequence[int]) -> None:
    found = await contact_service.get_many(session, agency_id, ids)
    if len(found) != len(set(ids)):
        raise ValidationFailed(
            "tenant_contact_ids", "Every tenant must be a contact of your agency"
        )


async def _sync_deposit_task(session: AsyncSession, user: User, tenancy: Tenancy) -> None:
    key = deposit_rule_key(tenancy.id)
    if tenancy.deposit_received_date is None or tenancy.status == TenancyStatus.ended:
        await task_service.cancel_rule_task(
            session,
            agency_id=tenancy.agency_id,
            rule_key=key,
            reason="no deposit held",
            actor_user_id=user.id,
        )
        return
    if tenancy.deposit_protected_date is not None:
        await task_service.complete_rule_task(
            session,
            agency_id=tenancy.agency_id,
            rule_key=key,
            reason=f"deposit protected on {tenancy.deposit_protected_date:%d %b %Y}",
            actor_user_id=user.id,
        )
        return
    deadline = rules.protection_deadline(tenancy.deposit_received_date)
    await task_service.ensure_task(
        session,
        agency_id=tenancy.agency_id,
        rule_key=key,
        title=f"Protect the deposit of {format_pence(tenancy.deposit_pence)} "
        f"(tenancy #{tenancy.id})",
        due_date=deadline,
        assignee_id=user.id,
        entity_type=ENTITY,
        entity_id=tenancy.id,
        description="Protect the deposit in DPS, mydeposits or TDS and serve the prescribed "
        f"information by {deadline:%d %b %Y} (30 days after it was received).",
        priority=TaskPriority.high,
        actor_user_id=user.id,
    )


def _proposed(
    prop: Property, data: TenancyCreate, tenant_ids: list[int], terms: dict[str, Any]
) -> Tenancy:
    """The new tenancy, proposed: `terms` are the start, term, end and rent settled on."""
    return Tenancy(
        agency_id=prop.agency_id,
        property_id=prop.id,
        offer_id=data.offer_id,
        landlord_contact_id=prop.owner_contact_id,
        tenant_contact_ids=tenant_ids,
        rent_frequency=data.rent_frequency,
        deposit_pence=data.deposit_pence or 0,
        deposit_scheme=data.deposit_scheme,
        deposit_reference=data.deposit_reference or None,
        deposit_received_date=data.deposit_received_date,
        deposit_protected_date=data.deposit_protected_date,
        prescribed_info_served_date=data.prescribed_info_served_date,
        status=TenancyStatus.proposed,
        end_reason="",
        **terms,
    )


async def create(session: AsyncSession, user: User, data: TenancyCreate) -> Tenancy:
    """A tenancy from an accepted lettings offer, or directly for a letting."""
    values = data.model_dump(exclude_unset=True)
    tenant_ids = data.tenant_contact_ids
    start, rent, term, end = data.start_date, data.rent_pence, data.term, data.end_date
    if data.offer_id is not None:
        offer = await offer_service.find(session, user.agency_id, data.offer_id)
        if offer is None:
            raise ValidationFailed("offer_id", "No such offer in your agency")
        prop = await property_service.find(session, user.agency_id, offer.property_id)
        if prop is None or prop.marketing_type != MarketingType.letting:
            raise ValidationFailed("offer_id", "Tenancies follow lettings offers only")
        if offer.status != OfferStatus.accepted:
            raise Conflict(
                f"The offer is {offer.status.value}: only an accepted offer leads to a tenancy"
            )
        if await repository.for_offer(session, user.agency_id, offer.id) is not None:
            raise Conflict("This offer already has a tenancy")
        tenant_ids = tenant_ids or [offer.contact_id]
        start = start or offer.proposed_move_in_date
        rent = rent or offer.amount_pence
        if "term" not in values and offer.proposed_term_months and start is not None:
            term = TenancyTerm.fixed
            end = end or _add_months(start, offer.proposed_term_months) - timedelta(days=1)
    else:
        if data.property_id is None:
            raise ValidationFailed("property_id", "Choose the property (or give an accepted offer)")
        found = await property_service.find(session, user.agency_id, data.property_id)
        if found is None:
            raise ValidationFailed("property_id", "No such property in your agency")
        if found.marketing_type != MarketingType.letting:
            raise ValidationFailed("property_id", "This property is for sale, not to let")
        prop = found
    if not tenant_ids:
        raise ValidationFailed("tenant_contact_ids", "Name at least one tenant")
    if start is None:
        raise ValidationFailed("start_date", "Enter the start date")
    if rent is None:
        raise ValidationFailed("rent_pence", "Enter the rent")
    await _check_tenants(session, user.agency_id, tenant_ids)
    terms = {"start_date": start, "term": term, "end_date": end, "rent_pence": rent}
    tenancy = _proposed(prop, data, list(dict.fromkeys(tenant_ids)), terms)
    _check(tenancy)
    await repository.add(session, tenancy)
    await repository.set_tenants(session, tenancy, tenancy.tenant_contact_ids)
    for contact_id in tenancy.tenant_contact_ids:
        await contact_service.add_role(session, user, contact_id, ContactRoleName.tenant)
    summary = (
        f"Tenancy of {_address(prop)} from {start:%d %b %Y} at "
        f"{format_pence(rent)} {tenancy.rent_frequency.value}"
    )
    changes = activity.diff({}, _snapshot(tenancy))
    await activity.log(session, user, tenancy, "created", summary, changes)
    summary = f"Tenancy #{tenancy.id} proposed from {start:%d %b %Y}"
    await activity.log(session, user, prop, "tenancy_created", summary)
    await _sync_deposit_task(session, user, tenancy)
    return tenancy


async def update(
    session: AsyncSession, user: User, tenancy_id: int, data: TenancyUpdate
) -> Tenancy:
    """Change the deposit details, tenants or dates of a tenancy."""
    tenancy = await get(session, user, tenancy_id)
    if tenancy.status == TenancyStatus.ended:
        raise Conflict("This tenancy has ended: it can no longer be changed")
    values = update_values(
        data, ("tenant_contact_ids", "start_date", "term", "rent_pence", "rent_frequency")
    )
    if tenancy.status != TenancyStatus.proposed:
        for locked in ("start_date", "rent_pence", "rent_frequency", "term"):
            if locked in values and values[locked] != getattr(tenancy, locked):
                raise Conflict(
                    f"The tenancy is {tenancy.status.value}: {locked.replace('_', ' ')} cannot "
                    "change now" + (" (use a rent increase)" if locked == "rent_pence" else "")
                )
    if "tenant_contact_ids" in values:
        await _check_tenants(session, user.agency_id, values["tenant_contact_ids"])
        values["tenant_contact_ids"] = list(dict.fromkeys(values["tenant_contact_ids"]))
    if values.get("deposit_pence", 0) is None:
        values["deposit_pence"] = 0
    if "deposit_reference" in values:
        values["deposit_reference"] = values["deposit_reference"] or None
    before = _snapshot(tenancy)
    for key, value in values.items():
        setattr(tenancy, key, value)
    _check(tenancy)
    changes = activity.diff(before, _snapshot(tenancy))
    if not changes:
        return tenancy
    tenancy.updated_at = utcnow()
    await session.flush()
    if "tenant_contact_ids" in changes:
        await repository.set_tenants(session, tenancy, tenancy.tenant_contact_ids)
        for contact_id in tenancy.tenant_contact_ids:
            await contact_service.add_role(session, user, contact_id, ContactRoleName.tenant)
    summary = "Updated " + ", ".join(sorted(k.replace("_", " ") for k in changes))
    await activity.log(session, user, tenancy, "updated", summary, changes)
    if any(k in changes for k in DEPOSIT_FIELDS):
        await _sync_deposit_task(session, user, tenancy)
    return tenancy


async def rent_increase(
    session: AsyncSession, user: User, tenancy_id: int, data: RentIncrease
) -> Tenancy:
    """Change the rent; a periodic tenancy's rent rises at most once a year."""
    tenancy = await get(session, user, tenancy_id)
    if tenancy.status == TenancyStatus.ended:
        raise Conflict("This tenancy has ended")
    old = tenancy.rent_pence
    if data.rent_pence == old:
        raise ValidationFailed("rent_pence", "The new rent is the same as the current rent")
    if data.effective_date < tenancy.start_date:
        raise ValidationFailed(
            "effective_date", "A rent change cannot take effect before the start"
        )
    rising = data.rent_pence > old
    if rising and tenancy.term == TenancyTerm.periodic:
        allowed = rules.next_rent_increase(tenancy.last_rent_increase_date, tenancy.start_date)
        if data.effective_date < allowed:
            raise Conflict(
                "Renters' Rights Act: the rent of a periodic tenancy can rise at most once a "
                f"year; the next increase may take effect on {allowed:%d %b %Y} or later",
                detail={"next_allowed_date": allowed.isoformat()},
            )
    before = _snapshot(tenancy)
    tenancy.rent_pence = data.rent_pence
    if rising:
        tenancy.last_rent_increase_date = data.effective_date
    cap, weeks = rules.deposit_cap(tenancy.rent_pence, tenancy.rent_frequency)
    tenancy.updated_at = utcnow()
    await session.flush()
    note = (
        f" (the deposit held is now above the {weeks}-week cap of {format_pence(cap)})"
        if tenancy.deposit_pence > cap
        else ""
    )
    summary = (
        f"Rent {format_pence(old)} → {format_pence(data.rent_pence)} from "
        f"{data.effective_date:%d %b %Y}{note}"
    )
    changes = activity.diff(before, _snapshot(tenancy))
    await activity.log(
        session, user, tenancy, "rent_increased" if rising else "rent_reduced", summary, changes
    )
    return tenancy


async def end(
    session: AsyncSession, user: User, tenancy_id: int, data: TenancyEnd, on_date: date
) -> Tenancy:
    """End the tenancy on a date with a reason; a future date means notice is running."""
    tenancy = await get(session, user, tenancy_id)
    prop = await property_service.find_for_update(session, user.agency_id, tenancy.property_id)
    if prop is None:
        raise NotFound("Tenancy not found")
    await session.refresh(tenancy)
    if tenancy.status not in (TenancyStatus.active, TenancyStatus.ending):
        raise Conflict(f"The tenancy is {tenancy.status.value}: only a running tenancy can end")
    if data.end_date < tenancy.start_date:
        raise ValidationFailed("end_date", "A tenancy cannot end before it started")
    if data.property_status not in END_STATUSES:
        raise ValidationFailed(
            "property_status", "After a tenancy the property is available or withdrawn"
        )
    before = _snapshot(tenancy)
    tenancy.ended_date = data.end_date
    tenancy.end_reason = data.reason
    finished = data.end_date <= on_date
    tenancy.status = TenancyStatus.ended if finished else TenancyStatus.ending
    tenancy.updated_at = utcnow()
    await session.flush()
    summary = (
        "Tenancy ended on " if finished else "Notice given: tenancy ends on "
    ) + f"{data.end_date:%d %b %Y}: {data.reason}"
    changes = activity.diff(before, _snapshot(tenancy))
    await activity.log(session, user, tenancy, "ended" if finished else "ending", summary, changes)
    if finished:
        await property_service.set_status(
            session, user, prop, data.property_status, f"tenancy #{tenancy.id} ended"
        )
        await _sync_deposit_task(session, user, tenancy)
    return tenancy
