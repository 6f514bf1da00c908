"""Viewings through the JSON API: booking, clashes, the past, the lifecycle, filters, isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from estatecrm.activity.models import Activity
from tests.builders import (
    make_applicant,
    make_contact,
    make_property,
    make_user,
    make_viewing,
    token_headers,
)

API = "/api/v1/viewings"
# Any time safely in the future: the tests never depend on today's date beyond that.
DAY = datetime(2031, 5, 6, tzinfo=UTC)


def at(hour: int, minute: int = 0, day: datetime = DAY) -> str:
    return (day + timedelta(hours=hour, minutes=minute)).isoformat()


@pytest.fixture
async def setup(session: Any, admin: Any) -> dict[str, Any]:
    prop = await make_property(session, admin)
    other_prop = await make_property(session, admin, address_line1="9 Hill Lane")
    applicant = await make_applicant(session, admin)
    return {"prop": prop, "other_prop": other_prop, "applicant": applicant}


async def _book(client: Any, headers: Any, setup: dict[str, Any], **overrides: Any) -> Any:
    body = {
        "property_id": setup["prop"].id,
        "applicant_id": setup["applicant"].id,
        "start_at": at(9),
    }
    body.update(overrides)
    return await client.post(API, json=body, headers=headers)


async def test_book_a_viewing(
    client: Any, session: Any, admin: Any, headers: Any, setup: dict[str, Any]
) -> None:
    partner = await make_contact(
        session, admin, first_name="Sam", email="sam@example.com", phone=None
    )
    r = await _book(
        client,
        headers,
        setup,
        start_at="2031-05-06T10:00:00+01:00",
        duration_minutes=45,
        notes="Keys from the office",
        attendee_contact_ids=[partner.id],
    )
    assert r.status_code == 201, r.text
    v = r.json()
    assert v["start_at"].startswith("2031-05-06T09:00:00") and v["end_at"].startswith(
        "2031-05-06T09:45:00"
    )
    assert v["status"] == "booked" and v["negotiator_id"] == admin.id
    assert v["property"]["address_line1"] == "12 Carlton Crescent"
    assert v["applicant"]["contact"]["id"] == setup["applicant"].contact_id
    assert {a["id"] for a in v["attendees"]} == {setup["applicant"].contact_id, partner.id}
    assert v["suggest_offer"] is False
    assert (await client.get(f"{API}/{v['id']}", headers=headers)).json() == v
    on_property = await session.scalar(
        select(Activity).where(
            Activity.entity_type == "property",
            Activity.entity_id == setup["prop"].id,
            Activity.action == "viewing_booked",
        )
    )
    assert on_property is not None and "Tue 6 May 2031 10:00\u201310:45" in on_property.summary


async def test_same_negotiator_overlap_is_409_naming_the_viewing(
    client: Any, headers: Any, setup: dict[str, Any]
) -> None:
    first = (await _book(client, headers, setup, start_at=at(9), duration_minutes=60)).json()
    r = await _book(client, headers, setup, property_id=setup["other_prop"].id, start_at=at(9, 30))
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["field"] == "start_at"
    assert body["detail"]["clashing_viewing_id"] == first["id"]
    assert body["detail"]["clash_on"] == ["negotiator"]
    assert f"viewing #{first['id']}" in body["error"] and "10:00\u201311:00" in body["error"]


async def test_same_property_overlap_is_409_even_for_another_negotiator(
    client: Any, session: Any, agency: Any, headers: Any, setup: dict[str, Any]
) -> None:
    colleague = await make_user(session, agency, email="col@agency.test")
    first = (await _book(client, headers, setup, start_at=at(14))).json()
    r = await _book(client, headers, setup, start_at=at(14, 15), negotiator_id=colleague.id)
    assert r.status_code == 409
    assert r.json()["detail"] == {
        "clashing_viewing_id": first["id"],
        "clash_on": ["property"],
        "start_at": first["start_at"],
        "end_at": first["end_at"],
    }


async def test_back_to_back_and_cancelled_do_not_clash(
    client: Any, headers: Any, setup: dict[str, Any]
) -> None:
    first = (await _book(client, headers, setup, start_at=at(9))).json()
    assert (await _book(client, headers, setup, start_at=at(9, 30))).status_code == 201
    assert (await _book(client, headers, setup, start_at=at(8, 30))).status_code == 201
    assert (await _book(client, headers, setup, start_at=at(9, 10))).status_code == 409
    r = await client.post(
        f"{API}/{first['id']}/cancel", json={"reason": "Tenant ill"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert (await _book(client, headers, setup, start_at=at(9))).status_code == 201


async def test_past_and_naive_times_are_422(
    client: Any, headers: Any, setup: dict[str, Any]
) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    r = await _book(client, headers, setup, start_at=past)
    assert r.status_code == 422 and r.json()["field"] == "start_at"
    assert "past" in r.json()["error"]
    r = await _book(client, headers, setup, start_at="2031-05-06T10:00:00")
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "start_at"
    r = await _book(client, headers, setup, duration_minutes=0)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "duration_minutes"


async def test_links_must_be_the_agencys_and_fit(
    client: Any, session: Any, admin: Any, headers: Any, setup: dict[str, Any], other_agency: Any
) -> None:
    rival = await make_user(session, other_agency, email="neg@rival.test")
    their_prop = await make_property(session, rival)
    their_applicant = await make_applicant(session, rival)
    for field, value in (
        ("property_id", their_prop.id),
        ("applicant_id", their_applicant.id),
        ("negotiator_id", rival.id),
        ("attendee_contact_ids", [their_applicant.contact_id]),
    ):
        r = await _book(client, headers, setup, **{field: value})
        assert r.status_code == 422, (field, r.text)
        assert r.json()["field"] == field
    let = await make_property(session, admin, status="let", address_line1="1 Let Street")
    r = await _book(client, headers, setup, property_id=let.id)
    assert r.status_code == 409 and r.json()["field"] == "property_id"
    buyer = await make_applicant(
        session, admin, marketing_type="sale", max_price_pence=30_000_000, min_price_pence=None
    )
    r = await _book(client, headers, setup, applicant_id=buyer.id)
    assert r.status_code == 409 and "looking to buy" in r.json()["error"]
    archived = await make_applicant(session, admin, status="archived")
    r = await _book(client, headers, setup, applicant_id=archived.id)
    assert r.status_code == 409 and r.json()["field"] == "applicant_id"


async def test_lifecycle_and_offer_prompt(
    client: Any, session: Any, headers: Any, setup: dict[str, Any]
) -> None:
    v = (await _book(client, headers, setup, start_at=at(11))).json()
    vid = v["id"]
    r = await client.post(f"{API}/{vid}/confirm", headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "confirmed" and r.json()["confirmed_at"]
    # Rescheduling applies the clash rules again and needs a new confirmation.
    blocker = (await _book(client, headers, setup, start_at=at(15))).json()
    r = await client.post(f"{API}/{vid}/reschedule", json={"start_at": at(15, 15)}, headers=headers)
    assert r.status_code == 409 and r.json()["detail"]["clashing_viewing_id"] == blocker["id"]
    r = await client.post(
        f"{API}/{vid}/reschedule",
        json={"start_at": at(16), "duration_minutes": 60},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["status"] == "booked" and moved["confirmed_at"] is None
    assert moved["end_at"].startswith("2031-05-06T17:00:00")
    # A viewing does not clash with its own old slot.
    r = await client.post(f"{API}/{vid}/reschedule", json={"start_at": at(16, 30)}, headers=headers)
    assert r.status_code == 200
    r = await client.post(
        f"{API}/{vid}/complete",
        json={"feedback": "Loved the garden", "interest": 5},
        headers=headers,
    )
    assert r.status_code == 200
    done = r.json()
    assert done["status"] == "completed" and done["interest"] == 5 and done["suggest_offer"] is True
    for action, body in (
        ("confirm", None),
        ("cancel", {"reason": "x"}),
        ("complete", {"feedback": "x", "interest": 3}),
        ("reschedule", {"start_at": at(18)}),
        ("no-show", None),
    ):
        r = await client.post(f"{API}/{vid}/{action}", json=body, headers=headers)
        assert r.status_code == 409, (action, r.text)
    r = await client.post(
        f"{API}/{blocker['id']}/complete", json={"feedback": "", "interest": 6}, headers=headers
    )
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["detail"]}
    assert fields == {"feedback", "interest"}
    r = await client.post(f"{API}/{blocker['id']}/no-show", headers=headers)
    assert r.status_code == 409 and "not started" in r.json()["error"]
    r = await client.post(f"{API}/{blocker['id']}/cancel", json={"reason": ""}, headers=headers)
    assert r.status_code == 422
    timeline = (await client.get(f"{API}/{vid}/activity", headers=headers)).json()
    assert [a["action"] for a in timeline["items"]] == [
        "status_changed",
        "rescheduled",
        "rescheduled",
        "status_changed",
        "created",
    ]
    r = await client.patch(f"{API}/{vid}", json={"notes": "Second viewing wanted"}, headers=headers)
    assert r.status_code == 200 and r.json()["notes"] == "Second viewing wanted"


async def test_list_filters_by_london_day(
    client: Any, session: Any, agency: Any, admin: Any, headers: Any, setup: dict[str, Any]
) -> None:
    colleague = await make_user(session, agency, email="col@agency.test")
    # 00:30 BST on Sunday 31 October 2027 is still Saturday 30th in UTC.
    late = (await _book(client, headers, setup, start_at="2027-10-30T23:30:00+00:00")).json()
    # 10:00 GMT the same Sunday, after the clocks went back.
    sunday = (
        await _book(
            client, headers, setup, start_at="2027-10-31T10:00:00+00:00", negotiator_id=colleague.id
        )
    ).json()
    monday = (
        await _book(
            client,
            headers,
            setup,
            property_id=setup["other_prop"].id,
            start_at="2027-11-01T09:00:00Z",
        )
    ).json()
    await client.post(f"{API}/{monday['id']}/cancel", json={"reason": "Off"}, headers=headers)

    async def ids(query: str) -> list[int]:
        r = await client.get(f"{API}?{query}", headers=headers)
        assert r.status_code == 200, r.text
        return [v["id"] for v in r.json()["items"]]

    assert await ids("from=2027-10-31&to=2027-10-31") == [late["id"], sunday["id"]]
    assert await ids("from=2027-10-30&to=2027-10-30") == []
    assert await ids("from=2027-10-31T09:00:00Z") == [sunday["id"], monday["id"]]
    assert await ids(f"negotiator_id={colleague.id}") == [sunday["id"]]
    assert await ids(f"property_id={setup['other_prop'].id}") == [monday["id"]]
    assert await ids("status=cancelled") == [monday["id"]]
    assert await ids(f"applicant_id={setup['applicant'].id}&sort=-start_at") == [
        monday["id"],
        sunday["id"],
        late["id"],
    ]
    assert await ids(f"contact_id={setup['applicant'].contact_id}&limit=1&offset=1") == [
        sunday["id"]
    ]
    assert (await client.get(f"{API}?from=tomorrow", headers=headers)).status_code == 422


async def test_viewers_read_but_cannot_book(
    client: Any, session: Any, agency: Any, headers: Any, setup: dict[str, Any]
) -> None:
    viewer = await token_headers(session, await make_user(session, agency, role="viewer"))
    assert (await client.get(API, headers=viewer)).status_code == 200
    assert (await _book(client, viewer, setup)).status_code == 403


async def test_another_agencys_viewing_is_404_everywhere(
    client: Any, session: Any, headers: Any, other_agency: Any, other_headers: Any
) -> None:
    rival = await make_user(session, other_agency, email="neg@rival.test")
    prop = await make_property(session, rival)
    applicant = await make_applicant(session, rival)
    theirs = await make_viewing(
        session, rival, property_id=prop.id, applicant_id=applicant.id, start_at=DAY
    )
    tid = theirs.id
    assert (await client.get(f"{API}/{tid}", headers=headers)).status_code == 404
    assert (
        await client.patch(f"{API}/{tid}", json={"notes": "x"}, headers=headers)
    ).status_code == 404
    assert (await client.get(f"{API}/{tid}/activity", headers=headers)).status_code == 404
    for action, body in (
        ("confirm", None),
        ("cancel", {"reason": "x"}),
        ("complete", {"feedback": "x", "interest": 3}),
        ("reschedule", {"start_at": at(18)}),
        ("no-show", None),
    ):
        r = await client.post(f"{API}/{tid}/{action}", json=body, headers=headers)
        assert r.status_code == 404, action
    assert (await client.get(API, headers=headers)).json()["total"] == 0
    assert (await client.get(f"{API}?property_id={prop.id}", headers=headers)).json()["total"] == 0
    still = (await client.get(f"{API}/{tid}", headers=other_headers)).json()
    assert still["status"] == "booked" and still["notes"] == ""


async def test_a_viewed_property_cannot_be_deleted(
    client: Any, session: Any, admin: Any, headers: Any, other_headers: Any
) -> None:
    """Viewings are the applicants' history: a property once viewed is withdrawn instead."""
    prop = await make_property(session, admin)
    viewing = await make_viewing(
        session,
        admin,
        property_id=prop.id,
        applicant_id=(await make_applicant(session, admin)).id,
        start_at=DAY,
    )
    cancel = await client.post(
        f"{API}/{viewing.id}/cancel", json={"reason": "Ill"}, headers=headers
    )
    assert cancel.status_code == 200, cancel.text
    url = f"/api/v1/properties/{prop.id}"
    assert (await client.delete(url, headers=other_headers)).status_code == 404
    refused = await client.delete(url, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["detail"]["reasons"] == ["it has 1 viewing on record"]
    assert (await client.get(f"{API}/{viewing.id}", headers=headers)).status_code == 200
