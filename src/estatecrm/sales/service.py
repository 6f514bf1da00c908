"""Business rules of sales progression: milestones, exchange, completion, chains, fall-through."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service as activity
from estatecrm.applicants import service as applicant_service
from estatecrm.auth.models import User
from estatecrm.contacts import service as contact_service
from estatecrm.contacts.models import Contact
from estatecrm.errors import Conflict, NotFound, ValidationFailed
from estatecrm.kit.clock import today_london, utcnow
from estatecrm.kit.money import format_pence
from estatecrm.offers import service as offer_service
from estatecrm.offers.models import Offer
from estatecrm.properties import service as property_service
from estatecrm.properties.models import Property, PropertyStatus
from estatecrm.sales import repository
from estatecrm.sales.models import (
    MILESTONE_LABELS,
    ChainDirection,
    ChainLink,
    Milestone,
    Sale,
    SaleMilestone,
    SaleStatus,
)
from estatecrm.sales.schemas import (
    ChainEntry,
    ChainLinkCreate,
    ChainLinkRead,
    FallThrough,
    MilestoneRead,
    MilestoneUpdate,
    SaleFilters,
    SaleRead,
    SaleUpdate,
)

ENTITY = "sale"
SOLICITOR_FIELDS = [
    "buyer_solicitor_name",
    "buyer_solicitor_firm",
    "buyer_solicitor_contact",
    "vendor_solicitor_name",
    "vendor_solicitor_firm",
    "vendor_solicitor_contact",
]
CHAIN_LIMIT = 12


def _address(prop: Property) -> str:
    return f"{prop.address_line1}, {prop.city} {prop.postcode}"


def _name(contacts: dict[int, Contact], contact_id: int | None) -> str:
    c = contacts.get(contact_id) if contact_id else None
    return f"{c.first_name} {c.last_name}" if c else ""


def progress(milestones: Sequence[SaleMilestone]) -> int:
    """Percentage of the milestones done."""
    done = sum(1 for m in milestones if m.done_date is not None)
    return round(done * 100 / len(Milestone))


def _overdue(row: SaleMilestone | None, sale: Sale, on_date: date) -> bool:
    if row is None or row.done_date is not None or row.target_date is None:
        return False
    return row.target_date < on_date and sale.status == SaleStatus.in_progress


def to_read(
    sale: Sale,
    prop: Property,
    milestones: Sequence[SaleMilestone],
    links: Sequence[ChainLink],
    contacts: dict[int, Contact],
    on_date: date,
) -> SaleRead:
    """The API shape of a sale, its progress judged on `on_date`."""
    by_key = {m.milestone: m for m in milestones}
    end = sale.completed_date or on_date
    return SaleRead(
        id=sale.id,
        property_id=sale.property_id,
        property_address=_address(prop),
        offer_id=sale.offer_id,
        buyer_contact_id=sale.buyer_contact_id,
        vendor_contact_id=sale.vendor_contact_id,
        buyer_name=_name(contacts, sale.buyer_contact_id),
        vendor_name=_name(contacts, sale.vendor_contact_id),
        agreed_price_pence=sale.agreed_price_pence,
        agreed_date=sale.agreed_date,
        status=sale.status,
        buyer_solicitor_name=sale.buyer_solicitor_name,
        buyer_solicitor_firm=sale.buyer_solicitor_firm,
        buyer_solicitor_contact=sale.buyer_solicitor_contact,
        vendor_solicitor_name=sale.vendor_solicitor_name,
        vendor_solicitor_firm=sale.vendor_solicitor_firm,
        vendor_solicitor_contact=sale.vendor_solicitor_contact,
        exchanged_date=sale.exchanged_date,
        completed_date=sale.completed_date,
        fall_through_reason=sale.fall_through_reason,
        fell_through_at=sale.fell_through_at,
        progress_percent=progress(milestones),
        days_since_agreed=max(0, (end - sale.agreed_date).days),
        milestones=[
            MilestoneRead(
                milestone=key,
                label=MILESTONE_LABELS[key],
                target_date=by_key[key].target_date if key in by_key else None,
                done_date=by_key[key].done_date if key in by_key else None,
                overdue=_overdue(by_key.get(key), sale, on_date),
            )
            for key in Milestone
        ],
        chain_links=[
            ChainLinkRead(
                id=link.id,
                direction=link.direction,
                linked_sale_id=link.linked_sale_id,
                description=link.description,
                external_status=link.external_status,
            )
            for link in links
        ],
        created_at=sale.created_at,
        updated_at=sale.updated_at,
    )


async def get(session: AsyncSession, user: User, sale_id: int) -> Sale:
    """A sale of the user's agency; 404 when missing or foreign."""
    sale = await repository.get(session, user.agency_id, sale_id)
    if sale is None:
        raise NotFound("Sale not found")
    return sale


