"""Sales progression through the JSON API: created on acceptance, milestones, exchange and
completion, chain, fall-through, isolation. Dates are fixed (`?on=`)."""

from __future__ import annotations

from typing import Any

from tests.builders import PASSWORD, make_applicant, make_contact, make_property

API = "/api/v1/sales"


async def _agreed_sale(
    client: Any, session: Any, admin: Any, headers: Any, street: str = "5 Vendor Way"
) -> dict[str, Any]:
    vendor = await make_contact(session, admin, first_name="Vic", last_name="Vendor")
    prop = await make_property(
        session,
        admin,
        marketing_type="sale",
        price_pence=35_000_000,
        address_line1=street,
        owner_contact_id=vendor.id,
    )
    buyer = await make_contact(
        session, admin, first_name="Bea", last_name="Buyer", id_check_status="passed"
    )
    applicant = await make_applicant(
        session, admin, buyer, marketing_type="sale", min_price_pence=None, max_price_pence=None
    )
    offer = (
        await client.post(
            "/api/v1/offers",
            json={"property_id": prop.id, "applicant_id": applicant.id, "amount_pence": 34_000_000},
            headers=headers,
        )
    ).json()
    assert (await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=headers)).is_success
    listed = (await client.get(API, params={"property_id": prop.id}, headers=headers)).json()
    assert listed["total"] == 1
    return dict(listed["items"][0])


