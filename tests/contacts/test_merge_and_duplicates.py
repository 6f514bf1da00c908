"""Merging duplicate contacts moves every reference in one transaction; the report finds pairs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from estatecrm.activity.models import Activity
from estatecrm.contacts.models import ConsentChange
from estatecrm.tasks.models import Task
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
        # The back office's references (offers, tenancies, ...): none for this pair.
        "offers": 0,
        "tenancies": 0,
        "right_to_rent_checks": 0,
        "sales": 0,
        "maintenance_jobs": 0,
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


async def _back_office_of(client: Any, session: Any, admin: Any, headers: Any, person: Any) -> Any:
    """`person` made offers, rents a flat (checked for right to rent), buys a house and
    did a repair: the records a contact must not lose."""
    landlord = await make_contact(session, admin, first_name="Lena", last_name="Lord")
    flat = await make_property(session, admin, price_pence=120_000, owner_contact_id=landlord.id)
    renting = await make_applicant(session, admin, person)
    offer = (
        await client.post(
            "/api/v1/offers",
            json={
                "property_id": flat.id,
                "applicant_id": renting.id,
                "amount_pence": 120_000,
                "proposed_move_in_date": "2031-06-01",
                "proposed_term_months": 12,
            },
            headers=headers,
        )
    ).json()
    assert (await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=headers)).is_success
    tenancy = await client.post(
        f"/api/v1/offers/{offer['id']}/tenancy", params={"on": "2031-05-20"}, headers=headers
    )
    assert tenancy.status_code == 201, tenancy.text
    tid = tenancy.json()["id"]
    check = await client.post(
        f"/api/v1/tenancies/{tid}/right-to-rent-checks",
        json={
            "contact_id": person.id,
            "check_date": "2031-05-25",
            "document_type": "Share code",
            "result": "time_limited",
            "expiry_date": "2032-08-31",
        },
        headers=headers,
    )
    assert check.status_code == 201, check.text
    house = await make_property(
        session, admin, marketing_type="sale", price_pence=30_000_000, address_line1="9 Buy Row"
    )
    buying = await make_applicant(
        session, admin, person, marketing_type="sale", min_price_pence=None, max_price_pence=None
    )
    bid = (
        await client.post(
            "/api/v1/offers",
            json={"property_id": house.id, "applicant_id": buying.id, "amount_pence": 29_000_000},
            headers=headers,
        )
    ).json()
    assert (await client.post(f"/api/v1/offers/{bid['id']}/accept", headers=headers)).is_success
    job = await client.post(
        "/api/v1/maintenance",
        json={"property_id": flat.id, "title": "Fix tap", "contractor_contact_id": person.id},
        headers=headers,
    )
    assert job.status_code == 201, job.text
    return tid, job.json()["id"], house.id


async def test_merge_moves_offers_tenancies_checks_sales_and_jobs(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    kept = await make_contact(session, admin, first_name="Jane", last_name="Doe")
    other = await make_contact(
        session,
        admin,
        first_name="Jane",
        last_name="Doe",
        email="jane.other@example.com",
        phone="07911 123457",
        id_check_status="passed",
    )
    tid, job_id, house_id = await _back_office_of(client, session, admin, headers, other)

    # Deleting the duplicate would take its legal records with it: refused, with the reasons.
    refused = await client.delete(f"{API}/{other.id}", headers=headers)
    assert refused.status_code == 409
    assert set(refused.json()["detail"]["reasons"]) == {
        "2 offers",
        "1 tenancy",
        "1 right-to-rent check",
        "1 sale",
        "1 maintenance job",
    }
    assert "merge" in refused.json()["error"]

    r = await client.post(f"{API}/{kept.id}/merge", json={"other_id": other.id}, headers=headers)
    assert r.status_code == 200, r.text
    moved = r.json()["moved"]
    assert moved["offers"] == 2 and moved["tenancies"] == 1 and moved["sales"] == 1
    assert moved["right_to_rent_checks"] == 1 and moved["maintenance_jobs"] == 1
    assert (await client.get(f"{API}/{other.id}", headers=headers)).status_code == 404

    tenancy = (await client.get(f"/api/v1/tenancies/{tid}", headers=headers)).json()
    assert tenancy["tenant_contact_ids"] == [kept.id] and tenancy["tenant_names"] == ["Jane Doe"]
    checks = (
        await client.get(f"/api/v1/tenancies/{tid}/right-to-rent-checks", headers=headers)
    ).json()
    assert [c["contact_id"] for c in checks] == [kept.id]
    task = await session.scalar(
        select(Task).where(Task.open_rule_key == f"right-to-rent-follow-up:{tid}:{kept.id}")
    )
    assert task is not None and str(task.due_date) == "2032-08-31"
    offers = (await client.get("/api/v1/offers", headers=headers)).json()["items"]
    assert {o["contact_id"] for o in offers} == {kept.id}
    sale = await client.get("/api/v1/sales", params={"property_id": house_id}, headers=headers)
    assert sale.json()["items"][0]["buyer_contact_id"] == kept.id
    job = (await client.get(f"/api/v1/maintenance/{job_id}", headers=headers)).json()
    assert job["contractor_contact_id"] == kept.id
    # Now the kept contact is theirs: deleting it is refused for the same reasons.
    assert (await client.delete(f"{API}/{kept.id}", headers=headers)).status_code == 409


async def test_merge_refused_when_one_person_would_have_two_checks_on_a_day(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    """Entered twice as tenants of one tenancy and checked twice on the same day: 409 naming
    the tenancy and day, and nothing is changed."""
    prop = await make_property(session, admin)
    a = await make_contact(session, admin, first_name="Sam", last_name="Twice")
    b = await make_contact(session, admin, first_name="Sam", last_name="Twice")
    r = await client.post(
        "/api/v1/tenancies",
        json={
            "property_id": prop.id,
            "tenant_contact_ids": [a.id, b.id],
            "start_date": "2031-06-01",
            "rent_pence": 120_000,
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    for person in (a, b):
        check = await client.post(
            f"/api/v1/tenancies/{tid}/right-to-rent-checks",
            json={
                "contact_id": person.id,
                "check_date": "2031-05-25",
                "document_type": "Passport",
                "result": "passed",
            },
            headers=headers,
        )
        assert check.status_code == 201, check.text
    refused = await client.post(f"{API}/{a.id}/merge", json={"other_id": b.id}, headers=headers)
    assert refused.status_code == 409
    assert f"tenancy #{tid} on 25 May 2031" in refused.json()["error"]
    assert (await client.get(f"{API}/{b.id}", headers=headers)).status_code == 200
    tenancy = (await client.get(f"/api/v1/tenancies/{tid}", headers=headers)).json()
    assert tenancy["tenant_contact_ids"] == [a.id, b.id]
