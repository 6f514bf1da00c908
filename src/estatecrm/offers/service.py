"""Business rules of offers: making, countering and deciding them, within UK rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service as activity
from estatecrm.applicants import service as applicant_service
from estatecrm.auth import service as auth_service
from estatecrm.auth.models import User
from estatecrm.contacts.models import Contact, IdCheckStatus
from estatecrm.errors import Conflict, NotFound, ValidationFailed, update_values
from estatecrm.kit.clock import utcnow
from estatecrm.kit.money import format_pence
from estatecrm.offers import repository
from estatecrm.offers.models import OPEN_STATUSES, Offer, OfferStatus
from estatecrm.offers.schemas import (
    OfferCounter,
    OfferCreate,
    OfferFilters,
    OfferRead,
    OfferReject,
    OfferUpdate,
    OfferWithdraw,
)
from estatecrm.properties import service as property_service
from estatecrm.properties.models import MarketingType, Property, PropertyStatus
from estatecrm.sales import service as sale_service
from estatecrm.tenancies import service as tenancy_service

ENTITY = "offer"
TRACKED = [
    "amount_pence",
    "conditions",
    "status",
    "counter_amount_pence",
    "reason",
    "proposed_move_in_date",
    "proposed_term_months",
]
ANOTHER_ACCEPTED = "another offer accepted"
RENTAL_BIDDING = (
    "Renters' Rights Act: rental bidding is banned, so a lettings offer above the advertised "
    "rent of {asking} cannot be accepted (offered {amount})"
)
# Statuses a property takes offers in.
TAKES_OFFERS = {
    MarketingType.sale: (PropertyStatus.available, PropertyStatus.under_offer),
    MarketingType.letting: (PropertyStatus.available,),
}
ACCEPTED_STATUS = {
    MarketingType.sale: PropertyStatus.under_offer,
    MarketingType.letting: PropertyStatus.let_agreed,
}


# An agent must put every offer to the seller or landlord in writing and be able to show it did
# (Estate Agents Act 1979; Estate Agents (Undesirable Practices) Order 1991): the record of
# offers outlives the listing, so a property that took offers is withdrawn, not deleted.


def _snapshot(offer: Offer) -> dict[str, Any]:
    return {name: getattr(offer, name) for name in TRACKED}


def address_of(prop: Property) -> str:
    """A property's one-line address."""
    return f"{prop.address_line1}, {prop.city} {prop.postcode}"


def to_read(
    offer: Offer,
    prop: Property,
    contact: Contact,
    *,
    tenancy_id: int | None = None,
    sale_id: int | None = None,
) -> OfferRead:
    """The API shape of an offer row (`read_rows` adds what came of it)."""
    return OfferRead(
        id=offer.id,
        property_id=offer.property_id,
        applicant_id=offer.applicant_id,
        contact_id=offer.contact_id,
        amount_pence=offer.amount_pence,
        conditions=offer.conditions,
        status=offer.status,
        counter_amount_pence=offer.counter_amount_pence,
        reason=offer.reason,
        proposed_move_in_date=offer.proposed_move_in_date,
        proposed_term_months=offer.proposed_term_months,
        decided_at=offer.decided_at,
        created_at=offer.created_at,
        updated_at=offer.updated_at,
        marketing_type=prop.marketing_type,
        property_reference=prop.reference,
        property_address=address_of(prop),
        asking_pence=prop.price_pence,
        applicant_name=f"{contact.first_name} {contact.last_name}",
        tenancy_id=tenancy_id,
        sale_id=sale_id,
    )


async def read_rows(
    session: AsyncSession, user: User, rows: Sequence[tuple[Offer, Property, Contact]]
) -> list[OfferRead]:
    """The API shape of offer rows with the tenancy or sale each became (only an accepted
    offer becomes one: with none among the rows, no query is made)."""
    accepted = [offer.id for offer, _, _ in rows if offer.status == OfferStatus.accepted]
    tenancies = await tenancy_service.ids_for_offers(session, user.agency_id, accepted)
    sales = await sale_service.ids_for_offers(session, user.agency_id, accepted)
    return [
        to_read(
            offer, prop, contact, tenancy_id=tenancies.get(offer.id), sale_id=sales.get(offer.id)
        )
        for offer, prop, contact in rows
    ]


