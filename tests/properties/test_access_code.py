"""The property access code (key safe / alarm): encrypted at rest, hidden from viewers, masked on
the page until a writer reveals it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, select, type_coerce

from estatecrm.properties.models import Property
from tests.builders import PASSWORD, make_property, make_user, property_payload, token_headers

API = "/api/v1/properties"
CODE = "Key safe 2231, alarm 9090#"


async def _raw(session: Any, prop_id: int) -> str | None:
    return await session.scalar(
        select(type_coerce(Property.access_code, Text)).where(Property.id == prop_id)
    )


async def test_writers_set_and_read_it_viewers_get_null(
    client: Any, session: Any, agency: Any, headers: Any
) -> None:
    r = await client.post(API, json=property_payload(access_code=f"  {CODE} "), headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["access_code"] == CODE
    raw = await _raw(session, body["id"])
    assert raw and CODE not in raw
    for role in ("manager", "negotiator"):
        h = await token_headers(session, await make_user(session, agency, role=role))
        assert (await client.get(f"{API}/{body['id']}", headers=h)).json()["access_code"] == CODE
        listed = (await client.get(API, headers=h)).json()["items"]
        assert [p["access_code"] for p in listed if p["id"] == body["id"]] == [CODE]
    viewer = await token_headers(session, await make_user(session, agency, role="viewer"))
    one = await client.get(f"{API}/{body['id']}", headers=viewer)
    assert one.status_code == 200 and one.json()["access_code"] is None
    listed = (await client.get(API, headers=viewer)).json()["items"]
    assert all(p["access_code"] is None for p in listed)
    assert CODE not in (await client.get(API, headers=viewer)).text
    denied = await client.patch(f"{API}/{body['id']}", json={"access_code": "0000"}, headers=viewer)
    assert denied.status_code == 403


async def test_patch_put_clear_and_validation(client: Any, session: Any, headers: Any) -> None:
    created = (await client.post(API, json=property_payload(), headers=headers)).json()
    assert created["access_code"] is None
    url = f"{API}/{created['id']}"
    r = await client.patch(url, json={"access_code": CODE}, headers=headers)
    assert r.status_code == 200 and r.json()["access_code"] == CODE
    activity = (await client.get(f"{url}/activity", headers=headers)).json()["items"][0]
    assert activity["changes"]["access_code"] == ["***", "***"] and CODE not in str(activity)
    # PATCH of other fields leaves it alone; an empty string clears it.
    assert (await client.patch(url, json={"bedrooms": 3}, headers=headers)).json()[
        "access_code"
    ] == CODE
    assert (await client.patch(url, json={"access_code": ""}, headers=headers)).json()[
        "access_code"
    ] is None
    assert await _raw(session, created["id"]) is None
    # PUT replaces every field: without the code it is cleared.
    await client.patch(url, json={"access_code": CODE}, headers=headers)
    put = await client.put(
        url, json=property_payload(reference=created["reference"]), headers=headers
    )
    assert put.status_code == 200 and put.json()["access_code"] is None
    too_long = await client.patch(url, json={"access_code": "x" * 101}, headers=headers)
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["field"] == "access_code"


async def _sign_in(client: Any, session: Any, agency: Any, role: str) -> Any:
    user = await make_user(session, agency, role=role, email=f"{role}.code@web.test")
    r = await client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code == 303
    return user


async def test_the_page_masks_it_until_revealed(client: Any, session: Any, agency: Any) -> None:
    user = await _sign_in(client, session, agency, "negotiator")
    prop = await make_property(session, user, access_code=CODE)
    page = await client.get(f"/properties/{prop.id}")
    assert page.status_code == 200
    assert CODE not in page.text and "••••••" in page.text and "Reveal code" in page.text
    # HTMX swaps in just the code, never cached.
    fragment = await client.get(
        f"/properties/{prop.id}/access-code", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and fragment.headers["cache-control"] == "no-store"
    assert CODE in fragment.text and "<html" not in fragment.text and "Hide code" in fragment.text
    hidden = await client.get(
        f"/properties/{prop.id}/access-code?hide=true", headers={"HX-Request": "true"}
    )
    assert CODE not in hidden.text and "Reveal code" in hidden.text
    # Without JavaScript the link opens the whole page with the code shown.
    full = await client.get(f"/properties/{prop.id}/access-code")
    assert full.status_code == 200 and "<html" in full.text and CODE in full.text


async def test_viewers_see_it_is_set_but_cannot_reveal(
    client: Any, session: Any, agency: Any, admin: Any
) -> None:
    prop = await make_property(session, admin, access_code=CODE)
    await _sign_in(client, session, agency, "viewer")
    page = await client.get(f"/properties/{prop.id}")
    assert CODE not in page.text and "••••••" in page.text and "Reveal code" not in page.text
    r = await client.get(f"/properties/{prop.id}/access-code", headers={"HX-Request": "true"})
    assert r.status_code == 403 and CODE not in r.text


async def test_the_edit_form_keeps_and_clears_it(client: Any, session: Any, agency: Any) -> None:
    user = await _sign_in(client, session, agency, "manager")
    prop = await make_property(session, user, access_code=CODE, reference="FORM-1")
    form = await client.get(f"/properties/{prop.id}/edit")
    assert form.headers["cache-control"] == "no-store"
    assert 'for="f-access_code"' in form.text and 'autocomplete="off"' in form.text
    assert f'value="{CODE}"' in form.text
    data = {
        "reference": "FORM-1",
        "address_line1": "12 Carlton Crescent",
        "city": "Southampton",
        "postcode": "SO15 2EZ",
        "marketing_type": "letting",
        "status": "available",
        "price": "1250",
        "property_type": "flat",
        "access_code": CODE,
    }
    saved = await client.post(f"/properties/{prop.id}/edit", data=data)
    assert saved.status_code == 303
    assert await session.scalar(select(Property.access_code).where(Property.id == prop.id)) == CODE
    cleared = await client.post(f"/properties/{prop.id}/edit", data={**data, "access_code": ""})
    assert cleared.status_code == 303
    assert await _raw(session, prop.id) is None
    bad = await client.post(f"/properties/{prop.id}/edit", data={**data, "access_code": "9" * 101})
    assert bad.status_code == 422 and 'id="access_code-error"' in bad.text


async def test_another_agency_gets_404(
    client: Any, session: Any, admin: Any, other_headers: Any, other_agency: Any
) -> None:
    prop = await make_property(session, admin, access_code=CODE)
    assert (await client.get(f"{API}/{prop.id}", headers=other_headers)).status_code == 404
    listed = await client.get(API, headers=other_headers)
    assert CODE not in listed.text and all(p["id"] != prop.id for p in listed.json()["items"])
    rival = await make_user(session, other_agency, role="admin", email="rival.code@web.test")
    await client.post("/login", data={"email": rival.email, "password": PASSWORD})
    r = await client.get(f"/properties/{prop.id}/access-code", headers={"HX-Request": "true"})
    assert r.status_code == 404 and CODE not in r.text
