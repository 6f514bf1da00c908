"""Applicants through the JSON API: requirements, validation, filters, isolation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.builders import (
    applicant_payload,
    make_applicant,
    make_contact,
    make_property,
    make_user,
    make_viewing,
    token_headers,
)

API = "/api/v1/applicants"


async def test_create_normalises_areas_and_makes_the_contact_an_applicant(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    contact = await make_contact(session, admin, roles=["landlord"])
    body = applicant_payload(
        contact.id,
        areas=["so15", "SO15 2JS", "southampton", "St Albans", "  bristol  "],
        must_haves=["parking", "garden", "parking"],
        property_types=["flat", "maisonette"],
        position="renting",
        move_by_date="2027-03-31",
        negotiator_id=admin.id,
    )
    r = await client.post(API, json=body, headers=headers)
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["areas"] == ["SO15", "Southampton", "St Albans", "Bristol"]
    assert got["must_haves"] == ["parking", "garden"]
    assert got["property_types"] == ["flat", "maisonette"]
    assert got["contact"] == {
        "id": contact.id,
        "full_name": "Ms Priya Shah",
        "email": "priya.shah@example.com",
        "phone": "+442079460018",
    }
    roles = (await client.get(f"/api/v1/contacts/{contact.id}", headers=headers)).json()["roles"]
    assert roles == ["applicant", "landlord"]
    assert (await client.get(f"{API}/{got['id']}", headers=headers)).json() == got
    timeline = (await client.get(f"{API}/{got['id']}/activity", headers=headers)).json()
    assert [a["action"] for a in timeline["items"]] == ["created"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"min_price_pence": 150_000, "max_price_pence": 100_000}, "max_price_pence"),
        ({"min_bedrooms": 3, "max_bedrooms": 2}, "max_bedrooms"),
        ({"max_price_pence": -1}, "max_price_pence"),
        ({"areas": ["!!!"]}, "areas"),
        (
            {
                "areas": [f"Town{chr(65 + i)}" for i in range(26)]
                + ["SO1", "SO2", "SO3", "SO4", "SO5"]
            },
            "areas",
        ),
        ({"property_types": ["castle"]}, "property_types"),
        ({"must_haves": ["moat"]}, "must_haves"),
        ({"marketing_type": "barter"}, "marketing_type"),
        ({"status": "lukewarm"}, "status"),
        ({"position": "astronaut"}, "position"),
        ({"negotiator_id": 999_999}, "negotiator_id"),
        ({"contact_id": 999_999}, "contact_id"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: Any,
    session: Any,
    admin: Any,
    headers: Any,
    overrides: dict[str, Any],
    field: str,
) -> None:
    contact = await make_contact(session, admin)
    body = {**applicant_payload(contact.id), **overrides}
    r = await client.post(API, json=body, headers=headers)
    assert r.status_code == 422, r.text
    body = r.json()
    fields = {body.get("field")} | {d.get("field") for d in body.get("detail", [])}
    assert field in fields, body


async def test_patch_checks_ranges_against_stored_values(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    applicant = await make_applicant(session, admin)
    r = await client.patch(
        f"{API}/{applicant.id}", json={"max_price_pence": 50_000}, headers=headers
    )
    assert r.status_code == 422 and r.json()["field"] == "max_price_pence"
    r = await client.patch(f"{API}/{applicant.id}", json={"areas": None}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "areas"
    r = await client.patch(f"{API}/{applicant.id}", json={"status": "archived"}, headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "archived"
    timeline = (await client.get(f"{API}/{applicant.id}/activity", headers=headers)).json()
    assert timeline["items"][0]["action"] == "status_changed"


async def test_put_replaces_everything(client: Any, session: Any, admin: Any, headers: Any) -> None:
    applicant = await make_applicant(session, admin)
    body = applicant_payload(
        applicant.contact_id, marketing_type="sale", areas=["BS6"], max_price_pence=30_000_000
    )
    body.pop("min_price_pence")
    r = await client.put(f"{API}/{applicant.id}", json=body, headers=headers)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["marketing_type"] == "sale" and got["areas"] == ["BS6"]
    assert got["min_price_pence"] is None and got["max_price_pence"] == 30_000_000


async def test_list_filters_and_pagination(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    amy = await make_contact(
        session, admin, first_name="Amy", last_name="Ward", email="amy@example.com"
    )
    ben = await make_contact(
        session, admin, first_name="Ben", last_name="Cole", email="ben@example.com"
    )
    a1 = await make_applicant(session, admin, contact=amy, areas=["SO15", "Winchester"])
    a2 = await make_applicant(
        session,
        admin,
        contact=ben,
        marketing_type="sale",
        areas=["BS6"],
        status="cold",
        min_price_pence=20_000_000,
        max_price_pence=30_000_000,
    )
    a3 = await make_applicant(session, admin, contact=ben, status="archived")

    async def ids(query: str) -> list[int]:
        r = await client.get(f"{API}?{query}", headers=headers)
        assert r.status_code == 200, r.text
        return [a["id"] for a in r.json()["items"]]

    assert await ids("") == [a3.id, a2.id, a1.id]
    assert await ids("q=amy") == [a1.id]
    assert await ids("q=ben@example") == [a3.id, a2.id]
    assert await ids("marketing_type=sale") == [a2.id]
    assert await ids("status=cold") == [a2.id]
    assert await ids("active=true") == [a2.id, a1.id]
    assert await ids("active=false") == [a3.id]
    assert await ids("area=winchester") == [a1.id]
    assert await ids("area=so15") == [a3.id, a1.id]
    assert await ids(f"contact_id={ben.id}") == [a3.id, a2.id]
    assert await ids("sort=max_price_pence") == [a1.id, a3.id, a2.id]
    page = (await client.get(f"{API}?limit=1&offset=1", headers=headers)).json()
    assert page["total"] == 3 and [a["id"] for a in page["items"]] == [a2.id]
    assert (await client.get(f"{API}?area=!!!", headers=headers)).status_code == 422


async def test_delete_rules(
    client: Any, session: Any, agency: Any, admin: Any, headers: Any
) -> None:
    spare = await make_applicant(session, admin)
    negotiator = await token_headers(session, await make_user(session, agency))
    assert (await client.delete(f"{API}/{spare.id}", headers=negotiator)).status_code == 403
    assert (await client.delete(f"{API}/{spare.id}", headers=headers)).status_code == 204
    assert (await client.get(f"{API}/{spare.id}", headers=headers)).status_code == 404
    viewed = await make_applicant(session, admin)
    prop = await make_property(session, admin)
    await make_viewing(
        session,
        admin,
        property_id=prop.id,
        applicant_id=viewed.id,
        start_at=datetime(2031, 5, 6, 9, 0, tzinfo=UTC),
    )
    r = await client.delete(f"{API}/{viewed.id}", headers=headers)
    assert r.status_code == 409 and "archived" in r.json()["error"]
    assert r.json()["detail"]["reasons"] == ["1 viewing"]
    # An offer is a record the agency keeps: the search that made it is archived, not deleted.
    bidder = await make_applicant(session, admin)
    offer = await client.post(
        "/api/v1/offers",
        json={"property_id": prop.id, "applicant_id": bidder.id, "amount_pence": 110_000},
        headers=headers,
    )
    assert offer.status_code == 201, offer.text
    r = await client.delete(f"{API}/{bidder.id}", headers=headers)
    assert r.status_code == 409 and r.json()["detail"]["reasons"] == ["1 offer"]
    assert (await client.get(f"/api/v1/offers/{offer.json()['id']}", headers=headers)).is_success


async def test_another_agencys_applicant_is_404_everywhere(
    client: Any, session: Any, admin: Any, headers: Any, other_agency: Any, other_headers: Any
) -> None:
    mine = await make_applicant(session, admin)
    rival = await make_user(session, other_agency, email="rival.neg@rival.test")
    theirs = await make_applicant(session, rival)
    tid = theirs.id
    body = applicant_payload(mine.contact_id)
    assert (await client.get(f"{API}/{tid}", headers=headers)).status_code == 404
    assert (await client.put(f"{API}/{tid}", json=body, headers=headers)).status_code == 404
    assert (
        await client.patch(f"{API}/{tid}", json={"notes": "x"}, headers=headers)
    ).status_code == 404
    assert (await client.delete(f"{API}/{tid}", headers=headers)).status_code == 404
    assert (await client.get(f"{API}/{tid}/activity", headers=headers)).status_code == 404
    assert (await client.get(f"{API}/{tid}/matches", headers=headers)).status_code == 404
    listed = (await client.get(API, headers=headers)).json()
    assert [a["id"] for a in listed["items"]] == [mine.id]
    # Their contact cannot be used for an applicant of ours, nor ours moved to theirs.
    r = await client.post(API, json=applicant_payload(theirs.contact_id), headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "contact_id"
    r = await client.patch(
        f"{API}/{mine.id}", json={"contact_id": theirs.contact_id}, headers=headers
    )
    assert r.status_code == 422 and r.json()["field"] == "contact_id"
    assert (await client.get(f"{API}/{tid}", headers=other_headers)).status_code == 200
