"""Merging duplicate contacts moves every reference in one transaction; the report finds pairs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from estatecrm.activity.models import Activity
from estatecrm.contacts.models import ConsentChange
from estatecrm.viewings.models import ViewingAttendee
from tests.builders import (
    contact_payload,
    make_applicant,
    make_contact,
    make_property,
    make_viewing,
)

API = "/api/v1/contacts"
SOON = datetime(2031, 5, 6, 9, 0, tzinfo=UTC)


async def test_merge_moves_every_reference(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    kept = await make_contact(
        session,
        admin,
        first_name="Priya",
        email="priya@example.com",
        phone=None,
        roles=["landlord"],
        notes="Met at valuation",
    )
    dup = await make_contact(
        session,
        admin,
        first_name="Priya",
        email="p.shah@example.com",
        phone="0117 496 0123",
        postcode="BS6 5AA",
        address_line1="3 Cotham Hill",
        city="Bristol",
        marketing_consent=True,
        consent_channel="email",
        id_check_status="passed",
        id_check_date="2026-03-01",
    )
    applicant = await make_applicant(session, admin, contact=dup)
    prop = await make_property(session, admin, owner_contact_id=dup.id)
    viewing_prop = await make_property(session, admin, address_line1="9 Hill Lane")
    viewing = await make_viewing(
        session, admin, property_id=viewing_prop.id, applicant_id=applicant.id, start_at=SOON
    )
    # Both attend another viewing: after the merge the kept contact is listed once.
    other_applicant = await make_applicant(session, admin)
    shared = await make_viewing(
        session,
        admin,
        property_id=viewing_prop.id,
        applicant_id=other_applicant.id,
        start_at=datetime(2031, 5, 7, 9, 0, tzinfo=UTC),
        attendee_contact_ids=[kept.id, dup.id],
    )

    r = await client.post(f"{API}/{kept.id}/merge", json={"other_id": dup.id}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["removed_id"] == dup.id
    assert body["moved"] == {
        "consent_changes": 1,
        "applicants": 1,
        "viewings_attended": 1,
        "properties_owned": 1,
    }
    merged = body["contact"]
    assert merged["roles"] == ["applicant", "landlord"]
    assert merged["email"] == "priya@example.com"  # the kept contact's own e-mail stays
    assert merged["phone"] == "+441174960123"  # blanks are filled from the duplicate
    assert merged["postcode"] == "BS6 5AA" and merged["city"] == "Bristol"
    assert merged["marketing_consent"] is True
    assert merged["id_check_status"] == "passed" and merged["id_check_date"] == "2026-03-01"
    assert "p.shah@example.com" in merged["notes"] and "Met at valuation" in merged["notes"]

    assert (await client.get(f"{API}/{dup.id}", headers=headers)).status_code == 404
    got = (await client.get(f"/api/v1/applicants/{applicant.id}", headers=headers)).json()
    assert got["contact_id"] == kept.id
    assert (await client.get(f"/api/v1/properties/{prop.id}", headers=headers)).json()[
        "owner_contact_id"
    ] == kept.id
    v = (await client.get(f"/api/v1/viewings/{viewing.id}", headers=headers)).json()
    assert v["applicant"]["contact"]["id"] == kept.id
    assert [a["id"] for a in v["attendees"]] == [kept.id]
    attendees = (
        await session.scalars(
            select(ViewingAttendee.contact_id).where(ViewingAttendee.viewing_id == shared.id)
        )
    ).all()
    assert sorted(attendees) == sorted({kept.id, other_applicant.contact_id})
    consent = (
        await session.scalars(select(ConsentChange).where(ConsentChange.contact_id == kept.id))
    ).all()
    assert len(consent) == 1
    timeline = (await client.get(f"{API}/{kept.id}/activity?limit=100", headers=headers)).json()
    actions = [a["action"] for a in timeline["items"]]
    assert actions[0] == "merged"
    # The duplicate's own history now sits on the kept contact's timeline.
    assert actions.count("created") == 2
    left = await session.scalar(
        select(Activity).where(Activity.entity_type == "contact", Activity.entity_id == dup.id)
    )
    assert left is None


async def test_merge_refusals(client: Any, session: Any, admin: Any, headers: Any) -> None:
    a = await make_contact(session, admin)
    r = await client.post(f"{API}/{a.id}/merge", json={"other_id": a.id}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "other_id"
    r = await client.post(f"{API}/{a.id}/merge", json={"other_id": 999_999}, headers=headers)
    assert r.status_code == 404
    r = await client.post(f"{API}/{a.id}/merge", json={}, headers=headers)
    assert r.status_code == 422


async def test_merge_keeps_the_latest_consent_decision(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    older = await make_contact(
        session, admin, email="a@example.com", marketing_consent=True, consent_channel="letter"
    )
    newer = await make_contact(session, admin, email="b@example.com", phone=None)
    r = await client.patch(
        f"{API}/{newer.id}",
        json={"marketing_consent": True, "consent_channel": "phone"},
        headers=headers,
    )
    assert r.status_code == 200
    r = await client.patch(
        f"{API}/{newer.id}",
        json={"marketing_consent": False, "consent_channel": "email"},
        headers=headers,
    )
    r = await client.post(f"{API}/{older.id}/merge", json={"other_id": newer.id}, headers=headers)
    assert r.status_code == 200
    # The person withdrew consent most recently: that decision stands.
    assert r.json()["contact"]["marketing_consent"] is False
    history = (await client.get(f"{API}/{older.id}/consent", headers=headers)).json()
    assert [h["channel"] for h in history] == ["email", "phone", "letter"]


async def test_duplicates_report(
    client: Any, session: Any, admin: Any, headers: Any, other_headers: Any
) -> None:
    same_email_a = await make_contact(
        session, admin, first_name="Amy", email="amy@example.com", phone=None
    )
    same_email_b = await make_contact(
        session, admin, first_name="Amelia", email="amy@example.com", phone=None
    )
    phone_a = await make_contact(
        session, admin, first_name="Ben", email=None, phone="0117 496 0001"
    )
    phone_b = await make_contact(
        session, admin, first_name="Benjamin", email="ben@example.com", phone="+44 117 496 0001"
    )
    name_a = await make_contact(
        session, admin, first_name="Carl", last_name="Ng", email=None, phone=None
    )
    name_b = await make_contact(
        session, admin, first_name="carl", last_name="NG", email="carl@example.com", phone=None
    )
    # Same name but different e-mails: two different people, not reported.
    await make_contact(
        session, admin, first_name="Dan", last_name="Lee", email="d1@example.com", phone=None
    )
    await make_contact(
        session, admin, first_name="Dan", last_name="Lee", email="d2@example.com", phone=None
    )
    # Another agency's twin of Amy is never paired with ours.
    r = await client.post(
        API, json=contact_payload(first_name="Amy", email="amy@example.com"), headers=other_headers
    )
    assert r.status_code == 201

    r = await client.get(f"{API}/duplicates", headers=headers)
    assert r.status_code == 200, r.text
    report = r.json()
    pairs = {(p["contact"]["id"], p["other"]["id"]): p for p in report["items"]}
    assert set(pairs) == {
        (same_email_a.id, same_email_b.id),
        (phone_a.id, phone_b.id),
        (name_a.id, name_b.id),
    }
    assert report["total"] == 3
    assert pairs[(same_email_a.id, same_email_b.id)]["reasons"] == ["Same email amy@example.com"]
    assert pairs[(phone_a.id, phone_b.id)]["reasons"] == ["Same phone +441174960001"]
    assert pairs[(name_a.id, name_b.id)]["reasons"] == ["Same name Carl Ng"]
    # Strongest evidence first.
    assert report["items"][-1]["contact"]["id"] == name_a.id
    other_report = (await client.get(f"{API}/duplicates", headers=other_headers)).json()
    assert other_report["total"] == 0
