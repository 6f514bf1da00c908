"""Maintenance jobs through the JSON API: lifecycle, dates, ordering, isolation."""

from __future__ import annotations

from typing import Any

from estatecrm.kit.clock import today_london
from tests.builders import make_contact, make_property

API = "/api/v1/maintenance"


async def test_lifecycle_stamps_dates_and_records_activity(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    prop = await make_property(session, admin, address_line1="6 Leaky Lane")
    tenant = await make_contact(session, admin, first_name="Ted")
    plumber = await make_contact(session, admin, first_name="Pip", last_name="Plumber")
    r = await client.post(
        API,
        json={
            "property_id": prop.id,
            "title": "Boiler not firing",
            "description": "No hot water since Monday",
            "priority": "urgent",
            "reported_by_contact_id": tenant.id,
            "reported_date": "2026-06-01",
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["status"] == "reported" and job["property_address"].startswith("6 Leaky Lane")
    url = f"{API}/{job['id']}"
    steps = [
        (
            {
                "status": "quoted",
                "quote_pence": 18_000,
                "contractor_contact_id": plumber.id,
                "on_date": "2026-06-02",
            },
            "quoted_date",
            "2026-06-02",
        ),
        ({"status": "approved", "on_date": "2026-06-02"}, "approved_date", "2026-06-02"),
        ({"status": "in_progress", "on_date": "2026-06-03"}, "started_date", "2026-06-03"),
    ]
    for body, field, value in steps:
        r = await client.patch(url, json=body, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()[field] == value
    r = await client.patch(url, json={"status": "done", "on_date": "2026-06-04"}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "cost_pence"
    r = await client.patch(
        url, json={"status": "done", "cost_pence": 17_500, "on_date": "2026-06-04"}, headers=headers
    )
    assert r.json()["status"] == "done" and r.json()["completed_date"] == "2026-06-04"
    r = await client.patch(url, json={"quoted_date": "2026-05-01"}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "quoted_date"
    timeline = (await client.get(f"{url}/activity", headers=headers)).json()
    assert [a["action"] for a in timeline["items"]][-1] == "created"
    assert timeline["items"][0]["summary"] == "Status in_progress → done"
    done = (await client.get(API, params={"open": "false"}, headers=headers)).json()
    assert [j["id"] for j in done["items"]] == [job["id"]]
    assert (await client.get(API, params={"contact_id": plumber.id}, headers=headers)).json()[
        "total"
    ] == 1


async def test_open_jobs_most_urgent_first_and_validation(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    prop = await make_property(session, admin)
    for title, priority in (("Gutter", "low"), ("Leak", "urgent"), ("Door", "normal")):
        body = {
            "property_id": prop.id,
            "title": title,
            "priority": priority,
            "reported_date": "2026-06-01",
        }
        assert (await client.post(API, json=body, headers=headers)).status_code == 201
    listed = (await client.get(API, params={"property_id": prop.id}, headers=headers)).json()
    assert [j["title"] for j in listed["items"]] == ["Leak", "Door", "Gutter"]
    bad = [
        ({"property_id": prop.id, "title": "", "reported_date": "2026-06-01"}, "title"),
        ({"property_id": 999_999, "title": "x", "reported_date": "2026-06-01"}, "property_id"),
        (
            {
                "property_id": prop.id,
                "title": "x",
                "reported_date": "2026-06-01",
                "contractor_contact_id": 999_999,
            },
            "contractor_contact_id",
        ),
        (
            {
                "property_id": prop.id,
                "title": "x",
                "reported_date": "2026-06-01",
                "priority": "asap",
            },
            "priority",
        ),
        (
            {
                "property_id": prop.id,
                "title": "x",
                "reported_date": "2026-06-01",
                "quote_pence": -1,
            },
            "quote_pence",
        ),
    ]
    for body, field in bad:
        r = await client.post(API, json=body, headers=headers)
        assert r.status_code == 422 and field in r.text, (body, r.text)


async def test_tenant_isolation(
    client: Any, session: Any, admin: Any, headers: Any, other_headers: Any
) -> None:
    prop = await make_property(session, admin)
    job = (
        await client.post(
            API,
            json={"property_id": prop.id, "title": "Fence", "reported_date": "2026-06-01"},
            headers=headers,
        )
    ).json()
    url = f"{API}/{job['id']}"
    for path in (url, f"{url}/activity", f"/maintenance/{job['id']}"):
        assert (await client.get(path, headers=other_headers)).status_code == 404
    assert (await client.patch(url, json={"title": "x"}, headers=other_headers)).status_code == 404
    assert (await client.delete(url, headers=other_headers)).status_code == 404
    assert (await client.get(API, headers=other_headers)).json()["total"] == 0
    r = await client.post(
        API,
        json={"property_id": prop.id, "title": "x", "reported_date": "2026-06-01"},
        headers=other_headers,
    )
    assert r.status_code == 422
    assert (await client.delete(url, headers=headers)).status_code == 204


async def test_a_property_with_maintenance_jobs_cannot_be_deleted(
    client: Any, session: Any, admin: Any, headers: Any, other_headers: Any
) -> None:
    """Jobs carry the contractors' costs billed to the landlord: they outlive the listing."""
    prop = await make_property(session, admin)
    before = today_london().isoformat()
    for title in ("Boiler service", "Gutter clearance"):
        r = await client.post(API, json={"property_id": prop.id, "title": title}, headers=headers)
        assert r.status_code == 201, r.text
        # Reported today (UK) unless the body says otherwise.
        assert r.json()["reported_date"] in {before, today_london().isoformat()}
    url = f"/api/v1/properties/{prop.id}"
    assert (await client.delete(url, headers=other_headers)).status_code == 404
    refused = await client.delete(url, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["detail"]["reasons"] == ["it has 2 maintenance jobs on record"]
    assert (await client.get(API, params={"property_id": prop.id}, headers=headers)).json()[
        "total"
    ] == 2
