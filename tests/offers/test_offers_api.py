"""Offers through the JSON API: decisions, the accept transaction, UK rules, isolation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from estatecrm.activity.models import Activity
from estatecrm.auth.models import Agency
from tests.builders import make_applicant, make_contact, make_property

API = "/api/v1/offers"


async def _offer(client: Any, headers: Any, **body: Any) -> dict[str, Any]:
    r = await client.post(API, json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _letting(session: Any, admin: Any, **kw: Any) -> tuple[Any, Any, Any]:
    prop = await make_property(session, admin, price_pence=120_000, **kw)
    a1 = await make_applicant(session, admin, await make_contact(session, admin, first_name="Ann"))
    a2 = await make_applicant(session, admin, await make_contact(session, admin, first_name="Bob"))
    return prop, a1, a2


async def _sale(session: Any, admin: Any, id_check: str = "passed") -> tuple[Any, Any]:
    prop = await make_property(
        session, admin, marketing_type="sale", price_pence=30_000_000, address_line1="3 Oak Row"
    )
    buyer = await make_contact(session, admin, first_name="Cara", id_check_status=id_check)
    applicant = await make_applicant(
        session, admin, buyer, marketing_type="sale", min_price_pence=None, max_price_pence=None
    )
    return prop, applicant


async def test_accept_lets_agreed_rejects_the_rest_and_tells_each_applicant(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    prop, a1, a2 = await _letting(session, admin)
    first = await _offer(
        client,
        headers,
        property_id=prop.id,
        applicant_id=a1.id,
        amount_pence=115_000,
        proposed_move_in_date="2026-07-01",
        proposed_term_months=12,
    )
    assert first["status"] == "pending" and first["applicant_name"] == "Ann Shah"
    assert first["asking_pence"] == 120_000 and first["marketing_type"] == "letting"
    second = await _offer(
        client, headers, property_id=prop.id, applicant_id=a2.id, amount_pence=110_000
    )
    r = await client.post(f"{API}/{first['id']}/accept", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted" and r.json()["decided_at"]
    prop_now = (await client.get(f"/api/v1/properties/{prop.id}", headers=headers)).json()
    assert prop_now["status"] == "let_agreed" and prop_now["status_changed_at"]
    other = (await client.get(f"{API}/{second['id']}", headers=headers)).json()
    assert other["status"] == "rejected" and other["reason"] == "another offer accepted"
    for applicant_id, action in ((a1.id, "offer_accepted"), (a2.id, "offer_rejected")):
        rows = await session.scalars(
            select(Activity.action).where(
                Activity.entity_type == "applicant", Activity.entity_id == applicant_id
            )
        )
        assert action in list(rows)
    again = await client.post(f"{API}/{second['id']}/accept", headers=headers)
    assert again.status_code == 409
    timeline = (await client.get(f"{API}/{first['id']}/activity", headers=headers)).json()
    assert [a["action"] for a in timeline["items"]] == ["accepted", "created"]
    # The property no longer takes offers.
    late = await client.post(
        API,
        json={"property_id": prop.id, "applicant_id": a2.id, "amount_pence": 100_000},
        headers=headers,
    )
    assert late.status_code == 409


async def test_rental_bidding_is_refused(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    prop, a1, _ = await _letting(session, admin)
    offer = await _offer(
        client, headers, property_id=prop.id, applicant_id=a1.id, amount_pence=130_000
    )
    r = await client.post(f"{API}/{offer['id']}/accept", headers=headers)
    assert r.status_code == 409
    assert "Renters' Rights Act" in r.json()["error"] and "£1,200 pcm" in r.json()["error"]
    prop_now = (await client.get(f"/api/v1/properties/{prop.id}", headers=headers)).json()
    assert prop_now["status"] == "available"
    countered = await client.post(
        f"{API}/{offer['id']}/counter", json={"counter_amount_pence": 125_000}, headers=headers
    )
    assert countered.status_code == 422 and countered.json()["field"] == "counter_amount_pence"


async def test_counter_then_accept_at_the_counter_amount(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    prop, a1, _ = await _letting(session, admin)
    offer = await _offer(
        client, headers, property_id=prop.id, applicant_id=a1.id, amount_pence=100_000
    )
    r = await client.post(
        f"{API}/{offer['id']}/counter",
        json={"counter_amount_pence": 115_000, "reason": "Landlord wants more"},
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "countered"
    accepted = await client.post(f"{API}/{offer['id']}/accept", headers=headers)
    assert accepted.status_code == 200
    assert accepted.json()["amount_pence"] == 115_000


async def test_sales_offer_needs_the_buyers_aml_check(
    client: Any, session: Any, admin: Any, headers: Any, agency: Any
) -> None:
    prop, applicant = await _sale(session, admin, id_check="pending")
    offer = await _offer(
        client, headers, property_id=prop.id, applicant_id=applicant.id, amount_pence=29_500_000
    )
    r = await client.post(f"{API}/{offer['id']}/accept", headers=headers)
    assert r.status_code == 409
    assert "ID check is pending" in r.json()["error"] and "AML" in r.json()["error"]
    agency_row = await session.get(Agency, agency.id)
    agency_row.require_aml_for_offers = False
    await session.flush()
    r = await client.post(f"{API}/{offer['id']}/accept", headers=headers)
    assert r.status_code == 200, r.text
    prop_now = (await client.get(f"/api/v1/properties/{prop.id}", headers=headers)).json()
    assert prop_now["status"] == "under_offer"


async def test_sales_offer_with_passed_check_goes_under_offer(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    prop, applicant = await _sale(session, admin)
    offer = await _offer(
        client, headers, property_id=prop.id, applicant_id=applicant.id, amount_pence=29_000_000
    )
    r = await client.post(f"{API}/{offer['id']}/accept", headers=headers)
    assert r.status_code == 200
    prop_now = (await client.get(f"/api/v1/properties/{prop.id}", headers=headers)).json()
    assert prop_now["status"] == "under_offer"


async def test_reject_needs_a_reason_and_withdraw_closes(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    prop, a1, a2 = await _letting(session, admin)
    one = await _offer(client, headers, property_id=prop.id, applicant_id=a1.id, amount_pence=9)
    two = await _offer(client, headers, property_id=prop.id, applicant_id=a2.id, amount_pence=9)
    r = await client.post(f"{API}/{one['id']}/reject", json={"reason": ""}, headers=headers)
    assert r.status_code == 422
    r = await client.post(f"{API}/{one['id']}/reject", json={"reason": "Too low"}, headers=headers)
    assert r.json()["status"] == "rejected" and r.json()["reason"] == "Too low"
    r = await client.post(f"{API}/{two['id']}/withdraw", json={}, headers=headers)
    assert r.json()["status"] == "withdrawn"
    assert (await client.post(f"{API}/{two['id']}/accept", headers=headers)).status_code == 409
    listed = (await client.get(API, params={"status": "rejected"}, headers=headers)).json()
    assert [o["id"] for o in listed["items"]] == [one["id"]]
    amended = await client.patch(f"{API}/{one['id']}", json={"amount_pence": 10}, headers=headers)
    assert amended.status_code == 409


async def test_validation(client: Any, session: Any, admin: Any, headers: Any) -> None:
    prop, a1, _ = await _letting(session, admin)
    _, sale_applicant = await _sale(session, admin)
    bad = [
        ({"property_id": prop.id, "applicant_id": a1.id, "amount_pence": 0}, "amount_pence"),
        ({"property_id": 999_999, "applicant_id": a1.id, "amount_pence": 5}, "property_id"),
        ({"property_id": prop.id, "applicant_id": 999_999, "amount_pence": 5}, "applicant_id"),
        (
            {"property_id": prop.id, "applicant_id": sale_applicant.id, "amount_pence": 5},
            "applicant_id",
        ),
    ]
    for body, field in bad:
        r = await client.post(API, json=body, headers=headers)
        assert r.status_code == 422, body
        assert field in r.text


async def test_tenant_isolation(
    client: Any, session: Any, admin: Any, headers: Any, other_headers: Any
) -> None:
    prop, a1, _ = await _letting(session, admin)
    offer = await _offer(client, headers, property_id=prop.id, applicant_id=a1.id, amount_pence=9)
    oid = offer["id"]
    assert (await client.get(f"{API}/{oid}", headers=other_headers)).status_code == 404
    assert (await client.get(f"{API}/{oid}/activity", headers=other_headers)).status_code == 404
    for action, body in (
        ("accept", None),
        ("reject", {"reason": "x"}),
        ("withdraw", {}),
        ("counter", {"counter_amount_pence": 5}),
    ):
        r = await client.post(f"{API}/{oid}/{action}", json=body, headers=other_headers)
        assert r.status_code == 404, action
    r = await client.patch(f"{API}/{oid}", json={"amount_pence": 8}, headers=other_headers)
    assert r.status_code == 404
    listed = (await client.get(API, headers=other_headers)).json()
    assert listed["total"] == 0
    r = await client.post(
        API,
        json={"property_id": prop.id, "applicant_id": a1.id, "amount_pence": 5},
        headers=other_headers,
    )
    assert r.status_code == 422
    for path in (f"/properties/{prop.id}/offers", f"/applicants/{a1.id}/offers", f"/offers/{oid}"):
        assert (await client.get(path, headers=other_headers)).status_code == 404
    assert (await client.get(f"{API}/{oid}")).status_code == 401


async def test_a_property_that_took_offers_cannot_be_deleted(
    client: Any, session: Any, admin: Any, headers: Any, other_headers: Any
) -> None:
    """The record of offers put to the landlord outlives the listing, withdrawn ones included."""
    prop, a1, _ = await _letting(session, admin)
    offer = await _offer(
        client, headers, property_id=prop.id, applicant_id=a1.id, amount_pence=115_000
    )
    withdrawn = await client.post(f"{API}/{offer['id']}/withdraw", headers=headers)  # no body
    assert withdrawn.status_code == 200, withdrawn.text
    url = f"/api/v1/properties/{prop.id}"
    assert (await client.delete(url, headers=other_headers)).status_code == 404
    refused = await client.delete(url, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["detail"]["reasons"] == ["it has 1 offer on record"]
    assert (await client.get(f"{API}/{offer['id']}", headers=headers)).status_code == 200
    # Without offers it goes.
    empty = await make_property(session, admin, address_line1="4 Oak Row")
    assert (
        await client.delete(f"/api/v1/properties/{empty.id}", headers=headers)
    ).status_code == 204
