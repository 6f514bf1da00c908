"""Landlords' bank details: encrypted at rest, masked in the API, full only for managers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from estatecrm.db import scoping
from tests.builders import make_user, token_headers

LANDLORD = {
    "first_name": "Lena",
    "last_name": "Landlord",
    "email": "lena@landlords.test",
    "roles": ["landlord"],
}
BANK = {"account_name": "L Landlord", "sort_code": "12 34 56", "account_number": "12345678"}


async def _landlord(client: Any, headers: dict[str, str]) -> int:
    r = await client.post("/api/v1/contacts", json=LANDLORD, headers=headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def test_set_masked_reveal_and_clear(client: Any, headers: Any, session: Any) -> None:
    cid = await _landlord(client, headers)
    r = await client.put(f"/api/v1/contacts/{cid}/bank-details", json=BANK, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["bank_details"] == {
        "account_name": "L Landlord",
        "sort_code": "**-**-56",
        "account_number": "****5678",
    }
    # Stored as ciphertext: the raw column holds neither the number nor the sort code.
    raw = (
        await session.execute(
            scoping.cross_agency(
                text("SELECT bank_account_number, bank_sort_code FROM contact WHERE id = :i"),
                "test: the raw column as stored",
            ),
            {"i": cid},
        )
    ).one()
    assert "12345678" not in raw[0] and "12-34-56" not in raw[1]
    full = await client.get(f"/api/v1/contacts/{cid}/bank-details", headers=headers)
    assert full.json() == {
        "account_name": "L Landlord",
        "sort_code": "12-34-56",
        "account_number": "12345678",
    }
    timeline = (await client.get(f"/api/v1/contacts/{cid}/activity", headers=headers)).json()
    actions = [a["action"] for a in timeline["items"]]
    assert actions[:2] == ["bank_viewed", "bank_changed"]
    assert "12345678" not in str(timeline) and "12-34-56" not in str(timeline)
    assert (
        await client.delete(f"/api/v1/contacts/{cid}/bank-details", headers=headers)
    ).status_code == 204
    got = (await client.get(f"/api/v1/contacts/{cid}", headers=headers)).json()
    assert got["bank_details"] is None
    r = await client.get(f"/api/v1/contacts/{cid}/bank-details", headers=headers)
    assert r.status_code == 404


async def test_bad_bank_details_are_422_naming_the_field(client: Any, headers: Any) -> None:
    cid = await _landlord(client, headers)
    for field, value in (
        ("sort_code", "12-34"),
        ("account_number", "12ab5678"),
        ("account_name", ""),
    ):
        r = await client.put(
            f"/api/v1/contacts/{cid}/bank-details", json={**BANK, field: value}, headers=headers
        )
        assert r.status_code == 422, (field, r.text)
        assert field in {d["field"] for d in r.json()["detail"]}
    got = (await client.get(f"/api/v1/contacts/{cid}", headers=headers)).json()
    assert got["bank_details"] is None


async def test_short_account_numbers_are_zero_padded(client: Any, headers: Any) -> None:
    cid = await _landlord(client, headers)
    body = {**BANK, "account_number": "123456"}
    assert (
        await client.put(f"/api/v1/contacts/{cid}/bank-details", json=body, headers=headers)
    ).status_code == 200
    full = (await client.get(f"/api/v1/contacts/{cid}/bank-details", headers=headers)).json()
    assert full["account_number"] == "00123456"


async def test_only_managers_see_or_change_bank_details(
    client: Any, session: Any, agency: Any, headers: Any
) -> None:
    cid = await _landlord(client, headers)
    await client.put(f"/api/v1/contacts/{cid}/bank-details", json=BANK, headers=headers)
    negotiator = await token_headers(session, await make_user(session, agency, role="negotiator"))
    viewer = await token_headers(session, await make_user(session, agency, role="viewer"))
    for who in (negotiator, viewer):
        assert (
            await client.get(f"/api/v1/contacts/{cid}/bank-details", headers=who)
        ).status_code == 403
        r = await client.put(f"/api/v1/contacts/{cid}/bank-details", json=BANK, headers=who)
        assert r.status_code == 403
        assert (
            await client.delete(f"/api/v1/contacts/{cid}/bank-details", headers=who)
        ).status_code == 403
        # Everyone who may read the contact sees the masked form only.
        masked = (await client.get(f"/api/v1/contacts/{cid}", headers=who)).json()["bank_details"]
        assert masked["account_number"] == "****5678"


async def test_tenant_isolation(client: Any, headers: Any, other_headers: Any) -> None:
    cid = await _landlord(client, headers)
    await client.put(f"/api/v1/contacts/{cid}/bank-details", json=BANK, headers=headers)
    url = f"/api/v1/contacts/{cid}/bank-details"
    assert (await client.get(url, headers=other_headers)).status_code == 404
    assert (await client.put(url, json=BANK, headers=other_headers)).status_code == 404
    assert (await client.delete(url, headers=other_headers)).status_code == 404
    full = (await client.get(url, headers=headers)).json()
    assert full["account_number"] == "12345678"


async def test_page_form_shows_errors_next_to_fields_and_reveal(
    client: Any, session: Any, agency: Any, headers: Any
) -> None:
    cid = await _landlord(client, headers)
    from tests.builders import PASSWORD

    manager = await make_user(session, agency, role="manager", email="mgr@web.test")
    r = await client.post("/login", data={"email": manager.email, "password": PASSWORD})
    assert r.status_code == 303
    bad = await client.post(f"/contacts/{cid}/bank-details", data={**BANK, "sort_code": "99"})
    assert bad.status_code == 422
    assert 'id="sort_code-error"' in bad.text
    ok = await client.post(f"/contacts/{cid}/bank-details", data=BANK)
    assert ok.status_code == 303
    page = await client.get(f"/contacts/{cid}")
    assert "****5678" in page.text and "12345678" not in page.text
    revealed = await client.get(f"/contacts/{cid}/bank-details")
    assert "12345678" in revealed.text
    assert revealed.headers["cache-control"] == "no-store"
