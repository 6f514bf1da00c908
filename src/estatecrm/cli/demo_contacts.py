"""Demo contacts: landlords and vendors owning the demo stock, applicants, and a living diary.

Phone numbers come from Ofcom's ranges reserved for drama (0117 496 0xxx and friends) and
e-mail addresses from the reserved example.* domains, so no real person is ever contacted.
"""

from __future__ import annotations

import random
from datetime import time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.applicants import repository as applicant_repository
from estatecrm.applicants import service as applicant_service
from estatecrm.applicants.models import ApplicantStatus, BuyerPosition, MustHave
from estatecrm.applicants.repository import property_satisfies
from estatecrm.applicants.schemas import ApplicantCreate
from estatecrm.auth.models import Agency, Role, User
from estatecrm.contacts import service as contact_service
from estatecrm.contacts.models import Contact, ContactRoleName, IdCheckStatus
from estatecrm.contacts.schemas import ContactCreate
from estatecrm.errors import CRMError
from estatecrm.kit.clock import london_to_utc, today_london, utcnow
from estatecrm.properties.models import MarketingType, Property, PropertyStatus
from estatecrm.viewings import service as viewing_service
from estatecrm.viewings.models import Viewing, ViewingAttendee, ViewingStatus
from estatecrm.viewings.schemas import ViewingCreate

FIRST_NAMES = [
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Grace",
    "Freya",
    "Lily",
    "Priya",
    "Aisha",
    "Sophie",
    "Chloe",
    "Hannah",
    "Zara",
    "Niamh",
    "Eilidh",
    "Megan",
    "Ruth",
    "Joanna",
    "Fatima",
    "Oliver",
    "George",
    "Harry",
    "Noah",
    "Jack",
    "Leo",
    "Arthur",
    "Muhammad",
    "Oscar",
    "Callum",
    "Rhys",
    "Dylan",
    "Tom",
    "Ben",
    "Sam",
    "Daniel",
    "Aran",
    "Kwame",
    "Hamish",
    "Patrick",
]
LAST_NAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Khan",
    "Hughes",
    "Edwards",
    "Murphy",
    "Campbell",
    "Okafor",
    "MacDonald",
    "Begum",
    "Kowalski",
    "Nguyen",
    "Ahmed",
    "Price",
    "Lloyd",
    "Reid",
    "O'Brien",
]
TITLES = ["Mr", "Mrs", "Ms", "Miss", "Dr", "Mx"]
# Ofcom's drama ranges: area code and the fixed middle digits; the last three vary.
DRAMA_RANGES = [
    "0117 496 0",
    "020 7946 0",
    "0113 496 0",
    "0161 496 0",
    "0131 496 0",
    "0118 496 0",
    "0121 496 0",
    "0191 498 0",
]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net"]
FEEDBACK = [
    ("Loved the light in the living room; wants to bring their partner back.", 5),
    ("Liked the location but the kitchen is smaller than hoped.", 3),
    ("Keen, asked about the service charge and parking permits.", 4),
    ("Not for them: too far from the station.", 1),
    ("Nice garden, worried about the road noise at the front.", 2),
    ("Very interested; will speak to their broker this week.", 5),
]
SLOT_TIMES = [
    time(9, 30),
    time(10, 30),
    time(11, 30),
    time(13, 0),
    time(14, 0),
    time(15, 30),
    time(16, 30),
    time(17, 30),
]