def _money(prop: Property, pence: int) -> str:
    return format_pence(pence, per_month=prop.marketing_type == MarketingType.letting)


async def get(session: AsyncSession, user: User, offer_id: int) -> Offer:
    """An offer of the user's agency; 404 when missing or foreign."""
    offer = await repository.get(session, user.agency_id, offer_id)
    if offer is None:
        raise NotFound("Offer not found")
    return offer


async def get_row(
    session: AsyncSession, user: User, offer_id: int
) -> tuple[Offer, Property, Contact]:
    """An offer with its property and buyer; 404 when missing or foreign."""
    row = await repository.get_row(session, user.agency_id, offer_id)
    if row is None:
        raise NotFound("Offer not found")
    return row


async def read(session: AsyncSession, user: User, offer_id: int) -> OfferRead:
    """The API shape of one offer."""
    return (await read_rows(session, user, [await get_row(session, user, offer_id)]))[0]


async def status_counts(session: AsyncSession, user: User) -> dict[str, int]:
    """How many offers the agency has in each status (the board's tabs)."""
    return await repository.status_counts(session, user.agency_id)


async def search(
    session: AsyncSession, user: User, filters: OfferFilters, *, limit: int, offset: int
) -> tuple[list[tuple[Offer, Property, Contact]], int]:
    """A page of the agency's offers, newest first."""
    return await repository.search(session, user.agency_id, filters, limit=limit, offset=offset)


async def create(session: AsyncSession, user: User, data: OfferCreate) -> Offer:
    """Record an applicant's offer on a property that is taking offers."""
    prop = await property_service.find(session, user.agency_id, data.property_id)
    if prop is None:
        raise ValidationFailed("property_id", "No such property in your agency")
    found = await applicant_service.find_with_contact(session, user.agency_id, data.applicant_id)
    if found is None:
        raise ValidationFailed("applicant_id", "No such applicant in your agency")
    applicant, contact = found
    if applicant.marketing_type != prop.marketing_type:
        wants = "buy" if applicant.marketing_type == MarketingType.sale else "rent"
        raise ValidationFailed(
            "applicant_id",
            f"This applicant is looking to {wants}; the property is for "
            f"{'sale' if prop.marketing_type == MarketingType.sale else 'letting'}",
        )
    if prop.status not in TAKES_OFFERS[prop.marketing_type]:
        raise Conflict(f"The property is {prop.status.value.replace('_', ' ')}: not taking offers")
    if prop.marketing_type == MarketingType.sale and (
        data.proposed_move_in_date or data.proposed_term_months
    ):
        raise ValidationFailed(
            "proposed_move_in_date", "A move-in date and term are for lettings offers only"
        )
    offer = Offer(
        agency_id=user.agency_id,
        property_id=prop.id,
        applicant_id=applicant.id,
        contact_id=contact.id,
        amount_pence=data.amount_pence,
        conditions=data.conditions,
        status=OfferStatus.pending,
        reason="",
        proposed_move_in_date=data.proposed_move_in_date,
        proposed_term_months=data.proposed_term_months,
        created_by_id=user.id,
    )
    await repository.add(session, offer)
    summary = f"Offer of {_money(prop, offer.amount_pence)} on {address_of(prop)}"
    await activity.log(
        session, user, offer, "created", summary, activity.diff({}, _snapshot(offer))
    )
    changes = {"offer_id": [None, offer.id]}
    await activity.log(session, user, _applicant_of(offer), "offer_made", summary, changes)
    buyer = f"{contact.first_name} {contact.last_name}"
    summary = f"Offer of {_money(prop, offer.amount_pence)} from {buyer}"
    await activity.log(session, user, prop, "offer_received", summary)
    return offer


def _applicant_of(offer: Offer) -> tuple[str, int]:
    """The applicant's timeline, where each of its offers' steps is told too."""
    return (applicant_service.ENTITY, offer.applicant_id)