async def ids_for_offers(
    session: AsyncSession, agency_id: int, offer_ids: Sequence[int]
) -> dict[int, int]:
    """The sale that followed each of these offers, by offer id."""
    return await repository.ids_for_offers(session, agency_id, offer_ids)


async def _reads(
    session: AsyncSession, agency_id: int, rows: Sequence[tuple[Sale, Property]], on_date: date
) -> list[SaleRead]:
    ids = [s.id for s, _ in rows]
    milestones = await repository.milestones(session, agency_id, ids)
    links = await repository.links(session, agency_id, ids)
    contact_ids = [c for s, _ in rows for c in (s.buyer_contact_id, s.vendor_contact_id) if c]
    contacts = await contact_service.get_many(session, agency_id, contact_ids)
    return [
        to_read(s, p, milestones.get(s.id, []), links.get(s.id, []), contacts, on_date)
        for s, p in rows
    ]


async def read(session: AsyncSession, user: User, sale_id: int, on_date: date) -> SaleRead:
    """The API shape of one sale."""
    sale = await get(session, user, sale_id)
    prop = await property_service.find(session, user.agency_id, sale.property_id)
    if prop is None:
        raise NotFound("Sale not found")
    return (await _reads(session, user.agency_id, [(sale, prop)], on_date))[0]


async def search(
    session: AsyncSession,
    user: User,
    filters: SaleFilters,
    on_date: date,
    *,
    limit: int,
    offset: int,
) -> tuple[list[SaleRead], int]:
    """A page of the agency's sales."""
    rows, total = await repository.search(
        session, user.agency_id, filters, limit=limit, offset=offset
    )
    return await _reads(session, user.agency_id, rows, on_date), total


async def create_from_offer(
    session: AsyncSession, user: User, offer: Offer, prop: Property
) -> Sale:
    """The sale that follows an accepted sales offer, with every milestone to do."""
    sale = Sale(
        agency_id=offer.agency_id,
        property_id=prop.id,
        offer_id=offer.id,
        buyer_contact_id=offer.contact_id,
        vendor_contact_id=prop.owner_contact_id,
        agreed_price_pence=offer.amount_pence,
        agreed_date=today_london(),
        status=SaleStatus.in_progress,
    )
    await repository.add(session, sale)
    for key in Milestone:
        session.add(SaleMilestone(agency_id=sale.agency_id, sale_id=sale.id, milestone=key))
    await session.flush()
    summary = f"Sale agreed at {format_pence(sale.agreed_price_pence)} on {_address(prop)}"
    await activity.log(session, user, sale, "created", summary)
    return sale


def _require_in_progress(sale: Sale, doing: str) -> None:
    if sale.status in (SaleStatus.completed, SaleStatus.fallen_through):
        raise Conflict(f"This sale has {sale.status.value.replace('_', ' ')}: {doing} is closed")


async def update(session: AsyncSession, user: User, sale_id: int, data: SaleUpdate) -> Sale:
    """Record the solicitors on each side."""
    sale = await get(session, user, sale_id)
    values = {k: (v or "") for k, v in data.model_dump(exclude_unset=True).items()}
    before = {k: getattr(sale, k) for k in SOLICITOR_FIELDS}
    for key, value in values.items():
        setattr(sale, key, value)
    changes = activity.diff(before, {k: getattr(sale, k) for k in SOLICITOR_FIELDS})
    if changes:
        sale.updated_at = utcnow()
        await session.flush()
        await activity.log(session, user, sale, "updated", "Solicitors updated", changes)
    return sale


