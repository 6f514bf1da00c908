"""Sign-in for the API: tokens are issued, checked, revoked; failures are generic."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from estatecrm.auth.models import ApiToken
from tests.builders import PASSWORD, make_user


async def test_token_round_trip(client: Any, session: Any, agency: Any) -> None:
    user = await make_user(session, agency, email="nia@agency.test")
    r = await client.post(
        "/api/v1/auth/token", json={"email": "NIA@agency.test", "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_at"]
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["id"] == user.id and me.json()["agency_id"] == agency.id
    # Stored hashed, never in clear.
    stored = (await session.scalars(select(ApiToken.token_hash))).all()
    assert body["access_token"] not in stored
    r = await client.delete("/api/v1/auth/token", headers=headers)
    assert r.status_code == 204
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


async def test_wrong_credentials_are_generic_401(client: Any, session: Any, agency: Any) -> None:
    await make_user(session, agency, email="nia@agency.test")
    wrong_pw = await client.post(
        "/api/v1/auth/token", json={"email": "nia@agency.test", "password": "nope"}
    )
    no_user = await client.post(
        "/api/v1/auth/token", json={"email": "who@agency.test", "password": "nope"}
    )
    assert wrong_pw.status_code == no_user.status_code == 401
    assert wrong_pw.json() == no_user.json() == {"error": "Invalid email or password"}


async def test_no_or_bad_token_is_401(client: Any) -> None:
    assert (await client.get("/api/v1/properties")).status_code == 401
    r = await client.get("/api/v1/properties", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401
    assert r.json()["error"] == "Not authenticated"


async def test_inactive_user_cannot_sign_in(client: Any, session: Any, agency: Any) -> None:
    user = await make_user(session, agency, email="gone@agency.test")
    user.is_active = False
    await session.flush()
    r = await client.post(
        "/api/v1/auth/token", json={"email": "gone@agency.test", "password": PASSWORD}
    )
    assert r.status_code == 401