class _People:
    """Hands out distinct, realistic names, e-mails and (drama-range) phone numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.count = 0

    def next(self) -> dict[str, Any]:
        rng = self.rng
        self.count += 1
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        prefix = DRAMA_RANGES[self.count // 1000 % len(DRAMA_RANGES)]
        local = f"{first}.{last}".lower().replace("'", "")
        return {
            "title": rng.choice(TITLES) if rng.random() < 0.6 else None,
            "first_name": first,
            "last_name": last,
            "email": f"{local}{self.count}@{rng.choice(EMAIL_DOMAINS)}",
            "phone": f"{prefix}{self.count % 1000:03d}",
        }


async def _contact(session: AsyncSession, user: User, people: _People, **extra: Any) -> Contact:
    body = {**people.next(), **extra}
    if body.get("marketing_consent"):
        body.setdefault("consent_channel", "in_person")
    return await contact_service.create(session, user, ContactCreate(**body, allow_duplicate=True))


async def _owners(
    session: AsyncSession, agency: Agency, user: User, people: _People, rng: random.Random
) -> None:
    """About two thirds of the stock gets a landlord or vendor; some landlords own several."""
    props = (await session.scalars(select(Property).order_by(Property.id))).all()
    landlords: list[Contact] = []
    for prop in props:
        if rng.random() > 0.66:
            continue
        letting = prop.marketing_type == MarketingType.letting
        if letting and landlords and rng.random() < 0.35:
            owner = rng.choice(landlords)  # a portfolio landlord
        else:
            owner = await _contact(
                session,
                user,
                people,
                roles=[ContactRoleName.landlord if letting else ContactRoleName.vendor],
                id_check_status=rng.choice(
                    [IdCheckStatus.passed, IdCheckStatus.passed, IdCheckStatus.pending]
                ),
                marketing_consent=rng.random() < 0.4,
                city=prop.city,
            )
            if letting:
                landlords.append(owner)
        prop.owner_contact_id = owner.id
    await session.flush()


async def _applicants(
    session: AsyncSession, agency: Agency, users: list[User], people: _People, rng: random.Random
) -> list[tuple[int, int]]:
    """Applicants shaped around real available stock, so every one of them has matches."""
    available = (
        await session.scalars(
            select(Property)
            .where(Property.status == PropertyStatus.available)
            .order_by(Property.id)
        )
    ).all()
    negotiators = [u for u in users if u.role != Role.viewer]
    pairs: list[tuple[int, int]] = []
    for i in range(min(90, len(available))):
        prop = rng.choice(available)
        user = negotiators[i % len(negotiators)]
        letting = prop.marketing_type == MarketingType.letting
        step = 5_000 if letting else 2_500_000  # £50 pcm or £25,000
        top = prop.price_pence + rng.randint(0, 4) * step
        offered = sorted(property_satisfies(prop))
        must = rng.sample(offered, k=min(len(offered), rng.randint(0, 2)))
        if rng.random() < 0.2:
            must.append(rng.choice(list(MustHave)))
        areas = [prop.postcode_district]
        if rng.random() < 0.4:
            areas.append(prop.city)
        status = rng.choices(list(ApplicantStatus), weights=[3, 5, 2, 1])[0]
        contact = await _contact(
            session,
            user,
            people,
            marketing_consent=rng.random() < 0.6,
            consent_channel=rng.choice(["web_form", "phone", "email", "in_person"]),
        )
        applicant = await applicant_service.create(
            session,
            user,
            ApplicantCreate(
                contact_id=contact.id,
                marketing_type=prop.marketing_type,
                min_price_pence=max(step, top - 6 * step) if rng.random() < 0.5 else None,
                max_price_pence=top,
                min_bedrooms=max(0, prop.bedrooms - rng.randint(0, 1)),
                max_bedrooms=prop.bedrooms + 1 if rng.random() < 0.3 else None,
                property_types=[prop.property_type] if rng.random() < 0.6 else [],
                areas=areas,
                must_haves=list(dict.fromkeys(must)),
                move_by_date=(today_london() + timedelta(days=rng.randint(20, 150)))
                if letting or rng.random() < 0.3
                else None,
                position=rng.choice(
                    [
                        BuyerPosition.renting,
                        BuyerPosition.relocating,
                        BuyerPosition.living_with_family,
                    ]
                    if letting
                    else [
                        BuyerPosition.first_time_buyer,
                        BuyerPosition.chain,
                        BuyerPosition.cash,
                        BuyerPosition.chain_free,
                        BuyerPosition.sold_stc,
                    ]
                ),
                status=status,
                negotiator_id=user.id,
            ),
        )
        if status != ApplicantStatus.archived:
            pairs.append((applicant.id, prop.id))
    return pairs


async def _diary(
    session: AsyncSession,
    agency: Agency,
    users: list[User],
    pairs: list[tuple[int, int]],
    rng: random.Random,
) -> None:
    """Viewings across the coming week, and some completed ones with feedback last week."""
    negotiators = [u for u in users if u.role != Role.viewer]
    today = today_london()
    now = utcnow()
    upcoming = pairs[: len(pairs) * 2 // 3]
    for n, (applicant_id, property_id) in enumerate(upcoming):
        day = today + timedelta(days=n % 7)
        user = negotiators[n % len(negotiators)]
        for attempt in range(len(SLOT_TIMES)):
            start = london_to_utc(day, SLOT_TIMES[(n + attempt) % len(SLOT_TIMES)])
            if start <= now + timedelta(minutes=30):
                continue
            try:
                async with session.begin_nested():
                    viewing = await viewing_service.book(
                        session,
                        user,
                        ViewingCreate(
                            property_id=property_id,
                            applicant_id=applicant_id,
                            start_at=start,
                            duration_minutes=rng.choice([30, 30, 45]),
                        ),
                    )
                    if rng.random() < 0.5:
                        await viewing_service.confirm(session, user, viewing.id)
                break
            except CRMError:
                continue
    # Last week's viewings happened already: written as history, past the booking rules.
    done = pairs[len(pairs) * 2 // 3 :]
    found = await applicant_repository.get_many_with_contacts(
        session, agency.id, [a for a, _ in done]
    )
    for n, (applicant_id, property_id) in enumerate(done):
        day = today - timedelta(days=1 + n % 6)
        start = london_to_utc(day, SLOT_TIMES[n % len(SLOT_TIMES)])
        feedback, interest = rng.choice(FEEDBACK)
        user = negotiators[n % len(negotiators)]
        viewing = Viewing(
            agency_id=agency.id,
            property_id=property_id,
            applicant_id=applicant_id,
            negotiator_id=user.id,
            start_at=start,
            end_at=start + timedelta(minutes=30),
            duration_minutes=30,
            status=ViewingStatus.completed,
            feedback=feedback,
            interest=interest,
            notes="",
            booked_by_user_id=user.id,
            completed_at=start + timedelta(minutes=40),
            sequence=1,
            created_at=start - timedelta(days=3),
            updated_at=start + timedelta(minutes=40),
        )
        session.add(viewing)
        await session.flush()
        session.add(
            ViewingAttendee(
                agency_id=agency.id, viewing_id=viewing.id, contact_id=found[applicant_id][1].id
            )
        )
    await session.flush()


async def _duplicates(
    session: AsyncSession, user: User, people: _People, rng: random.Random
) -> None:
    """A few people entered twice, for the duplicates report."""
    for _ in range(3):
        original = await _contact(session, user, people)
        await contact_service.create(
            session,
            user,
            ContactCreate(
                first_name=original.first_name,
                last_name=original.last_name,
                email=original.email.upper() if rng.random() < 0.5 and original.email else None,
                phone=original.phone,
                allow_duplicate=True,
            ),
        )


async def seed(
    session: AsyncSession, agency: Agency, users: list[User], rng: random.Random
) -> None:
    """Contacts, owners, applicants and viewings for the demo agency."""
    admin = next(u for u in users if u.role == Role.admin)
    people = _People(rng)
    await _owners(session, agency, admin, people, rng)
    pairs = await _applicants(session, agency, users, people, rng)
    await _diary(session, agency, users, pairs, rng)
    await _duplicates(session, admin, people, rng)
