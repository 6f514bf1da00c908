"""Certificates through the JSON API, on SQLite and PostgreSQL, with fixed dates."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from estatecrm.activity.models import Activity
from estatecrm.compliance.models import Certificate
from tests.builders import make_user, property_payload, token_headers
from tests.compliance.builders import ON, certificate_payload

API = "/api/v1/certificates"


async def _property(client: Any, headers: Any, **overrides: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/properties", json=property_payload(**overrides), headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _cert(client: Any, headers: Any, property_id: int, **overrides: Any) -> dict[str, Any]:
    r = await client.post(API, json=certificate_payload(property_id, **overrides), headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.mark.parametrize(
    ("cert_type", "issued", "expiry"),
    [
        ("gas_safety", "2025-08-20", "2026-08-20"),
        ("eicr", "2024-02-29", "2029-02-28"),
        ("epc", "2020-01-10", "2030-01-10"),
        ("smoke_co_alarm", "2025-10-01", "2026-10-01"),
        ("legionella", "2025-04-30", "2027-04-30"),
    ],
)
async def test_expiry_is_derived_from_the_type_rule(
    client: Any, headers: Any, cert_type: str, issued: str, expiry: str
) -> None:
    prop = await _property(client, headers)
    body = await _cert(client, headers, prop["id"], type=cert_type, issued_date=issued)
    assert body["expiry_date"] == expiry
    assert body["expiry_derived"] is True
    assert body["is_current"] is True
    # A stated expiry (an EICR's report date) wins over the rule.
    if cert_type == "eicr":
        stated = await _cert(
            client,
            headers,
            prop["id"],
            type="eicr",
            issued_date="2025-01-01",
            expiry_date="2028-01-01",
        )
        assert stated["expiry_date"] == "2028-01-01" and stated["expiry_derived"] is False


async def test_hmo_licence_needs_an_explicit_expiry(client: Any, headers: Any) -> None:
    prop = await _property(client, headers)
    r = await client.post(
        API, json=certificate_payload(prop["id"], type="hmo_licence"), headers=headers
    )
    assert r.status_code == 422
    assert r.json()["field"] == "expiry_date" and "council" in r.json()["error"]
    ok = await _cert(client, headers, prop["id"], type="hmo_licence", expiry_date="2030-04-30")
    assert ok["expiry_date"] == "2030-04-30"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"type": "epc", "rating": None}, "rating"),
        ({"type": "epc", "rating": "H"}, "rating"),
        ({"rating": "C"}, "rating"),
        ({"expiry_date": "2026-04-01"}, "expiry_date"),
        ({"expiry_date": "2026-05-01"}, "expiry_date"),
        ({"issued_date": "2099-01-01"}, "issued_date"),
        ({"issued_date": "1066-10-14"}, "issued_date"),
        ({"issued_date": "14/10/2025"}, "issued_date"),
        ({"issued_date": None}, "issued_date"),
        ({"type": "epc", "rating": "C", "exemption_reference": "PRS-1"}, "exemption_reference"),
        ({"exemption_reference": "PRS-1"}, "exemption_reference"),
        (
            {"type": "epc", "rating": "F", "exemption_expiry_date": "2030-01-01"},
            "exemption_reference",
        ),
        ({"document_url": "javascript:alert(1)"}, "document_url"),
        ({"type": "boiler_service"}, "type"),
        ({"property_id": 999_999}, "property_id"),
        ({"reference": "x" * 101}, "reference"),
        ({"notes": "x" * 5001}, "notes"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: Any, headers: Any, session: Any, overrides: dict[str, Any], field: str
) -> None:
    prop = await _property(client, headers)
    before = await session.scalar(select(func.count(Certificate.id)))
    body = {**certificate_payload(prop["id"]), **overrides}
    if body["type"] == "epc" and "rating" not in overrides:
        body["rating"] = "C"
    body = {k: v for k, v in body.items() if not (v is None and k == "rating")}
    r = await client.post(API, json=body, headers=headers)
    assert r.status_code == 422, r.text
    payload = r.json()
    fields = {payload.get("field")} | {d.get("field") for d in payload.get("detail", [])}
    assert field in fields, payload
    assert "Traceback" not in r.text
    assert await session.scalar(select(func.count(Certificate.id))) == before


async def test_another_agencys_property_cannot_be_certified(
    client: Any, headers: Any, other_headers: Any
) -> None:
    theirs = await _property(client, other_headers)
    r = await client.post(API, json=certificate_payload(theirs["id"]), headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "property_id"


async def test_the_same_certificate_twice_is_409(client: Any, headers: Any) -> None:
    prop = await _property(client, headers)
    await _cert(client, headers, prop["id"])
    r = await client.post(API, json=certificate_payload(prop["id"]), headers=headers)
    assert r.status_code == 409 and r.json()["field"] == "issued_date"


async def test_status_filters_answer_on_the_date_asked(client: Any, headers: Any) -> None:
    prop = await _property(client, headers)
    other = await _property(client, headers, address_line1="3 Hill Lane", postcode="SO15 5AA")
    expiries = {
        "gas_safety": "2026-05-20",  # expired on ON
        "eicr": "2026-06-01",  # expiring (today)
        "smoke_co_alarm": "2026-06-25",  # expiring
        "legionella": "2026-07-01",  # expiring (day 30)
        "hmo_licence": "2026-07-02",  # valid
    }
    ids = {}
    for cert_type, expiry in expiries.items():
        ids[cert_type] = (
            await _cert(
                client,
                headers,
                prop["id"],
                type=cert_type,
                issued_date="2025-01-01",
                expiry_date=expiry,
            )
        )["id"]
    await _cert(
        client, headers, other["id"], type="epc", issued_date="2017-01-01", expiry_date="2027-01-01"
    )

    async def listed(query: str) -> list[int]:
        r = await client.get(f"{API}?date={ON.isoformat()}&{query}", headers=headers)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    assert await listed("status=expired") == [ids["gas_safety"]]
    assert await listed("status=expiring") == [
        ids["eicr"],
        ids["smoke_co_alarm"],
        ids["legionella"],
    ]
    assert await listed("status=expiring&before=2026-06-30") == [ids["eicr"], ids["smoke_co_alarm"]]
    assert len(await listed("status=valid")) == 2
    assert await listed("status=valid&type=hmo_licence") == [ids["hmo_licence"]]
    assert await listed(f"property_id={other['id']}") != []
    assert await listed("after=2026-06-25&before=2026-07-02") == [
        ids["smoke_co_alarm"],
        ids["legionella"],
    ]
    r = await client.get(
        f"{API}?date={ON}&status=expiring&limit=2&sort=-expiry_date", headers=headers
    )
    page = r.json()
    assert page["total"] == 3 and [c["id"] for c in page["items"]] == [
        ids["legionella"],
        ids["smoke_co_alarm"],
    ]
    assert {c["status"] for c in page["items"]} == {"expiring"}
    one = (await client.get(f"{API}/{ids['eicr']}?date={ON}", headers=headers)).json()
    assert one["status"] == "expiring" and one["days_to_expiry"] == 0
    later = (await client.get(f"{API}/{ids['eicr']}?date=2026-06-02", headers=headers)).json()
    assert later["status"] == "expired" and later["days_to_expiry"] == -1
    bad = await client.get(f"{API}?status=missing", headers=headers)
    assert bad.status_code == 422 and "compliance/items" in bad.text
    assert (await client.get(f"{API}?status=soon", headers=headers)).status_code == 422
    assert (await client.get(f"{API}?before=tomorrow", headers=headers)).status_code == 422


async def test_a_renewal_supersedes_the_old_certificate(client: Any, headers: Any) -> None:
    prop = await _property(client, headers)
    old = await _cert(client, headers, prop["id"], issued_date="2025-03-01")
    new = await _cert(client, headers, prop["id"], issued_date="2026-02-20", reference="GS-2")
    # An older certificate recorded afterwards is history, not current.
    older = await _cert(client, headers, prop["id"], issued_date="2024-03-01", reference="GS-0")
    assert older["is_current"] is False
    current = (await client.get(f"{API}?property_id={prop['id']}", headers=headers)).json()
    assert [c["id"] for c in current["items"]] == [new["id"]]
    everything = (
        await client.get(f"{API}?property_id={prop['id']}&include_superseded=true", headers=headers)
    ).json()
    assert {c["id"] for c in everything["items"]} == {old["id"], new["id"], older["id"]}
    listed = (
        await client.get(f"/api/v1/properties/{prop['id']}/certificates?date={ON}", headers=headers)
    ).json()
    assert listed["total"] == 3
    assert listed["items"][0]["id"] == new["id"] and listed["items"][0]["is_current"] is True
    # Deleting the renewal makes the previous one current again.
    assert (await client.delete(f"{API}/{new['id']}", headers=headers)).status_code == 204
    again = (await client.get(f"{API}/{old['id']}", headers=headers)).json()
    assert again["is_current"] is True


async def test_patch_rederives_and_records_activity(
    client: Any, headers: Any, session: Any
) -> None:
    prop = await _property(client, headers)
    cert = await _cert(client, headers, prop["id"], issued_date="2025-09-10")
    assert cert["expiry_date"] == "2026-09-10"
    # Changing the issue date of a derived expiry moves the expiry with it.
    r = await client.patch(
        f"{API}/{cert['id']}", json={"issued_date": "2025-10-01"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["expiry_date"] == "2026-10-01"
    # A stated expiry sticks...
    r = await client.patch(
        f"{API}/{cert['id']}", json={"expiry_date": "2026-09-30"}, headers=headers
    )
    assert r.json()["expiry_date"] == "2026-09-30" and r.json()["expiry_derived"] is False
    r = await client.patch(
        f"{API}/{cert['id']}", json={"issued_date": "2025-09-29"}, headers=headers
    )
    assert r.json()["expiry_date"] == "2026-09-30"
    # ...until it is cleared, when the rule applies again.
    r = await client.patch(f"{API}/{cert['id']}", json={"expiry_date": None}, headers=headers)
    assert r.json()["expiry_date"] == "2026-09-29" and r.json()["expiry_derived"] is True
    assert (
        await client.patch(f"{API}/{cert['id']}", json={"issued_date": None}, headers=headers)
    ).status_code == 422
    assert (
        await client.patch(f"{API}/{cert['id']}", json={"type": "epc"}, headers=headers)
    ).json()["field"] == "rating"
    assert (
        await client.patch(f"{API}/{cert['id']}", json={"property_id": 1}, headers=headers)
    ).status_code == 422
    timeline = (await client.get(f"{API}/{cert['id']}/activity", headers=headers)).json()
    assert [a["action"] for a in timeline["items"]] == ["updated"] * 4 + ["created"]
    assert timeline["items"][0]["changes"]["expiry_date"] == ["2026-09-30", "2026-09-29"]
    prop_events = await session.scalars(
        select(Activity.action).where(
            Activity.entity_type == "property", Activity.entity_id == prop["id"]
        )
    )
    assert "certificate_added" in list(prop_events)


async def test_changing_the_type_moves_the_current_flag(client: Any, headers: Any) -> None:
    prop = await _property(client, headers)
    gas_old = await _cert(client, headers, prop["id"], issued_date="2025-01-05")
    gas_new = await _cert(client, headers, prop["id"], issued_date="2026-01-05")
    # The newer one was really an alarm check recorded under the wrong type.
    r = await client.patch(
        f"{API}/{gas_new['id']}", json={"type": "smoke_co_alarm"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["is_current"] is True
    assert (await client.get(f"{API}/{gas_old['id']}", headers=headers)).json()["is_current"]


async def test_epc_keeps_the_property_rating_in_step(client: Any, headers: Any) -> None:
    prop = await _property(client, headers, epc_rating="D")
    await _cert(client, headers, prop["id"], type="epc", rating="b", issued_date="2024-05-01")
    got = (await client.get(f"/api/v1/properties/{prop['id']}", headers=headers)).json()
    assert got["epc_rating"] == "B"


async def test_roles(client: Any, session: Any, agency: Any, headers: Any) -> None:
    viewer = await token_headers(session, await make_user(session, agency, role="viewer"))
    negotiator = await token_headers(session, await make_user(session, agency, role="negotiator"))
    prop = await _property(client, headers)
    assert (
        await client.post(API, json=certificate_payload(prop["id"]), headers=viewer)
    ).status_code == 403
    cert = await _cert(client, negotiator, prop["id"])
    assert (await client.get(f"{API}/{cert['id']}", headers=viewer)).status_code == 200
    assert (
        await client.patch(f"{API}/{cert['id']}", json={"reference": "X"}, headers=viewer)
    ).status_code == 403
    assert (await client.delete(f"{API}/{cert['id']}", headers=negotiator)).status_code == 403
    assert (await client.delete(f"{API}/{cert['id']}", headers=headers)).status_code == 204
    assert (await client.get(f"{API}/{cert['id']}", headers=headers)).status_code == 404
    assert (await client.get(API, headers={})).status_code == 401


async def test_tenant_isolation(client: Any, headers: Any, other_headers: Any) -> None:
    prop = await _property(client, headers)
    cert = await _cert(client, headers, prop["id"], issued_date="2025-01-01")
    theirs_prop = await _property(client, other_headers)
    theirs = await _cert(client, other_headers, theirs_prop["id"], issued_date="2025-01-01")
    cid = cert["id"]
    for method, kwargs in [
        ("get", {}),
        ("patch", {"json": {"reference": "stolen"}}),
        ("delete", {}),
    ]:
        r = await getattr(client, method)(f"{API}/{cid}", headers=other_headers, **kwargs)
        assert r.status_code == 404, (method, r.text)
    assert (await client.get(f"{API}/{cid}/activity", headers=other_headers)).status_code == 404
    for path in ("certificates", "compliance"):
        r = await client.get(f"/api/v1/properties/{prop['id']}/{path}", headers=other_headers)
        assert r.status_code == 404
    for query in ("", "?status=expired&date=2026-06-01", f"?property_id={prop['id']}"):
        listed = (await client.get(f"{API}{query}", headers=other_headers)).json()
        assert cid not in [c["id"] for c in listed["items"]]
    assert [c["id"] for c in (await client.get(API, headers=other_headers)).json()["items"]] == [
        theirs["id"]
    ]
    # Nothing changed in the owner's record.
    assert (await client.get(f"{API}/{cid}", headers=headers)).json()["reference"] == "GS-0001"


async def test_openapi_lists_the_compliance_and_task_endpoints(client: Any) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/certificates",
        "/api/v1/certificates/{certificate_id}",
        "/api/v1/certificates/{certificate_id}/activity",
        "/api/v1/properties/{property_id}/certificates",
        "/api/v1/properties/{property_id}/compliance",
        "/api/v1/compliance/summary",
        "/api/v1/compliance/items",
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}",
        "/api/v1/tasks/{task_id}/activity",
    ):
        assert path in paths, path


async def test_property_has_gas(client: Any, headers: Any) -> None:
    flat = await _property(client, headers)
    assert flat["has_gas"] is True
    land = await _property(
        client, headers, property_type="land", marketing_type="sale", price_pence=9_000_000
    )
    assert land["has_gas"] is False
    electric = await _property(client, headers, has_gas=False)
    assert electric["has_gas"] is False
    url = f"/api/v1/properties/{flat['id']}"
    r = await client.patch(url, json={"has_gas": False}, headers=headers)
    assert r.status_code == 200 and r.json()["has_gas"] is False
    r = await client.patch(url, json={"has_gas": None}, headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "has_gas"
    r = await client.patch(url, json={"has_gas": "sometimes"}, headers=headers)
    assert r.status_code == 422
    # Without gas, the property needs no gas safety certificate.
    body = (await client.get(f"{url}/compliance?date={ON}", headers=headers)).json()
    gas = next(r for r in body["requirements"] if r["type"] == "gas_safety")
    assert gas["required"] is False
    assert not any("Gas" in p for p in body["lettable_problems"])
