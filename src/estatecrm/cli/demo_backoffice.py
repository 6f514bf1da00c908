"""Demo offers, tenancies, sales in progression and maintenance jobs.

Runs after the contacts and compliance seeders: offers come from the demo applicants on the
demo's available properties; some are accepted, leading to tenancies (with deposits and
right-to-rent checks) and sales (with milestones); let properties get maintenance jobs.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

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
                made = time(rng.randint(9, 17), rng.randint(0, 59))
                day = today - timedelta(days=rng.randint(1, 21))
                offer.created_at = datetime.combine(day, made, LONDON).astimezone(UTC)
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
                await _tenancy(session, admin, offer.id, offer.amount_pence, contact.id, rng)
            else:
                await _sale(session, admin, offer.id, rng)


async def _tenancy(
    session: AsyncSession,
    admin: User,
    offer_id: int,
    rent_pence: int,
    contact_id: int,
    rng: random.Random,
) -> None:
    today = today_london()
    try:
        async with session.begin_nested():
            received = today - timedelta(days=rng.randint(2, 45))
            protected = rng.random() < 0.6
            tenancy = await tenancy_service.create(
                session,
                admin,
                TenancyCreate(
                    offer_id=offer_id,
                    deposit_pence=rules.deposit_cap(rent_pence, RentFrequency.monthly)[0]
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
                    check_date=today - timedelta(days=rng.randint(1, 30)),
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
            await tenancy_service.activate(session, admin, tenancy.id, today)
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


async def _sale(session: AsyncSession, admin: User, offer_id: int, rng: random.Random) -> None:
    sale_id = await sale_repository.for_offer(session, admin.agency_id, offer_id)
    if sale_id is None:
        return
    sale = await sale_service.get(session, admin, sale_id)
    done = rng.randint(0, 6)
    for i, key in enumerate(list(Milestone)[:7]):
        day = sale.agreed_date + timedelta(days=7 * (i + 1))
        async with session.begin_nested():
            await sale_service.set_milestone(
                session,
                admin,
                sale_id,
                key,
                MilestoneUpdate(target_date=day, done_date=sale.agreed_date if i < done else None),
            )
