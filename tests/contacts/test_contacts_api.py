"""Contacts through the JSON API: validation, duplicates, consent history, ID checks, deletion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from estatecrm.activity.models import Activity
from estatecrm.contacts.models import ConsentChange, Contact
from estatecrm.kit.clock import today_london
from tests.builders import (
    contact_payload,
    make_applicant,
    make_property,
    make_user,
    make_viewing,
    token_headers,
)

API = "/api/v1/contacts"


async def _create(client: Any, headers: Any, **overrides: Any) -> dict[str, Any]:
    r = await client.post(API, json=contact_payload(**overrides), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_normalises_and_reads_back(client: Any, headers: Any) -> None:
    body = await _create(
        client,
        headers,
        email="Priya.SHAH@Example.com",
        phone="+44 (0)20 7946 0018",
        postcode="so152js",
        address_line1="12 Carlton Crescent",
        city="Southampton",
        roles=["landlord", "applicant", "landlord"],
    )
    assert body["email"] == "priya.shah@example.com"
    assert body["phone"] == "+442079460018"
    assert body["postcode"] == "SO15 2JS"
    assert body["roles"] == ["applicant", "landlord"]
    assert body["full_name"] == "Ms Priya Shah"
    assert body["id_check_status"] == "not_started" and body["id_check_date"] is None
    got = await client.get(f"{API}/{body['id']}", headers=headers)
    assert got.status_code == 200 and got.json() == body
    timeline = (await client.get(f"{API}/{body['id']}/activity", headers=headers)).json()
    assert [a["action"] for a in timeline["items"]] == ["created"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "07700 900123"}, "phone"),  # Ofcom's drama range is not a real number
        ({"phone": "020 7946 0018 ext. 12"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"postcode": "NOWHERE"}, "postcode"),
        ({"first_name": ""}, "first_name"),
        ({"last_name": "x" * 101}, "last_name"),
        ({"roles": ["butler"]}, "roles"),
        ({"id_check_status": "maybe"}, "id_check_status"),
        ({"marketing_consent": True}, "consent_channel"),
        ({"marketing_consent": True, "consent_channel": "pigeon"}, "consent_channel"),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: Any, headers: Any, session: Any, overrides: dict[str, Any], field: str
) -> None:
    before = await session.scalar(select(func.count(Contact.id)))
    r = await client.post(API, json=contact_payload(**overrides), headers=headers)
    assert r.status_code == 422, r.text
    body = r.json()
    fields = {body.get("field")} | {d.get("field") for d in body.get("detail", [])}
    assert field in fields, body
    assert "Traceback" not in r.text
    assert await session.scalar(select(func.count(Contact.id))) == before


async def test_id_check_date_cannot_be_in_the_future(client: Any, headers: Any) -> None:
    tomorrow = (today_london() + timedelta(days=1)).isoformat()
    r = await client.post(
        API,
        json=contact_payload(id_check_status="passed", id_check_date=tomorrow),
        headers=headers,
    )
    assert r.status_code == 422 and r.json()["field"] == "id_check_date"


async def test_id_check_gets_a_date_when_decided_and_loses_it_when_reset(
    client: Any, headers: Any
) -> None:
    created = await _create(client, headers, id_check_status="pending")
    assert created["id_check_date"] is None
    r = await client.patch(
        f"{API}/{created['id']}", json={"id_check_status": "passed"}, headers=headers
    )
    assert r.json()["id_check_status"] == "passed"
    assert r.json()["id_check_date"] == today_london().isoformat()
    r = await client.patch(
        f"{API}/{created['id']}",
        json={"id_check_status": "failed", "id_check_date": "2026-01-05"},
        headers=headers,
    )
    assert r.json()["id_check_date"] == "2026-01-05"
    r = await client.patch(
        f"{API}/{created['id']}", json={"id_check_status": "not_started"}, headers=headers
    )
    assert r.json()["id_check_date"] is None


async def test_same_email_or_phone_is_409_with_the_existing_id(
    client: Any, headers: Any, session: Any
) -> None:
    first = await _create(client, headers)
    # The same e-mail typed differently.
    r = await client.post(
        API,
        json=contact_payload(first_name="P", email="PRIYA.shah@example.com", phone=None),
        headers=headers,
    )
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["detail"]["existing_id"] == first["id"]
    assert body["detail"]["matched_on"] == ["email"] and body["field"] == "email"
    assert f"#{first['id']}" in body["error"]
    # The same phone, written the national way.
    r = await client.post(
        API, json=contact_payload(email=None, phone="02079460018"), headers=headers
    )
    assert r.status_code == 409 and r.json()["detail"]["matched_on"] == ["phone"]
    # Both at once.
    r = await client.post(API, json=contact_payload(), headers=headers)
    assert r.status_code == 409 and r.json()["detail"]["matched_on"] == ["email", "phone"]
    assert await session.scalar(select(func.count(Contact.id))) == 1
    # The client confirms it is a different person: query flag or body field.
    r = await client.post(f"{API}?allow_duplicate=true", json=contact_payload(), headers=headers)
    assert r.status_code == 201
    r = await client.post(API, json=contact_payload(allow_duplicate=True), headers=headers)
    assert r.status_code == 201
    assert await session.scalar(select(func.count(Contact.id))) == 3


async def test_changing_details_to_anothers_is_409_but_keeping_your_own_is_fine(
    client: Any, headers: Any
) -> None:
    a = await _create(client, headers)
    b = await _create(client, headers, email="ben@example.com", phone="0117 496 0123")
    r = await client.patch(f"{API}/{b['id']}", json={"email": a["email"]}, headers=headers)
    assert r.status_code == 409 and r.json()["detail"]["existing_id"] == a["id"]
    r = await client.patch(
        f"{API}/{a['id']}", json={"email": a["email"], "notes": "Prefers e-mail"}, headers=headers
    )
    assert r.status_code == 200
    r = await client.patch(
        f"{API}/{b['id']}?allow_duplicate=true", json={"phone": a["phone"]}, headers=headers
    )
    assert r.status_code == 200 and r.json()["phone"] == a["phone"]


async def test_duplicates_are_per_agency(client: Any, headers: Any, other_headers: Any) -> None:
    await _create(client, headers)
    r = await client.post(API, json=contact_payload(), headers=other_headers)
    assert r.status_code == 201


async def test_marketing_consent_history(
    client: Any, headers: Any, session: Any, admin: Any
) -> None:
    created = await _create(
        client, headers, marketing_consent=True, consent_channel="web_form", consent_note="Signup"
    )
    cid = created["id"]
    # Withdrawing without saying how is refused, and nothing changes.
    r = await client.patch(f"{API}/{cid}", json={"marketing_consent": False}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "consent_channel"
    r = await client.patch(
        f"{API}/{cid}",
        json={"marketing_consent": False, "consent_channel": "phone", "consent_note": "Called"},
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["marketing_consent"] is False
    # Saving the same value again is not a change.
    r = await client.patch(f"{API}/{cid}", json={"marketing_consent": False}, headers=headers)
    assert r.status_code == 200
    history = (await client.get(f"{API}/{cid}/consent", headers=headers)).json()
    assert [(h["consent"], h["channel"], h["note"]) for h in history] == [
        (False, "phone", "Called"),
        (True, "web_form", "Signup"),
    ]
    assert all(h["changed_by_user_id"] == admin.id and h["changed_at"] for h in history)
    # A contact created without consent has no history.
    other = await _create(client, headers, email="x@example.com", phone=None)
    assert (await client.get(f"{API}/{other['id']}/consent", headers=headers)).json() == []


async def test_list_filters_search_roles_and_pagination(client: Any, headers: Any) -> None:
    await _create(client, headers, first_name="Amelia", last_name="Jones", roles=["landlord"])
    await _create(
        client,
        headers,
        first_name="Ben",
        last_name="Okafor",
        email="ben.okafor@example.com",
        phone="0117 496 0777",
        roles=["applicant", "tenant"],
    )
    await _create(
        client,
        headers,
        first_name="Chloe",
        last_name="Adams",
        email="chloe@example.org",
        phone=None,
        roles=["vendor"],
    )

    async def names(query: str) -> list[str]:
        r = await client.get(f"{API}?{query}", headers=headers)
        assert r.status_code == 200, r.text
        return [c["last_name"] for c in r.json()["items"]]

    assert await names("") == ["Adams", "Jones", "Okafor"]
    assert await names("q=okafor") == ["Okafor"]
    assert await names("q=BEN.OKAFOR@") == ["Okafor"]
    assert await names("q=0117 496 0777") == ["Okafor"]
    assert await names("q=%2B441174960777") == ["Okafor"]
    assert await names("role=landlord") == ["Jones"]
    assert await names("role=tenant") == ["Okafor"]
    assert await names("sort=-created_at") == ["Adams", "Okafor", "Jones"]
    page = (await client.get(f"{API}?limit=2&offset=2", headers=headers)).json()
    assert page["total"] == 3 and [c["last_name"] for c in page["items"]] == ["Okafor"]
    bad = await client.get(f"{API}?role=butler", headers=headers)
    assert bad.status_code == 422
    assert (await client.get(f"{API}?sort=password", headers=headers)).status_code == 422


async def test_put_replaces_and_patch_cannot_blank_required(client: Any, headers: Any) -> None:
    created = await _create(client, headers, roles=["vendor"], notes="Old")
    full = contact_payload(first_name="Priyanka", roles=["landlord"], postcode="BS6 5AA")
    r = await client.put(f"{API}/{created['id']}", json=full, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["first_name"] == "Priyanka" and body["roles"] == ["landlord"]
    assert body["notes"] == "" and body["postcode"] == "BS6 5AA"
    r = await client.patch(f"{API}/{created['id']}", json={"first_name": None}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "first_name"
    timeline = (await client.get(f"{API}/{created['id']}/activity", headers=headers)).json()
    assert timeline["items"][0]["changes"]["roles"] == [["vendor"], ["landlord"]]


async def test_viewers_cannot_write_and_negotiators_cannot_delete(
    client: Any, session: Any, agency: Any, headers: Any
) -> None:
    created = await _create(client, headers)
    viewer = await token_headers(session, await make_user(session, agency, role="viewer"))
    negotiator = await token_headers(session, await make_user(session, agency))
    assert (await client.get(API, headers=viewer)).status_code == 200
    r = await client.post(API, json=contact_payload(email="v@example.com"), headers=viewer)
    assert r.status_code == 403
    assert (await client.delete(f"{API}/{created['id']}", headers=negotiator)).status_code == 403
    assert (await client.delete(f"{API}/{created['id']}", headers=headers)).status_code == 204
    assert (await client.get(f"{API}/{created['id']}", headers=headers)).status_code == 404


async def test_contact_with_viewings_cannot_be_deleted(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    applicant = await make_applicant(session, admin)
    prop = await make_property(session, admin)
    await make_viewing(
        session,
        admin,
        property_id=prop.id,
        applicant_id=applicant.id,
        start_at=datetime(2031, 5, 6, 9, 0, tzinfo=UTC),
    )
    r = await client.delete(f"{API}/{applicant.contact_id}", headers=headers)
    assert r.status_code == 409 and "viewing" in r.json()["error"]


async def test_deleting_an_owner_leaves_the_property_unowned(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    owner = await _create(client, headers)
    prop = await make_property(session, admin, owner_contact_id=owner["id"])
    assert (await client.delete(f"{API}/{owner['id']}", headers=headers)).status_code == 204
    got = await client.get(f"/api/v1/properties/{prop.id}", headers=headers)
    assert got.json()["owner_contact_id"] is None
    deleted = await session.scalar(
        select(Activity).where(Activity.entity_type == "contact", Activity.action == "deleted")
    )
    assert deleted is not None


async def test_another_agencys_contact_is_404_everywhere(
    client: Any, headers: Any, other_headers: Any
) -> None:
    mine = await _create(client, headers)
    theirs = await _create(client, other_headers, email="rival@example.com", phone=None)
    tid = theirs["id"]
    assert (await client.get(f"{API}/{tid}", headers=headers)).status_code == 404
    assert (
        await client.put(f"{API}/{tid}", json=contact_payload(), headers=headers)
    ).status_code == 404
    assert (
        await client.patch(f"{API}/{tid}", json={"notes": "x"}, headers=headers)
    ).status_code == 404
    assert (await client.delete(f"{API}/{tid}", headers=headers)).status_code == 404
    assert (await client.get(f"{API}/{tid}/consent", headers=headers)).status_code == 404
    assert (await client.get(f"{API}/{tid}/activity", headers=headers)).status_code == 404
    r = await client.post(f"{API}/{tid}/merge", json={"other_id": mine["id"]}, headers=headers)
    assert r.status_code == 404
    r = await client.post(f"{API}/{mine['id']}/merge", json={"other_id": tid}, headers=headers)
    assert r.status_code == 404
    listed = (await client.get(f"{API}?q=rival", headers=headers)).json()
    assert listed["total"] == 0
    every = (await client.get(API, headers=headers)).json()
    assert [c["id"] for c in every["items"]] == [mine["id"]]
    # Their contact is untouched.
    assert (await client.get(f"{API}/{tid}", headers=other_headers)).status_code == 200
    assert (await client.get(API, headers={})).status_code == 401


async def test_consent_rows_belong_to_the_agency(
    client: Any, headers: Any, session: Any, agency: Any
) -> None:
    await _create(client, headers, marketing_consent=True, consent_channel="email")
    rows = (await session.scalars(select(ConsentChange))).all()
    assert len(rows) == 1 and rows[0].agency_id == agency.id