async def set_milestone(
    session: AsyncSession, user: User, sale_id: int, key: Milestone, data: MilestoneUpdate
) -> Sale:
    """Set a milestone's target or done date; exchange and completion move the property."""
    sale = await get(session, user, sale_id)
    _require_in_progress(sale, "progression")
    rows = (await repository.milestones(session, user.agency_id, [sale.id]))[sale.id]
    by_key = {m.milestone: m for m in rows}
    row = by_key.get(key)
    if row is None:
        row = SaleMilestone(agency_id=sale.agency_id, sale_id=sale.id, milestone=key)
        await repository.add(session, row)
    values = data.model_dump(exclude_unset=True)
    done = values.get("done_date", row.done_date)
    target = values.get("target_date", row.target_date)
    _check_milestone(sale, key, row, by_key.get(Milestone.exchange), done, target)
    before = {"target_date": row.target_date, "done_date": row.done_date}
    row.target_date, row.done_date = target, done
    changes = activity.diff(before, {"target_date": target, "done_date": done})
    if not changes:
        return sale
    sale.updated_at = utcnow()
    await session.flush()
    label = MILESTONE_LABELS[key]
    summary = f"{label}: " + (
        f"done {done:%d %b %Y}" if done else f"target {target:%d %b %Y}" if target else "cleared"
    )
    await activity.log(session, user, sale, "milestone", summary, {key.value: changes})
    if "done_date" in changes and done is not None:
        await _milestone_done(session, user, sale, key, done)
    return sale


def _check_milestone(
    sale: Sale,
    key: Milestone,
    row: SaleMilestone,
    exchange: SaleMilestone | None,
    done: date | None,
    target: date | None,
) -> None:
    """Refuse dates before the sale was agreed, undoing exchange or completion, and a
    completion before exchange."""
    if done is not None and done < sale.agreed_date:
        raise ValidationFailed("done_date", "A milestone cannot be done before the sale was agreed")
    if target is not None and target < sale.agreed_date:
        raise ValidationFailed("target_date", "The target cannot be before the sale was agreed")
    if key in (Milestone.exchange, Milestone.completion) and row.done_date and done is None:
        raise Conflict(f"{MILESTONE_LABELS[key]} is recorded and cannot be undone")
    if key == Milestone.completion and done is not None:
        if exchange is None or exchange.done_date is None:
            raise Conflict(
                "Completion comes after exchange of contracts: record the exchange first"
            )
        if done < exchange.done_date:
            raise ValidationFailed("done_date", "Completion cannot be before exchange")


async def _milestone_done(
    session: AsyncSession, user: User, sale: Sale, key: Milestone, done: date
) -> None:
    """Exchange makes the property sold STC; completion sells it and the buyer found a home."""
    prop = await property_service.find_for_update(session, user.agency_id, sale.property_id)
    if prop is None:
        raise NotFound("Sale not found")
    if key == Milestone.exchange:
        sale.status, sale.exchanged_date = SaleStatus.exchanged, done
        await session.flush()
        await property_service.set_status(
            session,
            user,
            prop,
            PropertyStatus.sold_stc,
            f"contracts exchanged (sale #{sale.id})",
        )
    elif key == Milestone.completion:
        sale.status, sale.completed_date = SaleStatus.completed, done
        await session.flush()
        await property_service.set_status(
            session, user, prop, PropertyStatus.sold, f"sale #{sale.id} completed"
        )
        await applicant_service.found_home(
            session,
            user,
            await offer_service.applicant_of(session, sale.agency_id, sale.offer_id),
            f"bought {prop.address_line1}, {prop.city} (sale #{sale.id} completed)",
        )


