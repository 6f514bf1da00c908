"""The properties register through the JSON API."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from estatecrm.activity.models import Activity
from estatecrm.properties.models import Property
from tests.builders import make_user, property_payload, token_headers

API = "/api/v1/properties"


async def test_create_normalises_postcode_and_generates_reference(
    client: Any, headers: Any
) -> None:
    r = await client.post(API, json=property_payload(postcode="so152js"), headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["postcode"] == "SO15 2JS"
    assert body["reference"].startswith("SO15-")
    assert body["status_changed_at"] and body["listed_at"] and body["instructed_at"]
    got = await client.get(f"{API}/{body['id']}", headers=headers)
    assert got.status_code == 200 and got.json() == body


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"postcode": "NOTAPOSTCODE"}, "postcode"),
        ({"price_pence": -5}, "price_pence"),
        ({"price_pence": "lots"}, "price_pence"),
        ({"bedrooms": 1.5}, "bedrooms"),
        ({"property_type": "castle"}, "property_type"),
        ({"marketing_type": "letting", "status": "sold"}, "status"),
        ({"marketing_type": "sale", "status": "let"}, "status"),
        ({"epc_rating": "Z"}, "epc_rating"),
        ({"council_tax_band": "J"}, "council_tax_band"),
        ({"address_line1": "x" * 5000}, "address_line1"),
        ({"address_line1": ""}, "address_line1"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"features": ["ok"] * 51}, "features"),
        ({"office_id": 999999}, "office_id"),
        ({"negotiator_id": 999999}, "negotiator_id"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: Any, headers: Any, session: Any, overrides: dict[str, Any], field: str
) -> None:
    before = await session.scalar(select(func.count(Property.id)))
    r = await client.post(API, json=property_payload(**overrides), headers=headers)
    assert r.status_code == 422, r.text
    body = r.json()
    fields = {body.get("field")} | {d.get("field") for d in body.get("detail", [])}
    assert field in fields, body
    assert "Traceback" not in r.text
    assert await session.scalar(select(func.count(Property.id))) == before


async def test_malformed_json_is_422(client: Any, headers: Any) -> None:
    r = await client.post(
        API, content=b"{not json", headers={**headers, "content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "body"


async def test_duplicate_reference_is_409(client: Any, headers: Any) -> None:
    assert (
        await client.post(API, json=property_payload(reference="REF-1"), headers=headers)
    ).status_code == 201
    r = await client.post(API, json=property_payload(reference="REF-1"), headers=headers)
    assert r.status_code == 409
    assert r.json()["field"] == "reference"


async def test_put_patch_delete_and_activity(client: Any, headers: Any, session: Any) -> None:
    created = (await client.post(API, json=property_payload(), headers=headers)).json()
    pid = created["id"]
    r = await client.patch(
        f"{API}/{pid}", json={"price_pence": 130_000, "status": "let_agreed"}, headers=headers
    )
    assert r.status_code == 200
    assert r.json()["price_pence"] == 130_000 and r.json()["status"] == "let_agreed"
    assert r.json()["status_changed_at"] >= created["status_changed_at"]
    full = property_payload(address_line1="12a Carlton Crescent", status="let", price_pence=140_000)
    r = await client.put(f"{API}/{pid}", json=full, headers=headers)
    assert r.status_code == 200 and r.json()["address_line1"] == "12a Carlton Crescent"
    assert r.json()["reference"] == created["reference"]
    # PUT is a full replace: a missing required field is 422.
    partial = {k: v for k, v in full.items() if k != "city"}
    assert (await client.put(f"{API}/{pid}", json=partial, headers=headers)).status_code == 422
    # PATCH cannot null a required field.
    assert (
        await client.patch(f"{API}/{pid}", json={"city": None}, headers=headers)
    ).status_code == 422
    timeline = (await client.get(f"{API}/{pid}/activity", headers=headers)).json()
    actions = [a["action"] for a in timeline["items"]]
    assert actions == ["updated", "updated", "created"]
    assert timeline["items"][0]["changes"]["price_pence"] == [130_000, 140_000]
    assert (await client.delete(f"{API}/{pid}", headers=headers)).status_code == 204
    assert (await client.get(f"{API}/{pid}", headers=headers)).status_code == 404
    deleted = await session.scalar(
        select(Activity).where(Activity.entity_id == pid, Activity.action == "deleted")
    )
    assert deleted is not None and deleted.actor_user_id is not None


async def test_a_deleted_propertys_id_is_never_given_to_a_new_one(
    client: Any, headers: Any
) -> None:
    gone = (await client.post(API, json=property_payload(), headers=headers)).json()["id"]
    await client.patch(f"{API}/{gone}", json={"price_pence": 99_000}, headers=headers)
    assert (await client.delete(f"{API}/{gone}", headers=headers)).status_code == 204
    new = (await client.post(API, json=property_payload(), headers=headers)).json()["id"]
    assert new > gone
    timeline = (await client.get(f"{API}/{new}/activity", headers=headers)).json()["items"]
    assert [a["action"] for a in timeline] == ["created"]  # none of the deleted one's history
    assert (await client.get(f"{API}/{gone}", headers=headers)).status_code == 404


async def test_list_filters_sort_and_pagination(client: Any, headers: Any) -> None:
    rows = [
        property_payload(city="Southampton", postcode="SO15 2EZ", bedrooms=1, price_pence=90_000),
        property_payload(city="Southampton", postcode="SO17 1BJ", bedrooms=3, price_pence=150_000),
        property_payload(
            city="Bristol",
            postcode="BS6 5AA",
            bedrooms=2,
            price_pence=120_000,
            address_line1="4 Gloucester Road",
        ),
        property_payload(
            city="Bristol",
            postcode="BS8 1TH",
            bedrooms=4,
            marketing_type="sale",
            price_pence=45_000_000,
            status="under_offer",
            property_type="house",
        ),
    ]
    for body in rows:
        assert (await client.post(API, json=body, headers=headers)).status_code == 201

    async def ids(query: str) -> list[str]:
        r = await client.get(f"{API}?{query}", headers=headers)
        assert r.status_code == 200, r.text
        return [p["postcode"] for p in r.json()["items"]]

    assert set(await ids("city=Bristol")) == {"BS6 5AA", "BS8 1TH"}
    assert await ids("postcode=SO15") == ["SO15 2EZ"]
    assert await ids("postcode=so17%201") == ["SO17 1BJ"]
    assert await ids("status=under_offer") == ["BS8 1TH"]
    assert set(await ids("marketing_type=letting&min_bedrooms=2")) == {"SO17 1BJ", "BS6 5AA"}
    assert await ids("max_bedrooms=1") == ["SO15 2EZ"]
    assert await ids("property_type=house") == ["BS8 1TH"]
    assert await ids("min_price_pence=100000&max_price_pence=140000") == ["BS6 5AA"]
    assert await ids("q=gloucester") == ["BS6 5AA"]
    assert await ids("sort=price_pence&marketing_type=letting") == [
        "SO15 2EZ",
        "BS6 5AA",
        "SO17 1BJ",
    ]
    assert await ids("sort=-price_pence&limit=1") == ["BS8 1TH"]
    page = (await client.get(f"{API}?limit=2&offset=2&sort=price_pence", headers=headers)).json()
    assert page["total"] == 4 and page["limit"] == 2 and page["offset"] == 2
    assert [p["postcode"] for p in page["items"]] == ["SO17 1BJ", "BS8 1TH"]
    assert (await client.get(f"{API}?limit=101", headers=headers)).status_code == 422
    assert (await client.get(f"{API}?status=flying", headers=headers)).status_code == 422


async def test_viewer_cannot_write_and_negotiator_cannot_delete(
    client: Any, session: Any, agency: Any, headers: Any
) -> None:
    viewer = await token_headers(session, await make_user(session, agency, role="viewer"))
    negotiator = await token_headers(session, await make_user(session, agency, role="negotiator"))
    assert (await client.post(API, json=property_payload(), headers=viewer)).status_code == 403
    created = await client.post(API, json=property_payload(), headers=negotiator)
    assert created.status_code == 201
    pid = created.json()["id"]
    assert (await client.get(f"{API}/{pid}", headers=viewer)).status_code == 200
    assert (
        await client.patch(f"{API}/{pid}", json={"bedrooms": 3}, headers=viewer)
    ).status_code == 403
    assert (await client.delete(f"{API}/{pid}", headers=negotiator)).status_code == 403
    assert (await client.delete(f"{API}/{pid}", headers=headers)).status_code == 204


async def test_tenant_isolation(client: Any, headers: Any, other_headers: Any) -> None:
    mine = (
        await client.post(API, json=property_payload(reference="MINE-1"), headers=headers)
    ).json()
    theirs = await client.post(
        API, json=property_payload(reference="MINE-1"), headers=other_headers
    )
    # References are unique per agency, not globally.
    assert theirs.status_code == 201
    pid = mine["id"]
    for method, kwargs in [
        ("get", {}),
        ("patch", {"json": {"bedrooms": 5}}),
        ("put", {"json": property_payload()}),
        ("delete", {}),
    ]:
        r = await getattr(client, method)(f"{API}/{pid}", headers=other_headers, **kwargs)
        assert r.status_code == 404, (method, r.text)
    assert (await client.get(f"{API}/{pid}/activity", headers=other_headers)).status_code == 404
    listed = (await client.get(API, headers=other_headers)).json()
    assert [p["id"] for p in listed["items"]] == [theirs.json()["id"]]
    # Nothing changed in the owner's record.
    assert (await client.get(f"{API}/{pid}", headers=headers)).json() == mine


async def test_cannot_assign_another_agencys_negotiator(
    client: Any, session: Any, headers: Any, other_agency: Any
) -> None:
    rival = await make_user(session, other_agency, email="rival-neg@rival.test")
    r = await client.post(API, json=property_payload(negotiator_id=rival.id), headers=headers)
    assert r.status_code == 422
    assert r.json()["field"] == "negotiator_id"


async def test_openapi_docs_are_served(client: Any) -> None:
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/properties/{property_id}" in spec["paths"]
