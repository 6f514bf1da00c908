"""Matching in both directions: hard requirements exclude, soft ones rank, reasons explain."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from estatecrm.applicants import repository as applicant_repository
from estatecrm.applicants import service as applicant_service
from estatecrm.applicants.models import MustHave
from estatecrm.applicants.schemas import ApplicantCreate
from estatecrm.properties import service as property_service
from estatecrm.properties.models import PropertyType
from estatecrm.properties.schemas import PropertyCreate
from tests.builders import make_applicant, make_contact, make_property, make_user, property_payload


async def _property(session: Any, user: Any, **overrides: Any) -> Any:
    body = {
        "address_line1": "21 Polygon Road",
        "postcode": "SO15 2JP",
        "city": "Southampton",
        "property_type": "flat",
        "bedrooms": 2,
        "price_pence": 115_000,
        "features": ["Off-road parking", "Garden"],
        "furnishing": "furnished",
        "available_date": "2027-03-01",
    }
    body.update(overrides)
    return await make_property(session, user, **body)


async def test_property_matches_rank_and_explain(
    client: Any, session: Any, admin: Any, headers: Any, other_agency: Any
) -> None:
    prop = await _property(session, admin)

    async def applicant(name: str, **overrides: Any) -> Any:
        contact = await make_contact(session, admin, first_name=name, email=f"{name}@example.com")
        return await make_applicant(session, admin, contact=contact, **overrides)

    perfect = await applicant("Perfect", must_haves=["parking", "furnished"])
    stretch = await applicant(
        "Stretch",
        max_price_pence=110_000,
        min_price_pence=None,
        min_bedrooms=1,
        areas=["southampton"],
        property_types=[],
        status="warm",
    )
    anything = await applicant(
        "Anything",
        min_price_pence=None,
        max_price_pence=None,
        min_bedrooms=None,
        property_types=[],
        areas=[],
        status="cold",
    )
    picky = await applicant("Picky", must_haves=["pets_allowed", "garden"], status="cold")
    hurry = await applicant("Hurry", move_by_date="2027-02-01", min_bedrooms=1, max_bedrooms=1)
    # Excluded by a hard requirement each.
    await applicant("TooDear", max_price_pence=100_000, min_price_pence=None)
    await applicant(
        "Buyer", marketing_type="sale", max_price_pence=30_000_000, min_price_pence=None
    )
    await applicant("BigFamily", min_bedrooms=3)
    await applicant("HouseOnly", property_types=["house"])
    await applicant("Bristol", areas=["BS6", "Bath"])
    await applicant("Archived", status="archived")
    rival = await make_user(session, other_agency, email="neg@rival.test")
    await make_applicant(session, rival)

    r = await client.get(f"/api/v1/properties/{prop.id}/matches", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    got = [(m["applicant"]["id"], m["score"]) for m in body["items"]]
    # base + price + bedrooms + must-haves + move-by + status
    assert got == [
        (perfect.id, 100),
        (hurry.id, 40 + 20 + 5 + 15 + 0 + 10),
        (stretch.id, 40 + 10 + 10 + 15 + 5 + 5),
        (picky.id, 40 + 20 + 10 + 7 + 5 + 0),
        (anything.id, 40 + 10 + 10 + 15 + 5 + 0),
    ]
    assert body["total"] == 5
    reasons = {m["applicant"]["id"]: m["reasons"] for m in body["items"]}
    assert reasons[perfect.id] == [
        "£1,150 pcm within £900\u2013£1,200",
        "2 bed meets min 2",
        "Flat is a wanted type",
        "SO15 in areas",
        "Has parking",
        "Has furnished",
        "Hot applicant",
    ]
    assert reasons[stretch.id][:3] == [
        "£1,150 pcm is 5% over max £1,100",
        "2 bed meets min 1",
        "Southampton in areas",
    ]
    assert reasons[anything.id] == ["£1,150 pcm, no price range set"]
    assert "No pets allowed listed" in reasons[picky.id] and "Has a garden" in reasons[picky.id]
    assert "2 bed, more than max 1" in reasons[hurry.id]
    assert "Available 1 Mar 2027, after move-by 1 Feb 2027" in reasons[hurry.id]
    first = body["items"][0]["applicant"]
    assert first["contact"]["full_name"] == "Ms Perfect Shah"

    page = (
        await client.get(f"/api/v1/properties/{prop.id}/matches?limit=2&offset=2", headers=headers)
    ).json()
    assert [m["applicant"]["id"] for m in page["items"]] == [stretch.id, picky.id]
    assert page["total"] == 5
    beyond = (
        await client.get(f"/api/v1/properties/{prop.id}/matches?offset=50", headers=headers)
    ).json()
    assert beyond["items"] == [] and beyond["total"] == 5


async def test_applicant_matches_available_properties_only(
    client: Any, session: Any, admin: Any, headers: Any, other_agency: Any
) -> None:
    applicant = await make_applicant(
        session, admin, must_haves=["parking"], areas=["SO15", "Winchester"], max_bedrooms=2
    )
    best = await _property(session, admin)
    town = await _property(
        session, admin, postcode="SO22 5AB", city="winchester", features=[], price_pence=95_000
    )
    bigger = await _property(session, admin, bedrooms=3, address_line1="3 Hill Lane")
    await _property(session, admin, postcode="BS6 5AA", city="Bristol")
    await _property(session, admin, status="let_agreed")
    await _property(session, admin, property_type="house")
    await _property(session, admin, price_pence=140_000)
    await _property(session, admin, marketing_type="sale", status="available", price_pence=100_000)
    await _property(session, admin, bedrooms=1)
    rival = await make_user(session, other_agency, email="neg@rival.test")
    await _property(session, rival)

    r = await client.get(f"/api/v1/applicants/{applicant.id}/matches", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(m["property"]["id"], m["score"]) for m in body["items"]] == [
        (best.id, 100),
        (bigger.id, 95),
        (town.id, 85),
    ]
    town_reasons = body["items"][2]["reasons"]
    assert "Winchester in areas" in town_reasons and "No parking listed" in town_reasons
    assert "£950 pcm within £900\u2013£1,200" in town_reasons
    assert "Hot applicant" not in town_reasons


async def test_matches_of_another_agency_are_404(
    client: Any, session: Any, headers: Any, other_agency: Any
) -> None:
    rival = await make_user(session, other_agency, email="neg@rival.test")
    prop = await make_property(session, rival)
    applicant = await make_applicant(session, rival)
    assert (
        await client.get(f"/api/v1/properties/{prop.id}/matches", headers=headers)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/applicants/{applicant.id}/matches", headers=headers)
    ).status_code == 404


# --- the SQL agrees with the rules, for any requirements and any property --------------------

MUST = [m.value for m in MustHave]
FEATURES = [
    "Garden",
    "Off-road parking",
    "Garage",
    "Pets considered",
    "Balcony",
    "Lift",
    "En-suite",
    "Chain free",
    "Close to station",
    "Patio",
]
TYPES = ["flat", "house", "maisonette"]
DISTRICTS = ["SO15", "SO16", "BS6"]


@st.composite
def scenario(draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    low = draw(st.none() | st.integers(50_000, 150_000))
    high = draw(st.none() | st.integers(low or 50_000, 200_000))
    min_beds = draw(st.none() | st.integers(0, 4))
    max_beds = draw(st.none() | st.integers(min_beds or 0, 5))
    requirement = {
        "marketing_type": draw(st.sampled_from(["letting", "sale"])),
        "min_price_pence": low,
        "max_price_pence": high,
        "min_bedrooms": min_beds,
        "max_bedrooms": max_beds,
        "property_types": draw(st.lists(st.sampled_from(TYPES), max_size=2, unique=True)),
        "areas": draw(
            st.lists(
                st.sampled_from([*DISTRICTS, "Southampton", "Bristol"]), max_size=2, unique=True
            )
        ),
        "must_haves": draw(st.lists(st.sampled_from(MUST), max_size=4, unique=True)),
        "move_by_date": draw(st.none() | st.dates(date(2027, 1, 1), date(2027, 6, 1))),
        "status": draw(st.sampled_from(["hot", "warm", "cold"])),
    }
    district = draw(st.sampled_from(DISTRICTS))
    prop = property_payload(
        marketing_type=draw(st.sampled_from(["letting", "sale"])),
        property_type=draw(st.sampled_from(TYPES)),
        bedrooms=draw(st.integers(0, 5)),
        price_pence=draw(st.integers(40_000, 230_000)),
        postcode=f"{district} 1AA",
        city="Bristol" if district == "BS6" else "Southampton",
        features=draw(st.lists(st.sampled_from(FEATURES), max_size=4, unique=True)),
        furnishing=draw(st.none() | st.sampled_from(["furnished", "unfurnished"])),
        available_date=draw(st.none() | st.dates(date(2027, 1, 1), date(2027, 6, 1))),
    )
    return requirement, prop


def hard_fit(req: dict[str, Any], prop: dict[str, Any]) -> bool:
    """The hard requirements, written out plainly."""
    district = prop["postcode"].split()[0].lower()
    areas = {a.lower() for a in req["areas"]}
    return (
        req["marketing_type"] == prop["marketing_type"]
        and (
            req["max_price_pence"] is None
            or prop["price_pence"] * 100 <= req["max_price_pence"] * 110
        )
        and (req["min_bedrooms"] is None or prop["bedrooms"] >= req["min_bedrooms"])
        and (not req["property_types"] or prop["property_type"] in req["property_types"])
        and (not areas or district in areas or prop["city"].lower() in areas)
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=scenario())
async def test_sql_matching_agrees_with_the_rules(
    session: Any, admin: Any, case: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    req, prop_body = case
    savepoint = await session.begin_nested()
    try:
        contact = await make_contact(session, admin)
        applicant = await applicant_service.create(
            session, admin, ApplicantCreate(contact_id=contact.id, **req)
        )
        prop = await property_service.create(session, admin, PropertyCreate(**prop_body))
        expected = hard_fit(req, prop_body)
        event(f"fits={expected}")
        score_python, _ = applicant_service.explain(applicant, prop)

        rows, total = await applicant_repository.match_applicants(session, prop, limit=10, offset=0)
        assert total == int(expected)
        if expected:
            assert rows[0][0].id == applicant.id
            assert rows[0][2] == score_python

        keys = [a.lower() for a in applicant.areas]
        found, _ = await applicant_repository.match_properties(
            session, applicant, keys, limit=10, offset=0
        )
        assert [p.id for p, _ in found] == ([prop.id] if expected else [])
        if expected:
            assert found[0][1] == score_python
        assert 0 <= score_python <= 100
        assert PropertyType(prop_body["property_type"])
    finally:
        await savepoint.rollback()