def _require_open(offer: Offer, doing: str) -> None:
    if offer.status not in OPEN_STATUSES:
        raise Conflict(f"This offer is already {offer.status.value}: it cannot be {doing}")


async def update(session: AsyncSession, user: User, offer_id: int, data: OfferUpdate) -> Offer:
    """Amend an open offer (the applicant raised it, changed a condition, ...)."""
    offer, prop, _ = await get_row(session, user, offer_id)
    _require_open(offer, "changed")
    values = update_values(data, ("amount_pence",))
    if prop.marketing_type == MarketingType.sale and (
        values.get("proposed_move_in_date") or values.get("proposed_term_months")
    ):
        raise ValidationFailed(
            "proposed_move_in_date", "A move-in date and term are for lettings offers only"
        )
    before = _snapshot(offer)
    for key, value in values.items():
        setattr(offer, key, "" if key == "conditions" and value is None else value)
    changes = activity.diff(before, _snapshot(offer))
    if changes:
        offer.updated_at = utcnow()
        await session.flush()
        await activity.log(session, user, offer, "updated", "Offer amended", changes)
    return offer


async def _close(
    session: AsyncSession,
    user: User,
    offer: Offer,
    status: OfferStatus,
    reason: str,
    summary: str,
) -> None:
    before = _snapshot(offer)
    offer.status = status
    offer.reason = reason
    offer.decided_at = utcnow()
    offer.updated_at = offer.decided_at
    await session.flush()
    await activity.log(
        session, user, offer, status.value, summary, activity.diff(before, _snapshot(offer))
    )
    changes = {"offer_id": [None, offer.id]}
    await activity.log(
        session, user, _applicant_of(offer), f"offer_{status.value}", summary, changes
    )


async def reject(session: AsyncSession, user: User, offer_id: int, data: OfferReject) -> Offer:
    """The vendor or landlord says no, with a reason."""
    offer, prop, _ = await get_row(session, user, offer_id)
    _require_open(offer, "rejected")
    await _close(
        session,
        user,
        offer,
        OfferStatus.rejected,
        data.reason,
        f"Offer of {_money(prop, offer.amount_pence)} rejected: {data.reason}",
    )
    return offer


async def withdraw(session: AsyncSession, user: User, offer_id: int, data: OfferWithdraw) -> Offer:
    """The applicant takes the offer back."""
    offer, prop, _ = await get_row(session, user, offer_id)
    _require_open(offer, "withdrawn")
    reason = data.reason or "withdrawn by the applicant"
    await _close(
        session,
        user,
        offer,
        OfferStatus.withdrawn,
        reason,
        f"Offer of {_money(prop, offer.amount_pence)} withdrawn: {reason}",
    )
    return offer


async def counter(session: AsyncSession, user: User, offer_id: int, data: OfferCounter) -> Offer:
    """The vendor or landlord names the figure they would accept."""
    offer, prop, _ = await get_row(session, user, offer_id)
    _require_open(offer, "countered")
    if data.counter_amount_pence == offer.amount_pence:
        raise ValidationFailed(
            "counter_amount_pence", "A counter-offer must differ from the amount offered"
        )
    if (
        prop.marketing_type == MarketingType.letting
        and data.counter_amount_pence > prop.price_pence
    ):
        raise ValidationFailed(
            "counter_amount_pence",
            "Renters' Rights Act: a counter-offer cannot ask more than the advertised rent of "
            + _money(prop, prop.price_pence),
        )
    before = _snapshot(offer)
    offer.status = OfferStatus.countered
    offer.counter_amount_pence = data.counter_amount_pence
    offer.reason = data.reason
    offer.updated_at = utcnow()
    await session.flush()
    summary = (
        f"Countered at {_money(prop, data.counter_amount_pence)} "
        f"(offered {_money(prop, offer.amount_pence)})"
    )
    await activity.log(
        session, user, offer, "countered", summary, activity.diff(before, _snapshot(offer))
    )
    changes = {"offer_id": [None, offer.id]}
    await activity.log(session, user, _applicant_of(offer), "offer_countered", summary, changes)
    return offer


