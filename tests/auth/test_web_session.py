"""Browser sign-in: server-side sessions in an HttpOnly cookie, revoked on sign-out."""

from __future__ import annotations

from typing import Any

from tests.builders import PASSWORD, make_user


async def test_login_page_has_labelled_fields(client: Any) -> None:
    r = await client.get("/login")
    assert r.status_code == 200
    html = r.text
    assert '<label for="f-email">Email' in html and 'name="email"' in html
    assert '<label for="f-password">Password' in html and 'name="password"' in html
    assert ">Sign in</button>" in html


async def test_sign_in_sets_httponly_cookie_and_sign_out_revokes(
    client: Any, session: Any, agency: Any
) -> None:
    await make_user(session, agency, email="nia@agency.test")
    r = await client.post("/login", data={"email": "nia@agency.test", "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/properties"
    cookie = r.headers["set-cookie"]
    assert "estatecrm_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    raw = client.cookies.get("estatecrm_session")
    assert (await client.get("/properties")).status_code == 200
    # The same cookie works for the JSON API too.
    assert (await client.get("/api/v1/me")).status_code == 200
    r = await client.post("/logout")
    assert r.status_code == 303
    # Replaying the old cookie after sign-out does not work: the session was revoked.
    client.cookies.set("estatecrm_session", raw)
    r = await client.get("/properties")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_wrong_password_shows_error_on_form(client: Any, session: Any, agency: Any) -> None:
    await make_user(session, agency, email="nia@agency.test")
    r = await client.post("/login", data={"email": "nia@agency.test", "password": "wrong"})
    assert r.status_code == 401
    assert "Invalid email or password" in r.text
    assert "estatecrm_session" not in r.headers.get("set-cookie", "")


async def test_empty_login_names_both_fields(client: Any) -> None:
    r = await client.post("/login", data={"email": "", "password": ""})
    assert r.status_code == 422
    assert 'id="email-error"' in r.text and 'id="password-error"' in r.text


async def test_open_redirect_is_refused(client: Any, session: Any, agency: Any) -> None:
    await make_user(session, agency, email="nia@agency.test")
    r = await client.post(
        "/login", data={"email": "nia@agency.test", "password": PASSWORD, "next": "//evil.example"}
    )
    assert r.headers["location"] == "/properties"


async def test_pages_redirect_to_login(client: Any) -> None:
    r = await client.get("/properties/new")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/properties/new"
