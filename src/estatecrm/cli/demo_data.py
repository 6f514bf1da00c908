"""Realistic demo data: real UK towns with their real postcode districts and streets."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.auth import service as auth_service
from estatecrm.auth.models import Agency, Role, User
from estatecrm.cli import demo_backoffice, demo_contacts
from estatecrm.compliance import demo as compliance_demo
from estatecrm.db.scoping import as_agency
from estatecrm.kit.clock import utcnow
from estatecrm.kit.uk_postcode import normalise_postcode, outward_code
from estatecrm.models import Model
from estatecrm.properties.models import (
    STATUSES_FOR,
    Furnishing,
    MarketingType,
    Property,
    PropertyStatus,
    PropertyType,
    Tenure,
)

DEMO_AGENCY = "Demo Lettings & Sales"
DEMO_PASSWORD = "demo-password-2026"
_AT = "@" + auth_service.DEMO_EMAIL_DOMAIN
DEMO_USERS = [
    ("admin" + _AT, "Alex Admin", Role.admin, "Southampton"),
    ("manager" + _AT, "Morgan Manager", Role.manager, "Southampton"),
    ("negotiator" + _AT, "Nia Negotiator", Role.negotiator, "Bristol"),
    ("viewer" + _AT, "Val Viewer", Role.viewer, "Bristol"),
]
OFFICES = ["Southampton", "Bristol"]

# (town, county, [districts], [streets]) — real districts and real streets of each town.
TOWNS: list[tuple[str, str, list[str], list[str]]] = [
    (
        "Southampton",
        "Hampshire",
        ["SO14", "SO15", "SO16", "SO17", "SO18", "SO19"],
        [
            "Shirley Road",
            "Portswood Road",
            "Bedford Place",
            "Carlton Crescent",
            "Hill Lane",
            "Winchester Road",
            "Bitterne Road West",
            "Polygon Road",
            "Howard Road",
            "Bassett Avenue",
        ],
    ),
    (
        "Bristol",
        "City of Bristol",
        ["BS1", "BS3", "BS5", "BS6", "BS7", "BS8", "BS9"],
        [
            "Gloucester Road",
            "Whiteladies Road",
            "North Street",
            "Cotham Hill",
            "St Michael's Hill",
            "Stokes Croft",
            "Coronation Road",
            "Chandos Road",
            "Redland Road",
            "Ashley Road",
        ],
    ),
    (
        "Winchester",
        "Hampshire",
        ["SO22", "SO23"],
        ["Stockbridge Road", "St Cross Road", "Hyde Street", "Romsey Road", "Christchurch Road"],
    ),
    (
        "Bath",
        "Somerset",
        ["BA1", "BA2"],
        ["Widcombe Hill", "London Road", "Wells Road", "Newbridge Road", "Lansdown Road"],
    ),
    (
        "Reading",
        "Berkshire",
        ["RG1", "RG2", "RG4", "RG6", "RG30"],
        ["Oxford Road", "London Road", "Kings Road", "Caversham Road", "Wokingham Road"],
    ),
    (
        "Oxford",
        "Oxfordshire",
        ["OX1", "OX2", "OX3", "OX4"],
        ["Cowley Road", "Iffley Road", "Banbury Road", "Walton Street", "Headington Road"],
    ),
    (
        "Brighton",
        "East Sussex",
        ["BN1", "BN2", "BN3"],
        ["Ditchling Road", "Preston Road", "Lewes Road", "Church Road", "Queens Park Road"],
    ),
    (
        "Manchester",
        "Greater Manchester",
        ["M1", "M4", "M14", "M20", "M21"],
        ["Wilmslow Road", "Burton Road", "Barlow Moor Road", "Oxford Road", "Upper Chorlton Road"],
    ),
    (
        "Leeds",
        "West Yorkshire",
        ["LS1", "LS6", "LS7", "LS8", "LS16"],
        ["Otley Road", "Headingley Lane", "Chapeltown Road", "Roundhay Road", "Kirkstall Road"],
    ),
    (
        "York",
        "North Yorkshire",
        ["YO1", "YO10", "YO23", "YO24", "YO31"],
        ["Bishopthorpe Road", "Fulford Road", "Heworth Green", "Bootham", "Holgate Road"],
    ),
    (
        "Cambridge",
        "Cambridgeshire",
        ["CB1", "CB2", "CB3", "CB4"],
        ["Mill Road", "Hills Road", "Chesterton Road", "Huntingdon Road", "Mawson Road"],
    ),
    (
        "Norwich",
        "Norfolk",
        ["NR1", "NR2", "NR3", "NR4"],
        ["Unthank Road", "Newmarket Road", "Magdalen Street", "Earlham Road", "Dereham Road"],
    ),
    (
        "Exeter",
        "Devon",
        ["EX1", "EX2", "EX4"],
        ["Heavitree Road", "Cowick Street", "Pennsylvania Road", "Topsham Road", "Sidwell Street"],
    ),
    (
        "Cardiff",
        "South Glamorgan",
        ["CF10", "CF11", "CF14", "CF23", "CF24"],
        ["Cathedral Road", "Albany Road", "City Road", "Whitchurch Road", "Cowbridge Road East"],
    ),
    (
        "Edinburgh",
        "City of Edinburgh",
        ["EH1", "EH3", "EH6", "EH9", "EH10"],
        ["Leith Walk", "Bruntsfield Place", "Marchmont Road", "Dalry Road", "Easter Road"],
    ),
    (
        "London",
        "Greater London",
        ["SW4", "SE15", "N16", "E8", "NW5", "W12"],
        [
            "Clapham High Street",
            "Rye Lane",
            "Stoke Newington Church Street",
            "Mare Street",
            "Kentish Town Road",
            "Uxbridge Road",
        ],
    ),
]
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
FEATURES = [
    "Garden",
    "Parking",
    "Garage",
    "Pets considered",
    "Balcony",
    "Period features",
    "Gas central heating",
    "Double glazing",
    "Close to station",
    "En-suite",
    "Lift",
    "Bike store",
    "Open-plan kitchen",
    "Newly refurbished",
    "Chain free",
]
DESCRIPTIONS = [
    "A well-presented home in a popular residential street, close to local shops and transport.",
    "Bright and spacious accommodation arranged over two floors, with a private rear garden.",
    "A characterful period property retaining many original features throughout.",
    "Recently refurbished to a high standard, ready to move straight into.",
    "Ideal for first-time buyers or investors, within walking distance of the town centre.",
]


def demo_postcode(rng: random.Random, district: str) -> str:
    """A well-formed postcode in a real district."""
    inward = f"{rng.randint(1, 9)}{rng.choice(UNIT_LETTERS)}{rng.choice(UNIT_LETTERS)}"
    return normalise_postcode(district + inward)


def _price(rng: random.Random, marketing: MarketingType, beds: int, town: str) -> int:
    premium = 1.8 if town in ("London", "Oxford", "Cambridge", "Bath") else 1.0
    if marketing == MarketingType.sale:
        pounds = (120_000 + beds * 65_000 + rng.randint(0, 90_000)) * premium
        return int(round(pounds, -3)) * 100
    pounds = (550 + beds * 260 + rng.randint(0, 300)) * premium
    return int(round(pounds, -1)) * 100


def build_properties(
    rng: random.Random, agency_id: int, count: int, office_ids: list[int], negotiator_ids: list[int]
) -> list[dict[str, Any]]:
    """Rows for `count` varied properties, every status of both marketing types represented."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    statuses = {mt: list(STATUSES_FOR[mt]) for mt in MarketingType}
    for i in range(count):
        town, county, districts, streets = TOWNS[i % len(TOWNS)]
        marketing = MarketingType.sale if i % 2 == 0 else MarketingType.letting
        pool = statuses[marketing]
        # Most stock is available; cycle through every status so all appear.
        status = (
            pool[(i // 2) % len(pool)]
            if i < 40
            else rng.choices(pool, weights=[1, 8, 2, 2, 1, 1][: len(pool)])[0]
        )
        ptype = rng.choice(
            [
                PropertyType.flat,
                PropertyType.house,
                PropertyType.house,
                PropertyType.maisonette,
                PropertyType.bungalow,
                PropertyType.studio,
            ]
        )
        beds = (
            0
            if ptype == PropertyType.studio
            else rng.randint(1, 5 if ptype == PropertyType.house else 3)
        )
        postcode = demo_postcode(rng, rng.choice(districts))
        street = rng.choice(streets)
        line1 = (
            f"Flat {rng.randint(1, 12)}, {rng.randint(1, 180)} {street}"
            if ptype == PropertyType.flat
            else f"{rng.randint(1, 240)} {street}"
        )
        created = now - timedelta(days=rng.randint(1, 400), minutes=rng.randint(0, 1440))
        changed = created + timedelta(days=rng.randint(0, 60))
        ref = f"{outward_code(postcode)}-{10000 + i}"
        rows.append(
            {
                "agency_id": agency_id,
                "reference": ref,
                "address_line1": line1,
                "address_line2": None,
                "city": town,
                "county": county,
                "postcode": postcode,
                "postcode_district": outward_code(postcode),
                "property_type": ptype,
                "bedrooms": beds,
                "bathrooms": max(1, beds // 2) if beds else 1,
                "receptions": 0
                if ptype in (PropertyType.studio, PropertyType.flat)
                else rng.randint(1, 2),
                "marketing_type": marketing,
                "status": status,
                "price_pence": _price(rng, marketing, beds, town),
                "tenure": rng.choice(list(Tenure)) if marketing == MarketingType.sale else None,
                "furnishing": rng.choice(list(Furnishing))
                if marketing == MarketingType.letting
                else None,
                "epc_rating": rng.choice("BCCCDDDEEF"),
                "council_tax_band": rng.choice("ABBCCDDEF"),
                "description": rng.choice(DESCRIPTIONS),
                "features": rng.sample(FEATURES, rng.randint(2, 5)),
                "available_date": (now + timedelta(days=rng.randint(0, 90))).date()
                if marketing == MarketingType.letting
                else None,
                "office_id": office_ids[i % len(office_ids)] if office_ids else None,
                "negotiator_id": negotiator_ids[i % len(negotiator_ids)]
                if negotiator_ids
                else None,
                "search_text": " ".join(
                    [ref, line1, town, county, postcode, postcode.replace(" ", "")]
                ).lower(),
                "created_at": created,
                "updated_at": changed,
                "instructed_at": created if status != PropertyStatus.valuation else None,
                "listed_at": created + timedelta(days=2)
                if status != PropertyStatus.valuation
                else None,
                "status_changed_at": changed,
            }
        )
    return rows


def add_access_codes(rng: random.Random, rows: list[dict[str, Any]]) -> None:
    """Key safe codes on most lettings (stored encrypted); a separate generator, so the rest
    of the demo data stays the same."""
    for row in rows:
        wanted = row["marketing_type"] == MarketingType.letting and rng.random() < 0.7
        row["access_code"] = f"Key safe {rng.randint(1000, 9999)}" if wanted else None


async def demo_agency(session: AsyncSession) -> Agency | None:
    """The demo agency, if it has been loaded."""
    return await session.scalar(select(Agency).where(Agency.name == DEMO_AGENCY))


async def reset(session: AsyncSession) -> None:
    """Remove the demo agency and everything that belongs to it."""
    agency = await demo_agency(session)
    if agency is None:
        return
    for table in reversed(Model.metadata.sorted_tables):
        if "agency_id" in table.c:
            await session.execute(delete(table).where(table.c.agency_id == agency.id))
    await session.delete(agency)
    await session.flush()


async def load(session: AsyncSession, *, properties: int = 240, seed: int = 2026) -> Agency:
    """Create the demo agency, offices, users and properties (idempotent: reuses what exists)."""
    existing = await demo_agency(session)
    if existing is not None:
        return existing
    rng = random.Random(seed)
    agency = await auth_service.ensure_agency(session, DEMO_AGENCY)
    with as_agency(session, agency.id):
        await _fill(session, agency, rng, properties, seed)
    return agency


async def _fill(
    session: AsyncSession, agency: Agency, rng: random.Random, properties: int, seed: int
) -> None:
    offices = {name: await auth_service.ensure_office(session, agency, name) for name in OFFICES}
    users: list[User] = []
    for email, name, role, office in DEMO_USERS:
        users.append(
            await auth_service.create_user(
                session,
                agency,
                email=email,
                password=DEMO_PASSWORD,
                role=role,
                full_name=name,
                office=offices[office],
            )
        )
    negotiators = [u.id for u in users if u.role in (Role.negotiator, Role.manager)]
    rows = build_properties(
        rng, agency.id, properties, [o.id for o in offices.values()], negotiators
    )
    add_access_codes(random.Random(seed + 1), rows)
    await session.execute(insert(Property), rows)
    await session.flush()
    for seeder in EXTRA_SEEDERS:
        await seeder(session, agency, users, rng)


async def property_count(session: AsyncSession, agency_id: int) -> int:
    """How many properties the agency has."""
    with as_agency(session, agency_id):
        return int(await session.scalar(select(func.count()).select_from(Property)) or 0)


# Later features add their demo records here: async (session, agency, users, rng) -> None.
# Contacts first: owners and applicants; then certificates and tasks.
EXTRA_SEEDERS: list[Any] = [demo_contacts.seed, compliance_demo.seed, demo_backoffice.seed]
