"""Tasks through the JSON API: my tasks with overdue first, filters, links, isolation."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from estatecrm.tasks.models import Task
from tests.builders import make_property, make_user, token_headers
from tests.compliance.builders import make_certificate

API = "/api/v1/tasks"
ON = "2026-06-01"


async def _task(client: Any, headers: Any, **body: Any) -> dict[str, Any]:
    body.setdefault("title", "Chase landlord for keys")
    r = await client.post(API, json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_create_read_link_and_timeline(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    prop = await make_property(session, admin, address_line1="8 Polygon Road", reference="PR-8")
    task = await _task(
        client,
        headers,
        title="Book inventory clerk",
        description="Check-in on the 14th",
        due_date="2026-06-10",
        priority="high",
        assignee_id=admin.id,
        entity_type="Property",
        entity_id=prop.id,
    )
    assert task["entity_type"] == "property" and task["done"] is False
    assert task["link"] == {
        "entity_type": "property",
        "entity_id": prop.id,
        "label": "8 Polygon Road, Southampton (PR-8)",
        "href": f"/properties/{prop.id}",
    }
    got = (await client.get(f"{API}/{task['id']}", headers=headers)).json()
    assert got["title"] == "Book inventory clerk" and got["priority"] == "high"
    done = await client.patch(f"{API}/{task['id']}", json={"done": True}, headers=headers)
    assert done.status_code == 200
    assert done.json()["done"] is True and done.json()["done_at"] and done.json()["done_by_id"]
    reopened = await client.patch(f"{API}/{task['id']}", json={"done": False}, headers=headers)
    assert reopened.json()["done"] is False and reopened.json()["done_at"] is None
    await client.patch(f"{API}/{task['id']}", json={"due_date": "2026-06-11"}, headers=headers)
    timeline = (await client.get(f"{API}/{task['id']}/activity", headers=headers)).json()
    assert [a["action"] for a in timeline["items"]] == [
        "updated",
        "reopened",
        "completed",
        "created",
    ]
    assert timeline["items"][0]["changes"]["due_date"] == ["2026-06-10", "2026-06-11"]


async def test_link_to_a_certificate(client: Any, session: Any, admin: Any, headers: Any) -> None:
    prop = await make_property(session, admin)
    cert = await make_certificate(session, admin, prop)
    task = await _task(client, headers, entity_type="certificate", entity_id=cert.id)
    assert task["link"]["href"] == f"/certificates/{cert.id}"
    assert task["link"]["label"].startswith("Gas safety certificate, expires")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"due_date": "1999-12-31"}, "due_date"),
        ({"due_date": "next week"}, "due_date"),
        ({"priority": "whenever"}, "priority"),
        ({"assignee_id": 999_999}, "assignee_id"),
        ({"entity_type": "property"}, "entity_id"),
        ({"entity_id": 1}, "entity_type"),
        ({"entity_type": "spaceship", "entity_id": 1}, "entity_type"),
        ({"entity_type": "property", "entity_id": 999_999}, "entity_id"),
        ({"entity_type": "certificate", "entity_id": 999_999}, "entity_id"),
        ({"done": True}, "done"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: Any, headers: Any, session: Any, body: dict[str, Any], field: str
) -> None:
    before = await session.scalar(select(func.count(Task.id)))
    r = await client.post(API, json={"title": "A task", **body}, headers=headers)
    assert r.status_code == 422, r.text
    payload = r.json()
    fields = {payload.get("field")} | {d.get("field") for d in payload.get("detail", [])}
    assert field in fields, payload
    assert await session.scalar(select(func.count(Task.id))) == before


async def test_cannot_assign_or_link_across_agencies(
    client: Any, session: Any, headers: Any, other_agency: Any
) -> None:
    rival = await make_user(session, other_agency, email="rival@rival.test")
    their_prop = await make_property(session, rival)
    r = await client.post(API, json={"title": "x", "assignee_id": rival.id}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "assignee_id"
    r = await client.post(
        API,
        json={"title": "x", "entity_type": "property", "entity_id": their_prop.id},
        headers=headers,
    )
    assert r.status_code == 422 and r.json()["field"] == "entity_id"


async def test_my_tasks_put_overdue_first(
    client: Any, session: Any, agency: Any, admin: Any, headers: Any
) -> None:
    colleague = await make_user(session, agency, email="colleague@agency.test")
    mine = {
        "later": await _task(
            client, headers, title="Later", due_date="2026-06-20", assignee_id=admin.id
        ),
        "undated": await _task(client, headers, title="Undated", assignee_id=admin.id),
        "overdue_old": await _task(
            client, headers, title="Very late", due_date="2026-05-01", assignee_id=admin.id
        ),
        "overdue_urgent": await _task(
            client,
            headers,
            title="Late and urgent",
            due_date="2026-05-20",
            priority="urgent",
            assignee_id=admin.id,
        ),
        "today": await _task(client, headers, title="Today", due_date=ON, assignee_id=admin.id),
    }
    done = await _task(
        client, headers, title="Done already", due_date="2026-04-01", assignee_id=admin.id
    )
    await client.patch(f"{API}/{done['id']}", json={"done": True}, headers=headers)
    theirs = await _task(client, headers, title="Colleague's", assignee_id=colleague.id)
    unassigned = await _task(client, headers, title="Nobody's", due_date="2026-05-30")

    async def titles(query: str) -> list[str]:
        r = await client.get(f"{API}?date={ON}&{query}", headers=headers)
        assert r.status_code == 200, r.text
        return [t["title"] for t in r.json()["items"]]

    assert await titles("assignee=me&done=false") == [
        "Very late",
        "Late and urgent",
        "Today",
        "Later",
        "Undated",
    ]
    # Without a done filter, completed tasks come after every open one.
    assert (await titles("assignee=me"))[-1] == "Done already"
    page = (await client.get(f"{API}?date={ON}&assignee=me&done=false", headers=headers)).json()
    assert [t["overdue"] for t in page["items"]] == [True, True, False, False, False]
    assert await titles("overdue=true") == ["Very late", "Late and urgent", "Nobody's"]
    assert "Very late" not in await titles("overdue=false")
    assert await titles("assignee=unassigned") == ["Nobody's"]
    assert await titles(f"assignee={colleague.id}") == ["Colleague's"]
    assert await titles("done=true") == ["Done already"]
    assert await titles("priority=urgent") == ["Late and urgent"]
    assert await titles("q=LATE") == ["Very late", "Late and urgent", "Later"]
    assert await titles("due_after=2026-05-15&due_before=2026-06-02&done=false") == [
        "Late and urgent",
        "Nobody's",
        "Today",
    ]
    assert await titles("sort=-created_at&limit=2") == ["Nobody's", "Colleague's"]
    paged = (await client.get(f"{API}?assignee=me&limit=2&offset=2", headers=headers)).json()
    assert paged["total"] == 6 and len(paged["items"]) == 2
    assert (await client.get(f"{API}?assignee=someone", headers=headers)).status_code == 422
    assert (await client.get(f"{API}?sort=colour", headers=headers)).status_code == 422
    assert mine and theirs and unassigned


async def test_roles(client: Any, session: Any, agency: Any, headers: Any) -> None:
    viewer = await token_headers(session, await make_user(session, agency, role="viewer"))
    negotiator = await token_headers(session, await make_user(session, agency, role="negotiator"))
    assert (await client.post(API, json={"title": "x"}, headers=viewer)).status_code == 403
    task = await _task(client, negotiator)
    assert (await client.get(f"{API}/{task['id']}", headers=viewer)).status_code == 200
    assert (
        await client.patch(f"{API}/{task['id']}", json={"done": True}, headers=viewer)
    ).status_code == 403
    assert (await client.delete(f"{API}/{task['id']}", headers=negotiator)).status_code == 403
    assert (await client.delete(f"{API}/{task['id']}", headers=headers)).status_code == 204
    assert (await client.get(f"{API}/{task['id']}", headers=headers)).status_code == 404


async def test_patch_cannot_empty_required_fields(client: Any, headers: Any) -> None:
    task = await _task(client, headers)
    for field in ("title", "priority", "done"):
        r = await client.patch(f"{API}/{task['id']}", json={field: None}, headers=headers)
        assert r.status_code == 422 and r.json()["field"] == field
    cleared = await client.patch(
        f"{API}/{task['id']}", json={"due_date": None, "assignee_id": None}, headers=headers
    )
    assert cleared.status_code == 200


async def test_tenant_isolation(client: Any, headers: Any, other_headers: Any) -> None:
    task = await _task(client, headers, title="Ours")
    theirs = await _task(client, other_headers, title="Theirs")
    tid = task["id"]
    for method, kwargs in [("get", {}), ("patch", {"json": {"done": True}}), ("delete", {})]:
        r = await getattr(client, method)(f"{API}/{tid}", headers=other_headers, **kwargs)
        assert r.status_code == 404, (method, r.text)
    assert (await client.get(f"{API}/{tid}/activity", headers=other_headers)).status_code == 404
    listed = (await client.get(API, headers=other_headers)).json()
    assert [t["id"] for t in listed["items"]] == [theirs["id"]]
    assert (await client.get(f"{API}/{tid}", headers=headers)).json()["done"] is False