async def _check_uk_rules(
    session: AsyncSession, offer: Offer, prop: Property, contact: Contact, amount: int
) -> None:
    if prop.marketing_type == MarketingType.letting:
        if amount > prop.price_pence:
            raise Conflict(
                RENTAL_BIDDING.format(
                    asking=_money(prop, prop.price_pence), amount=_money(prop, amount)
                )
            )
        return
    if contact.id_check_status == IdCheckStatus.passed:
        return
    agency = await auth_service.get_agency(session, offer.agency_id)
    if agency is not None and not agency.require_aml_for_offers:
        return
    raise Conflict(
        f"Anti-money-laundering rules: {contact.first_name} {contact.last_name}'s ID check is "
        f"{contact.id_check_status.value.replace('_', ' ')}; a sales offer can only be accepted "
        "once the buyer's ID/AML check has passed"
    )


async def accept(session: AsyncSession, user: User, offer_id: int) -> Offer:
    """Accept an offer: one transaction, with the property row locked.

    The property moves to under offer (sale) or let agreed (letting), every other open offer
    on it is rejected ("another offer accepted"), and each applicant affected hears of it in
    their timeline. Two people accepting different offers at once: the second waits for the
    lock, then finds the property no longer taking offers and gets 409.
    """
    offer = await get(session, user, offer_id)
    prop = await property_service.find_for_update(session, user.agency_id, offer.property_id)
    if prop is None:
        raise NotFound("Offer not found")
    # The lock is held now: read what concurrent transactions committed before it.
    await session.refresh(prop)
    await session.refresh(offer)
    found = await applicant_service.find_with_contact(session, user.agency_id, offer.applicant_id)
    if found is None:
        raise NotFound("Offer not found")
    contact = found[1]
    _require_open(offer, "accepted")
    _require_taking_offers(prop)
    amount = (
        offer.counter_amount_pence
        if offer.status == OfferStatus.countered and offer.counter_amount_pence
        else offer.amount_pence
    )
    await _check_uk_rules(session, offer, prop, contact, amount)
    before = _snapshot(offer)
    offer.amount_pence = amount
    offer.status = OfferStatus.accepted
    offer.reason = ""
    offer.decided_at = utcnow()
    offer.updated_at = offer.decided_at
    await session.flush()
    summary = f"Offer of {_money(prop, amount)} accepted on {address_of(prop)}"
    await activity.log(
        session, user, offer, "accepted", summary, activity.diff(before, _snapshot(offer))
    )
    changes = {"offer_id": [None, offer.id]}
    await activity.log(session, user, _applicant_of(offer), "offer_accepted", summary, changes)
    await property_service.set_status(
        session,
        user,
        prop,
        ACCEPTED_STATUS[prop.marketing_type],
        f"offer of {_money(prop, amount)} from {contact.first_name} {contact.last_name} accepted",
    )
    if prop.marketing_type == MarketingType.sale:
        await sale_service.create_from_offer(session, user, offer, prop)
    for other in await repository.open_on_property(session, user.agency_id, prop.id, offer.id):
        summary = f"Offer of {_money(prop, other.amount_pence)} rejected: {ANOTHER_ACCEPTED}"
        await _close(session, user, other, OfferStatus.rejected, ANOTHER_ACCEPTED, summary)
    return offer


def _require_taking_offers(prop: Property) -> None:
    """Refuse once the property has accepted an offer or left the market."""
    if prop.status not in TAKES_OFFERS[prop.marketing_type] or (
        prop.marketing_type == MarketingType.sale and prop.status != PropertyStatus.available
    ):
        raise Conflict(
            f"The property is already {prop.status.value.replace('_', ' ')}: another offer was "
            "accepted or it is off the market"
        )


# Lookups for other features (they call this service, never offers' repository).


async def find(session: AsyncSession, agency_id: int, offer_id: int) -> Offer | None:
    """An offer of this agency, or None (also when it belongs to another agency)."""
    return await repository.get(session, agency_id, offer_id)


async def applicant_of(session: AsyncSession, agency_id: int, offer_id: int | None) -> int | None:
    """The applicant who made an offer (None without an offer)."""
    return await repository.applicant_of(session, agency_id, offer_id)