async def test_accepting_a_sales_offer_opens_progression(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    sale = await _agreed_sale(client, session, admin, headers)
    assert sale["status"] == "in_progress" and sale["agreed_price_pence"] == 34_000_000
    assert sale["buyer_name"] == "Bea Buyer" and sale["vendor_name"] == "Vic Vendor"
    assert sale["progress_percent"] == 0 and len(sale["milestones"]) == 10
    sid, agreed = sale["id"], sale["agreed_date"]
    r = await client.patch(
        f"{API}/{sid}",
        json={"buyer_solicitor_name": "Sam Law", "buyer_solicitor_firm": "Law & Co"},
        headers=headers,
    )
    assert r.json()["buyer_solicitor_firm"] == "Law & Co"
    url = f"{API}/{sid}/milestones"
    r = await client.put(f"{url}/memorandum_sent", json={"done_date": agreed}, headers=headers)
    assert r.json()["progress_percent"] == 10
    r = await client.put(f"{url}/completion", json={"done_date": agreed}, headers=headers)
    assert r.status_code == 409 and "exchange" in r.json()["error"]
    r = await client.put(
        f"{url}/searches_ordered", json={"done_date": "2000-01-01"}, headers=headers
    )
    assert r.status_code == 422 and r.json()["field"] == "done_date"
    r = await client.put(f"{url}/exchange", json={"done_date": agreed}, headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "exchanged"
    offer = (await client.get(f"/api/v1/offers/{sale['offer_id']}", headers=headers)).json()
    search = f"/api/v1/applicants/{offer['applicant_id']}"
    assert (await client.get(search, headers=headers)).json()["status"] == "hot"
    prop = (await client.get(f"/api/v1/properties/{sale['property_id']}", headers=headers)).json()
    assert prop["status"] == "sold_stc"
    r = await client.post(f"{API}/{sid}/fall-through", json={"reason": "x"}, headers=headers)
    assert r.status_code == 409
    r = await client.put(f"{url}/completion", json={"done_date": agreed}, headers=headers)
    assert r.json()["status"] == "completed" and r.json()["completed_date"] == agreed
    prop = (await client.get(f"/api/v1/properties/{sale['property_id']}", headers=headers)).json()
    assert prop["status"] == "sold"
    assert r.json()["progress_percent"] == 30
    # The buyer has bought: their search is archived, so matching stops offering them more.
    assert (await client.get(search, headers=headers)).json()["status"] == "archived"
    said = (await client.get(f"{search}/activity", headers=headers)).json()["items"][0]
    assert (
        said["summary"]
        == f"Search archived: bought 5 Vendor Way, Southampton (sale #{sid} completed)"
    )
    timeline = (await client.get(f"{API}/{sid}/activity", headers=headers)).json()
    assert timeline["total"] == 5


async def test_the_offer_names_the_sale_that_followed(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    sale = await _agreed_sale(client, session, admin, headers)
    offer = (await client.get(f"/api/v1/offers/{sale['offer_id']}", headers=headers)).json()
    assert offer["sale_id"] == sale["id"] and offer["tenancy_id"] is None
    listed = await client.get(
        "/api/v1/offers", params={"property_id": sale["property_id"]}, headers=headers
    )
    assert [(o["id"], o["sale_id"]) for o in listed.json()["items"]] == [(offer["id"], sale["id"])]
    await client.post("/login", data={"email": admin.email, "password": PASSWORD})
    page = await client.get(f"/offers/{offer['id']}")
    assert f'href="/sales/{sale["id"]}"' in page.text


async def test_overdue_milestones_and_days_since_agreed(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    sale = await _agreed_sale(client, session, admin, headers)
    sid = sale["id"]
    r = await client.put(
        f"{API}/{sid}/milestones/searches_received",
        json={"target_date": "2099-01-01"},
        headers=headers,
    )
    assert r.status_code == 200
    later = (await client.get(f"{API}/{sid}", params={"on": "2099-01-31"}, headers=headers)).json()
    searches = next(m for m in later["milestones"] if m["milestone"] == "searches_received")
    assert searches["overdue"] is True and searches["target_date"] == "2099-01-01"
    assert later["days_since_agreed"] > 20_000


async def test_fall_through_returns_property_and_keeps_history(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    sale = await _agreed_sale(client, session, admin, headers)
    r = await client.post(
        f"{API}/{sale['id']}/fall-through",
        json={"reason": "Buyer's mortgage refused"},
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "fallen_through"
    assert r.json()["fall_through_reason"] == "Buyer's mortgage refused"
    prop = (await client.get(f"/api/v1/properties/{sale['property_id']}", headers=headers)).json()
    assert prop["status"] == "available"
    assert (await client.get(f"{API}/{sale['id']}", headers=headers)).status_code == 200
    r = await client.put(
        f"{API}/{sale['id']}/milestones/survey", json={"done_date": "2099-01-01"}, headers=headers
    )
    assert r.status_code == 409
    empty = await client.post(
        f"{API}/{sale['id']}/fall-through", json={"reason": ""}, headers=headers
    )
    assert empty.status_code == 422


async def test_a_property_with_a_sale_cannot_be_deleted(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    """The sale's records (the buyer's AML check among them) must be kept, even after the sale
    fell through; the property page says why next to the Delete button."""
    sale = await _agreed_sale(client, session, admin, headers)
    await client.post(
        f"{API}/{sale['id']}/fall-through", json={"reason": "Chain broke"}, headers=headers
    )
    url = f"/api/v1/properties/{sale['property_id']}"
    refused = await client.delete(url, headers=headers)
    assert refused.status_code == 409
    reasons = set(refused.json()["detail"]["reasons"])
    assert reasons == {"it has 1 sale on record", "it has 1 offer on record"}
    assert (await client.get(f"{API}/{sale['id']}", headers=headers)).status_code == 200
    # The same through the page (admin session): the reason is shown by the button.
    r = await client.post(
        "/login", data={"email": admin.email, "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 303
    page = await client.post(f"/properties/{sale['property_id']}/delete")
    assert page.status_code == 409
    assert 'id="delete-error"' in page.text and "1 sale on record" in page.text
    assert (await client.get(url, headers=headers)).status_code == 200


async def test_chain_view(client: Any, session: Any, admin: Any, headers: Any) -> None:
    middle = await _agreed_sale(client, session, admin, headers, "1 Middle St")
    lower = await _agreed_sale(client, session, admin, headers, "2 Lower St")
    r = await client.post(
        f"{API}/{middle['id']}/chain-links",
        json={"direction": "downward", "linked_sale_id": lower["id"]},
        headers=headers,
    )
    assert r.status_code == 201
    r = await client.post(
        f"{API}/{middle['id']}/chain-links",
        json={
            "direction": "upward",
            "description": "Vendor buying 9 Top Rd via Elm Agents",
            "external_status": "searches back",
        },
        headers=headers,
    )
    assert r.status_code == 201
    dup = await client.post(
        f"{API}/{middle['id']}/chain-links",
        json={"direction": "upward", "description": "again"},
        headers=headers,
    )
    assert dup.status_code == 409
    bad = await client.post(
        f"{API}/{lower['id']}/chain-links", json={"direction": "upward"}, headers=headers
    )
    assert bad.status_code == 422 and bad.json()["field"] == "description"
    chain = (await client.get(f"{API}/{middle['id']}/chain", headers=headers)).json()
    assert [c["label"].split(",")[0] for c in chain] == [
        "Vendor buying 9 Top Rd via Elm Agents",
        "1 Middle St",
        "2 Lower St",
    ]
    assert chain[0]["status"] == "searches back" and chain[1]["this_sale"] is True
    assert [c["position"] for c in chain] == [1, 2, 3]
    link_id = r.json()["chain_links"][-1]["id"]
    assert (
        await client.delete(f"{API}/{middle['id']}/chain-links/{link_id}", headers=headers)
    ).status_code == 204


async def test_tenant_isolation(
    client: Any, session: Any, admin: Any, headers: Any, other_headers: Any
) -> None:
    sale = await _agreed_sale(client, session, admin, headers)
    sid = sale["id"]
    for path in (f"{API}/{sid}", f"{API}/{sid}/chain", f"{API}/{sid}/activity", f"/sales/{sid}"):
        assert (await client.get(path, headers=other_headers)).status_code == 404, path
    assert (await client.patch(f"{API}/{sid}", json={}, headers=other_headers)).status_code == 404
    r = await client.put(f"{API}/{sid}/milestones/survey", json={}, headers=other_headers)
    assert r.status_code == 404
    r = await client.post(f"{API}/{sid}/fall-through", json={"reason": "x"}, headers=other_headers)
    assert r.status_code == 404
    r = await client.post(
        f"{API}/{sid}/chain-links",
        json={"direction": "upward", "description": "x"},
        headers=other_headers,
    )
    assert r.status_code == 404
    assert (
        await client.delete(f"{API}/{sid}/chain-links/1", headers=other_headers)
    ).status_code == 404
    assert (await client.get(API, headers=other_headers)).json()["total"] == 0
    own = await _agreed_sale(client, session, admin, headers, "7 Own St")
    r = await client.post(
        f"{API}/{own['id']}/chain-links",
        json={"direction": "downward", "linked_sale_id": 999_999},
        headers=headers,
    )
    assert r.status_code == 422
