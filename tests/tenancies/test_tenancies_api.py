"""Tenancies through the JSON API: deposits, right to rent, activation, rent, ending.

Every date rule is judged on a fixed day (`?on=` or the activation's `on_date`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from estatecrm.compliance import service as compliance_service
from estatecrm.tasks.models import Task
from tests.builders import PASSWORD, make_applicant, make_contact, make_property
from tests.compliance.builders import make_certificate

API = "/api/v1/tenancies"
ON = "2026-06-01"


async def _certs(session: Any, user: Any, prop: Any, gas: bool = True) -> None:
    if gas:
        await make_certificate(session, user, prop, type="gas_safety", issued_date="2026-05-01")
    await make_certificate(session, user, prop, type="eicr", issued_date="2025-01-10")
    await make_certificate(session, user, prop, type="epc", issued_date="2024-03-01", rating="C")


async def _accepted_offer(client: Any, session: Any, admin: Any, headers: Any) -> tuple[Any, Any]:
    landlord = await make_contact(session, admin, first_name="Lena", last_name="Lord")
    prop = await make_property(session, admin, price_pence=120_000, owner_contact_id=landlord.id)
    tenant = await make_contact(session, admin, first_name="Tom", last_name="Tenant")
    applicant = await make_applicant(session, admin, tenant)
    r = await client.post(
        "/api/v1/offers",
        json={
            "property_id": prop.id,
            "applicant_id": applicant.id,
            "amount_pence": 120_000,
            "proposed_move_in_date": "2026-06-01",
            "proposed_term_months": 12,
        },
        headers=headers,
    )
    offer = r.json()
    assert (await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=headers)).is_success
    return prop, offer


async def _tenancy_with_deposit(client: Any, offer: Any, headers: Any) -> Any:
    r = await client.post(
        f"/api/v1/offers/{offer['id']}/tenancy",
        params={"on": ON},
        json={"deposit_pence": 138_461, "deposit_received_date": "2026-05-20"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return r


async def test_from_offer_deposit_right_to_rent_activate_and_end(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    prop, offer = await _accepted_offer(client, session, admin, headers)
    r = await _tenancy_with_deposit(client, offer, headers)
    t = r.json()
    assert t["property_id"] == prop.id and t["tenant_names"] == ["Tom Tenant"]
    assert t["landlord_contact_id"] == prop.owner_contact_id
    assert t["term"] == "fixed" and t["start_date"] == "2026-06-01"
    assert t["end_date"] == "2027-05-31" and t["rent_pence"] == 120_000
    assert t["deposit_cap_pence"] == 138_461  # five weeks of £1,200 pcm, rounded down
    assert t["deposit_protection_deadline"] == "2026-06-18" and t["deposit_overdue"] is False
    assert t["status"] == "proposed"
    task = await session.scalar(
        select(Task).where(Task.rule_key == f"deposit-protection:{t['id']}")
    )
    assert task is not None and str(task.due_date) == "2026-06-18" and task.entity_type == "tenancy"
    # A second tenancy for the same offer is refused.
    again = await client.post(f"/api/v1/offers/{offer['id']}/tenancy", headers=headers)
    assert again.status_code == 409
    # Overdue from the day after the deadline, everywhere it appears (the list filters in SQL).
    for day, overdue in (("2026-06-18", False), ("2026-06-19", True)):
        one = await client.get(f"{API}/{t['id']}", params={"on": day}, headers=headers)
        assert one.json()["deposit_overdue"] is overdue
        listed = await client.get(
            API, params={"on": day, "deposit_overdue": "true"}, headers=headers
        )
        assert [x["id"] for x in listed.json()["items"]] == ([t["id"]] if overdue else [])
    # Activation refused: no right-to-rent check and no certificates.
    refused = await client.post(f"{API}/{t['id']}/activate", json={"on_date": ON}, headers=headers)
    assert refused.status_code == 409
    missing = refused.json()["detail"]["missing"]
    assert "Right to rent: no check recorded for Tom Tenant" in missing
    assert any(m.startswith("Gas safety") for m in missing)
    assert any(m.startswith("EICR") for m in missing)
    tenant_id = t["tenant_contact_ids"][0]
    check = await client.post(
        f"{API}/{t['id']}/right-to-rent-checks",
        json={
            "contact_id": tenant_id,
            "check_date": "2026-05-25",
            "document_type": "Biometric residence permit",
            "result": "time_limited",
            "expiry_date": "2027-08-31",
        },
        headers=headers,
    )
    assert check.status_code == 201, check.text
    # Follow-up: the later of the expiry and a year after the check.
    assert check.json()["follow_up_date"] == "2027-08-31"
    rtr_task = await session.scalar(
        select(Task).where(Task.rule_key == f"right-to-rent-follow-up:{t['id']}:{tenant_id}")
    )
    assert rtr_task is not None and str(rtr_task.due_date) == "2027-08-31"
    await _certs(session, admin, await session.merge(prop))
    search = f"/api/v1/applicants/{offer['applicant_id']}"
    assert (await client.get(search, headers=headers)).json()["status"] != "archived"
    ok = await client.post(f"{API}/{t['id']}/activate", json={"on_date": ON}, headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "active"
    # The tenant has moved in: their search is archived, so matching stops offering them more.
    assert (await client.get(search, headers=headers)).json()["status"] == "archived"
    said = (await client.get(f"{search}/activity", headers=headers)).json()["items"][0]
    assert said["summary"].startswith(f"Search archived: moved into {prop.address_line1}")
    assert (await client.get(f"/api/v1/properties/{prop.id}", headers=headers)).json()[
        "status"
    ] == "let"
    # Protecting the deposit completes the task.
    protected = await client.patch(
        f"{API}/{t['id']}",
        params={"on": "2026-06-20"},
        json={
            "deposit_protected_date": "2026-06-10",
            "deposit_scheme": "dps",
            "deposit_reference": "DPS-1",
        },
        headers=headers,
    )
    assert protected.status_code == 200 and protected.json()["deposit_overdue"] is False
    await session.refresh(task)
    assert task.done is True
    # Notice, then the end: the property is available again.
    notice = await client.post(
        f"{API}/{t['id']}/end",
        params={"on": "2027-04-01"},
        json={"end_date": "2027-05-31", "reason": "Tenant moving away"},
        headers=headers,
    )
    assert notice.json()["status"] == "ending"
    ended = await client.post(
        f"{API}/{t['id']}/end",
        params={"on": "2027-05-31"},
        json={"end_date": "2027-05-31", "reason": "Tenant moved away"},
        headers=headers,
    )
    assert ended.json()["status"] == "ended" and ended.json()["end_reason"] == "Tenant moved away"
    prop_now = (await client.get(f"/api/v1/properties/{prop.id}", headers=headers)).json()
    assert prop_now["status"] == "available"
    timeline = (await client.get(f"{API}/{t['id']}/activity", headers=headers)).json()
    actions = [a["action"] for a in timeline["items"]]
    assert actions[:3] == ["ended", "ending", "updated"] and actions[-1] == "created"


async def test_the_offer_names_the_tenancy_made_from_it(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    _, offer = await _accepted_offer(client, session, admin, headers)
    assert offer["tenancy_id"] is None and offer["sale_id"] is None
    t = (await _tenancy_with_deposit(client, offer, headers)).json()
    got = (await client.get(f"/api/v1/offers/{offer['id']}", headers=headers)).json()
    assert got["tenancy_id"] == t["id"] and got["sale_id"] is None
    await client.post("/login", data={"email": admin.email, "password": PASSWORD})
    page = await client.get(f"/offers/{offer['id']}")
    assert f'href="/tenancies/{t["id"]}"' in page.text and "Create tenancy" not in page.text


async def test_deposit_cap_and_validation(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    prop = await make_property(session, admin, price_pence=120_000)
    tenant = await make_contact(session, admin)
    base = {
        "property_id": prop.id,
        "tenant_contact_ids": [tenant.id],
        "start_date": "2026-06-01",
        "rent_pence": 120_000,
    }
    over = await client.post(API, json={**base, "deposit_pence": 138_462}, headers=headers)
    assert over.status_code == 422 and over.json()["field"] == "deposit_pence"
    assert "5 weeks' rent" in over.json()["error"] and "£1,384.61" in over.json()["error"]
    # £5,000 a month is £60,000 a year: six weeks' cap.
    high = await client.post(
        API,
        json={**base, "rent_pence": 500_000, "deposit_pence": 692_307},
        headers=headers,
    )
    assert high.status_code == 201 and high.json()["deposit_cap_pence"] == 692_307
    cases = [
        ({**base, "term": "fixed"}, "end_date"),
        ({**base, "end_date": "2027-01-01"}, "end_date"),
        ({**base, "tenant_contact_ids": []}, "tenant_contact_ids"),
        ({**base, "tenant_contact_ids": [999_999]}, "tenant_contact_ids"),
        ({**base, "property_id": 999_999}, "property_id"),
        ({**base, "deposit_protected_date": "2026-06-01"}, "deposit_received_date"),
        (
            {
                **base,
                "deposit_received_date": "2026-06-01",
                "deposit_protected_date": "2026-06-02",
            },
            "deposit_scheme",
        ),
        ({**base, "rent_frequency": "fortnightly"}, "rent_frequency"),
    ]
    for body, field in cases:
        r = await client.post(API, json=body, headers=headers)
        assert r.status_code == 422, (body, r.text)
        assert field in r.text, (field, r.text)
    sale = await make_property(session, admin, marketing_type="sale", price_pence=25_000_000)
    r = await client.post(API, json={**base, "property_id": sale.id}, headers=headers)
    assert r.status_code == 422


async def test_rent_increase_once_a_year(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    prop = await make_property(session, admin, price_pence=100_000)
    tenant = await make_contact(session, admin)
    t = (
        await client.post(
            API,
            json={
                "property_id": prop.id,
                "tenant_contact_ids": [tenant.id],
                "start_date": "2026-06-01",
                "rent_pence": 100_000,
            },
            headers=headers,
        )
    ).json()
    assert t["term"] == "periodic" and t["next_rent_increase_date"] == "2027-06-01"
    early = await client.post(
        f"{API}/{t['id']}/rent-increase",
        json={"rent_pence": 105_000, "effective_date": "2027-05-01"},
        headers=headers,
    )
    assert early.status_code == 409 and "01 Jun 2027" in early.json()["error"]
    assert early.json()["detail"]["next_allowed_date"] == "2027-06-01"
    ok = await client.post(
        f"{API}/{t['id']}/rent-increase",
        json={"rent_pence": 105_000, "effective_date": "2027-06-01"},
        headers=headers,
    )
    assert ok.status_code == 200 and ok.json()["next_rent_increase_date"] == "2028-06-01"
    again = await client.post(
        f"{API}/{t['id']}/rent-increase",
        json={"rent_pence": 110_000, "effective_date": "2027-12-01"},
        headers=headers,
    )
    assert again.status_code == 409 and "01 Jun 2028" in again.json()["error"]
    # A reduction is not an increase.
    down = await client.post(
        f"{API}/{t['id']}/rent-increase",
        json={"rent_pence": 95_000, "effective_date": "2027-12-01"},
        headers=headers,
    )
    assert down.status_code == 200 and down.json()["rent_pence"] == 95_000


async def test_right_to_rent_rules(client: Any, session: Any, admin: Any, headers: Any) -> None:
    prop = await make_property(session, admin, has_gas=False)
    a = await make_contact(session, admin, first_name="Ada")
    b = await make_contact(session, admin, first_name="Ben")
    stranger = await make_contact(session, admin, first_name="Cy")
    t = (
        await client.post(
            API,
            json={
                "property_id": prop.id,
                "tenant_contact_ids": [a.id, b.id],
                "start_date": "2026-06-01",
                "rent_pence": 100_000,
            },
            headers=headers,
        )
    ).json()
    url = f"{API}/{t['id']}/right-to-rent-checks"
    check = {"check_date": "2026-05-20", "document_type": "UK passport", "result": "passed"}
    bad = [
        ({**check, "contact_id": stranger.id}, "contact_id"),
        ({**check, "contact_id": a.id, "result": "time_limited"}, "expiry_date"),
        ({**check, "contact_id": a.id, "expiry_date": "2027-01-01"}, "expiry_date"),
        ({**check, "contact_id": a.id, "document_type": ""}, "document_type"),
    ]
    for body, field in bad:
        r = await client.post(url, json=body, headers=headers)
        assert r.status_code == 422 and field in r.text, (body, r.text)
    assert (await client.post(url, json={**check, "contact_id": a.id}, headers=headers)).is_success
    dup = await client.post(url, json={**check, "contact_id": a.id}, headers=headers)
    assert dup.status_code == 409
    failed = {**check, "contact_id": b.id, "result": "failed"}
    assert (await client.post(url, json=failed, headers=headers)).is_success
    await _certs(session, admin, prop, gas=False)
    r = await client.post(f"{API}/{t['id']}/activate", json={"on_date": ON}, headers=headers)
    assert r.status_code == 409
    assert r.json()["detail"]["missing"] == ["Right to rent: Ben Shah's latest check is failed"]
    later = {**check, "contact_id": b.id, "check_date": "2026-05-28"}
    assert (await client.post(url, json=later, headers=headers)).is_success
    listed = (await client.get(url, headers=headers)).json()
    assert len(listed) == 3 and listed[0]["check_date"] == "2026-05-28"
    r = await client.post(f"{API}/{t['id']}/activate", json={"on_date": ON}, headers=headers)
    assert r.status_code == 200, r.text
    again = await client.post(f"{API}/{t['id']}/activate", json={"on_date": ON}, headers=headers)
    assert again.status_code == 409


async def test_compliance_sections(client: Any, session: Any, admin: Any, headers: Any) -> None:
    prop = await make_property(session, admin, address_line1="4 Deposit Lane")
    tenant = await make_contact(session, admin, first_name="Rita")
    t = (
        await client.post(
            API,
            json={
                "property_id": prop.id,
                "tenant_contact_ids": [tenant.id],
                "start_date": "2026-04-01",
                "rent_pence": 100_000,
                "deposit_pence": 100_000,
                "deposit_received_date": "2026-04-01",
            },
            headers=headers,
        )
    ).json()
    await client.post(
        f"{API}/{t['id']}/right-to-rent-checks",
        json={
            "contact_id": tenant.id,
            "check_date": "2025-05-01",
            "document_type": "BRP",
            "result": "time_limited",
            "expiry_date": "2026-05-15",
        },
        headers=headers,
    )
    sections = await compliance_service.extra_sections(session, admin.agency_id, date(2026, 6, 1))
    by_key = {s.key: s for s in sections}
    assert by_key["deposits"].rows[0].label.startswith("4 Deposit Lane")
    assert "not protected" in by_key["deposits"].rows[0].detail
    assert by_key["right_to_rent"].rows[0].detail.startswith("Rita Shah")
    # The deposit received on 1 April may be protected until 30 April (30 days counting 1 April).
    last_day = await compliance_service.extra_sections(session, admin.agency_id, date(2026, 4, 30))
    assert last_day == []
    page = await client.get("/compliance", params={"on": "2026-06-01"}, headers=headers)
    assert "Deposits past their protection deadline" in page.text


async def test_tenant_isolation(
    client: Any, session: Any, admin: Any, headers: Any, other_headers: Any
) -> None:
    prop, offer = await _accepted_offer(client, session, admin, headers)
    t = (await client.post(f"/api/v1/offers/{offer['id']}/tenancy", headers=headers)).json()
    tid = t["id"]
    for path in (f"{API}/{tid}", f"{API}/{tid}/activity", f"{API}/{tid}/right-to-rent-checks"):
        assert (await client.get(path, headers=other_headers)).status_code == 404, path
    posts = [
        (f"{API}/{tid}/activate", {}),
        (f"{API}/{tid}/end", {"end_date": "2026-07-01", "reason": "x"}),
        (f"{API}/{tid}/rent-increase", {"rent_pence": 5, "effective_date": "2027-07-01"}),
        (
            f"{API}/{tid}/right-to-rent-checks",
            {
                "contact_id": t["tenant_contact_ids"][0],
                "check_date": "2026-05-01",
                "document_type": "x",
                "result": "passed",
            },
        ),
    ]
    for path, body in posts:
        assert (await client.post(path, json=body, headers=other_headers)).status_code == 404
    r = await client.patch(f"{API}/{tid}", json={"deposit_pence": 1}, headers=other_headers)
    assert r.status_code == 404
    assert (await client.get(API, headers=other_headers)).json()["total"] == 0
    r = await client.post(f"/api/v1/offers/{offer['id']}/tenancy", headers=other_headers)
    assert r.status_code == 422
    r = await client.post(
        API,
        json={
            "property_id": prop.id,
            "tenant_contact_ids": t["tenant_contact_ids"],
            "start_date": "2026-06-01",
            "rent_pence": 5,
        },
        headers=other_headers,
    )
    assert r.status_code == 422


async def test_a_property_with_a_tenancy_cannot_be_deleted(
    client: Any, session: Any, admin: Any, headers: Any, other_headers: Any
) -> None:
    """Deposits and right-to-rent checks must be kept: deleting the property would take them
    with it, so it is refused (409, nothing changed) and the user is told to withdraw it."""
    prop, offer = await _accepted_offer(client, session, admin, headers)
    r = await _tenancy_with_deposit(client, offer, headers)
    tenancy_id = r.json()["id"]

    async def open_rule_keys() -> set[str]:
        rows = await session.scalars(select(Task.rule_key).where(Task.open_rule_key.is_not(None)))
        return {k for k in rows if k}

    before = await open_rule_keys()
    assert f"deposit-protection:{tenancy_id}" in before
    url = f"/api/v1/properties/{prop.id}"
    assert (await client.delete(url, headers=other_headers)).status_code == 404
    refused = await client.delete(url, headers=headers)
    assert refused.status_code == 409
    body = refused.json()
    assert "1 tenancy on record" in body["error"] and "withdrawn" in body["error"]
    assert set(body["detail"]["reasons"]) == {
        "it has 1 tenancy on record",
        "it has 1 offer on record",
    }
    assert (await client.get(url, headers=headers)).status_code == 200
    assert (await client.get(f"{API}/{tenancy_id}", headers=headers)).status_code == 200
    assert await open_rule_keys() == before


async def test_a_certificate_a_tenancy_ran_on_cannot_be_deleted(
    client: Any, session: Any, admin: Any, headers: Any, other_headers: Any
) -> None:
    """It is the landlord's legal record: correct it instead. An old one that expired before
    the tenancy began can still be removed if it was entered in error."""
    prop, offer = await _accepted_offer(client, session, admin, headers)
    t = (await _tenancy_with_deposit(client, offer, headers)).json()
    check = await client.post(
        f"{API}/{t['id']}/right-to-rent-checks",
        json={
            "contact_id": t["tenant_contact_ids"][0],
            "check_date": "2026-05-25",
            "document_type": "Passport",
            "result": "passed",
        },
        headers=headers,
    )
    assert check.status_code == 201, check.text
    prop = await session.merge(prop)
    await _certs(session, admin, prop)
    old = await make_certificate(session, admin, prop, type="gas_safety", issued_date="2020-01-01")
    certs = (
        await client.get("/api/v1/certificates", params={"property_id": prop.id}, headers=headers)
    ).json()["items"]
    gas = next(c for c in certs if c["type"] == "gas_safety" and c["id"] != old.id)
    ok = await client.post(f"{API}/{t['id']}/activate", json={"on_date": ON}, headers=headers)
    assert ok.status_code == 200, ok.text
    url = f"/api/v1/certificates/{gas['id']}"
    assert (await client.delete(url, headers=other_headers)).status_code == 404
    refused = await client.delete(url, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["detail"]["reasons"] == [f"tenancy #{t['id']} ran while it was in force"]
    assert "Correct it with Edit" in refused.json()["error"]
    assert (await client.get(url, headers=headers)).status_code == 200
    # The certificate page says why, next to its Delete button.
    login = {"email": admin.email, "password": PASSWORD}
    assert (await client.post("/login", data=login)).status_code == 303
    page = await client.post(f"/certificates/{gas['id']}/delete")
    assert page.status_code == 409
    assert 'id="delete-error"' in page.text and f"tenancy #{t['id']} ran" in page.text
    gone = await client.delete(f"/api/v1/certificates/{old.id}", headers=headers)
    assert gone.status_code == 204
