"""Demo offers, tenancies, sales in progression and maintenance jobs.

Runs after the contacts and compliance seeders: offers come from the demo applicants on the
demo's available properties; some are accepted, leading to tenancies (with deposits and
right-to-rent checks) and sales (with milestones); let properties get maintenance jobs.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.applicants import repository as applicant_repository
from estatecrm.applicants.schemas import ApplicantFilters
from estatecrm.auth.models import Agency, Role, User
from estatecrm.contacts.models import IdCheckStatus
from estatecrm.errors import CRMError
from estatecrm.kit.clock import LONDON, today_london
from estatecrm.maintenance import service as maintenance_service
from estatecrm.maintenance.models import JobPriority
from estatecrm.maintenance.schemas import JobCreate
from estatecrm.offers import service as offer_service
from estatecrm.offers.models import Offer
from estatecrm.offers.schemas import OfferCreate, OfferReject
from estatecrm.properties import repository as property_repository
from estatecrm.properties.models import MarketingType, PropertyStatus
from estatecrm.properties.schemas import PropertyFilters
from estatecrm.sales import repository as sale_repository
from estatecrm.sales import service as sale_service
from estatecrm.sales.models import Milestone
from estatecrm.sales.schemas import MilestoneUpdate
from estatecrm.tenancies import rules
from estatecrm.tenancies import service as tenancy_service
from estatecrm.tenancies.models import DepositScheme, RentFrequency, RightToRentResult
from estatecrm.tenancies.schemas import RightToRentCreate, TenancyCreate

REPAIRS = [
    ("Boiler not firing", JobPriority.urgent),
    ("Dripping kitchen tap", JobPriority.low),
    ("Extractor fan broken in bathroom", JobPriority.normal),
    ("Front door lock sticking", JobPriority.high),
    ("Damp patch on bedroom ceiling", JobPriority.high),
    ("Garden fence panel down", JobPriority.low),
]
DOCUMENTS = ["UK passport", "Irish passport", "Share code (eVisa)", "Biometric residence permit"]
PER_KIND = 12


async def seed(
    session: AsyncSession, agency: Agency, users: list[User], rng: random.Random
) -> None:
    """Offers on a dozen lettings and a dozen sales, and what follows the accepted ones."""
    today = today_london()
    admin = next(u for u in users if u.role == Role.admin)
    for kind in (MarketingType.letting, MarketingType.sale):
        props, _ = await property_repository.search(
            session,
            agency.id,
            PropertyFilters(
                marketing_type=kind, status=PropertyStatus.available, sort="created_at"
            ),
            limit=PER_KIND,
            offset=0,
        )
        applicants, _ = await applicant_repository.search(
            session, agency.id, ApplicantFilters(marketing_type=kind), limit=200, offset=0
        )
        if not applicants:
            continue
        for prop in props:
            bidders = rng.sample(applicants, k=min(len(applicants), rng.randint(1, 3)))
            offers = []
            for applicant, contact in bidders:
                amount = max(100, int(prop.price_pence * rng.uniform(0.9, 1.0)) // 100 * 100)
                try:
                    async with session.begin_nested():
                        offer = await offer_service.create(
                            session,
                            admin,
                            OfferCreate(
                                property_id=prop.id,
                                applicant_id=applicant.id,
                                amount_pence=amount,
                                conditions=rng.choice(["", "Subject to survey", "Needs parking"]),
                                proposed_move_in_date=today + timedelta(days=rng.randint(14, 45))
                                if kind == MarketingType.letting
                                else None,
                            ),
                        )
                except CRMError:
                    continue
                # Offers came in over the last few weeks, in office hours.
                offer.created_at = _office_hours(today - timedelta(days=rng.randint(1, 21)), rng)
                offers.append((offer, contact))
            if not offers:
                continue
            roll = rng.random()
            offer, contact = offers[0]
            client = "landlord" if kind == MarketingType.letting else "vendor"
            if roll < 0.25:
                async with session.begin_nested():
                    await offer_service.reject(
                        session, admin, offer.id, OfferReject(reason=f"Below the {client}'s figure")
                    )
                continue
            if roll < 0.5:
                continue  # left pending
            if kind == MarketingType.sale:
                contact.id_check_status = IdCheckStatus.passed
            try:
                async with session.begin_nested():
                    await offer_service.accept(session, admin, offer.id)
            except CRMError:
                continue
            if kind == MarketingType.letting:
                await _tenancy(session, admin, offer, contact.id, rng)
            else:
                await _sale(session, admin, offer, rng)
            for other, _ in offers[1:]:  # rejected when this one was accepted
                await session.refresh(other)
                other.created_at = min(other.created_at, offer.created_at)
                other.decided_at = offer.decided_at


def _decided(offer: Offer, day: date, rng: random.Random) -> None:
    """Date an accepted offer: made a few days before it was accepted on `day`."""
    offer.decided_at = _office_hours(day, rng)
    offer.created_at = _office_hours(day - timedelta(days=rng.randint(1, 4)), rng)


def _office_hours(day: date, rng: random.Random) -> datetime:
    made = time(rng.randint(9, 17), rng.randint(0, 59))
    return datetime.combine(day, made, LONDON).astimezone(UTC)


async def _tenancy(
    session: AsyncSession,
    admin: User,
    offer: Offer,
    contact_id: int,
    rng: random.Random,
) -> None:
    today = today_london()
    # A tenancy that began in the last few weeks: deposit taken and right to rent checked
    # before the move-in day, the deposit protected (or not yet) after it was received.
    start = today - timedelta(days=rng.randint(3, 40))
    received = start - timedelta(days=rng.randint(3, 14))
    protected = rng.random() < 0.6
    _decided(offer, received - timedelta(days=rng.randint(1, 5)), rng)
    try:
        async with session.begin_nested():
            tenancy = await tenancy_service.create(
                session,
                admin,
                TenancyCreate(
                    offer_id=offer.id,
                    start_date=start,
                    deposit_pence=rules.deposit_cap(offer.amount_pence, RentFrequency.monthly)[0]
                    // 100
                    * 100,
                    deposit_received_date=received,
                    deposit_protected_date=received + timedelta(days=rng.randint(1, 20))
                    if protected
                    else None,
                    deposit_scheme=rng.choice(list(DepositScheme)) if protected else None,
                    deposit_reference=f"DEP-{rng.randint(100000, 999999)}" if protected else None,
                ),
            )
            time_limited = rng.random() < 0.25
            await tenancy_service.add_check(
                session,
                admin,
                tenancy.id,
                RightToRentCreate(
                    contact_id=contact_id,
                    check_date=start - timedelta(days=rng.randint(1, 14)),
                    document_type=rng.choice(DOCUMENTS),
                    result=RightToRentResult.time_limited
                    if time_limited
                    else RightToRentResult.passed,
                    expiry_date=today + timedelta(days=rng.randint(-20, 400))
                    if time_limited
                    else None,
                ),
            )
    except CRMError:
        return
    try:
        async with session.begin_nested():
            await tenancy_service.activate(session, admin, tenancy.id, start)
    except CRMError:
        return  # missing certificates: it stays proposed, as in real life
    async with session.begin_nested():
        title, priority = rng.choice(REPAIRS)
        await maintenance_service.create(
            session,
            admin,
            JobCreate(
                property_id=tenancy.property_id,
                title=title,
                priority=priority,
                reported_by_contact_id=contact_id,
                reported_date=today - timedelta(days=rng.randint(0, 20)),
            ),
        )


async def _sale(session: AsyncSession, admin: User, offer: Offer, rng: random.Random) -> None:
    sale_id = await sale_repository.for_offer(session, admin.agency_id, offer.id)
    if sale_id is None:
        return
    sale = await sale_service.get(session, admin, sale_id)
    # Agreed some weeks ago, with the milestones done so far each done around its target.
    done = rng.randint(0, 6)
    sale.agreed_date = today_london() - timedelta(days=7 * done + rng.randint(4, 12))
    _decided(offer, sale.agreed_date, rng)
    for i, key in enumerate(list(Milestone)[:7]):
        day = sale.agreed_date + timedelta(days=7 * (i + 1))
        finished = day - timedelta(days=rng.randint(0, 3)) if i < done else None
        async with session.begin_nested():
            await sale_service.set_milestone(
                session,
                admin,
                sale_id,
                key,
                MilestoneUpdate(target_date=day, done_date=finished),
            )