async def fall_through(session: AsyncSession, user: User, sale_id: int, data: FallThrough) -> Sale:
    """The sale fell through: reason kept, property back on the market, history kept."""
    sale = await get(session, user, sale_id)
    if sale.status != SaleStatus.in_progress:
        raise Conflict(
            f"This sale has {sale.status.value.replace('_', ' ')}: it can no longer fall through"
        )
    prop = await property_service.find_for_update(session, user.agency_id, sale.property_id)
    if prop is None:
        raise NotFound("Sale not found")
    sale.status = SaleStatus.fallen_through
    sale.fall_through_reason = data.reason
    sale.fell_through_at = utcnow()
    sale.updated_at = sale.fell_through_at
    await session.flush()
    summary = f"Fell through: {data.reason}"
    changes = {"status": [SaleStatus.in_progress.value, SaleStatus.fallen_through.value]}
    await activity.log(session, user, sale, "fell_through", summary, changes)
    if prop.status == PropertyStatus.under_offer:
        await property_service.set_status(
            session, user, prop, PropertyStatus.available, f"sale #{sale.id} fell through"
        )
    return sale


async def add_link(
    session: AsyncSession, user: User, sale_id: int, data: ChainLinkCreate
) -> ChainLink:
    """Link the buyer's own sale (downward) or the vendor's onward purchase (upward)."""
    sale = await get(session, user, sale_id)
    if data.linked_sale_id is not None:
        if data.linked_sale_id == sale.id:
            raise ValidationFailed("linked_sale_id", "A sale cannot be linked to itself")
        if await repository.get(session, user.agency_id, data.linked_sale_id) is None:
            raise ValidationFailed("linked_sale_id", "No such sale in your agency")
    elif not data.description:
        raise ValidationFailed(
            "description", "Describe the other sale (address, agent) or choose one of ours"
        )
    existing = (await repository.links(session, user.agency_id, [sale.id]))[sale.id]
    if any(link.direction == data.direction for link in existing):
        raise Conflict(f"This sale already has a {data.direction.value} link: remove it first")
    link = ChainLink(
        agency_id=sale.agency_id,
        sale_id=sale.id,
        direction=data.direction,
        linked_sale_id=data.linked_sale_id,
        description=data.description,
        external_status=data.external_status,
    )
    await repository.add(session, link)
    summary = f"Chain: {data.direction.value} link to " + (
        f"sale #{data.linked_sale_id}" if data.linked_sale_id else data.description
    )
    await activity.log(session, user, sale, "chain_linked", summary)
    return link


async def remove_link(session: AsyncSession, user: User, sale_id: int, link_id: int) -> None:
    """Remove a chain link."""
    sale = await get(session, user, sale_id)
    link = await repository.get_link(session, user.agency_id, sale.id, link_id)
    if link is None:
        raise NotFound("Chain link not found")
    direction = link.direction.value
    await repository.delete(session, link)
    await activity.log(session, user, sale, "chain_unlinked", f"Chain: {direction} link removed")


async def chain(session: AsyncSession, user: User, sale_id: int, on_date: date) -> list[ChainEntry]:
    """The whole chain through this sale, top (the last purchase) to bottom (first buyer)."""
    sale = await get(session, user, sale_id)

    async def walk(start: Sale, direction: ChainDirection) -> list[ChainEntry]:
        entries: list[ChainEntry] = []
        seen = {start.id}
        current = start
        for _ in range(CHAIN_LIMIT):
            links = (await repository.links(session, user.agency_id, [current.id]))[current.id]
            link = next((x for x in links if x.direction == direction), None)
            if link is None:
                break
            nxt = (
                await repository.get(session, user.agency_id, link.linked_sale_id)
                if link.linked_sale_id
                else None
            )
            if nxt is None or nxt.id in seen:
                entries.append(
                    ChainEntry(
                        position=0,
                        sale_id=None,
                        label=link.description or "Another agent's sale",
                        status=link.external_status or "unknown",
                        progress_percent=None,
                        this_sale=False,
                    )
                )
                break
            seen.add(nxt.id)
            entries.append(await entry(nxt, False))
            current = nxt
        return entries

    async def entry(s: Sale, this: bool) -> ChainEntry:
        r = await read(session, user, s.id, on_date)
        return ChainEntry(
            position=0,
            sale_id=s.id,
            label=r.property_address,
            status=s.status.value,
            progress_percent=r.progress_percent,
            this_sale=this,
        )

    up = await walk(sale, ChainDirection.upward)
    down = await walk(sale, ChainDirection.downward)
    ordered = [*reversed(up), await entry(sale, True), *down]
    return [e.model_copy(update={"position": i + 1}) for i, e in enumerate(ordered)]
