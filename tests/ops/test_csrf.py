"""CSRF: signed double-submit cookie bound to the session; forms, HTMX, API, bearer tokens."""

from __future__ import annotations

import re
from typing import Any

from estatecrm.ops.csrf import CSRFTokens
from tests.builders import PASSWORD, make_property, make_user, property_payload
from tests.ops.conftest import client_for, sample

FORM = {
    "address_line1": "7 Bedford Place",
    "city": "Southampton",
    "postcode": "SO15 2DD",
    "marketing_type": "letting",
    "status": "available",
    "price": "1150",
    "property_type": "flat",
}


def hidden_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no csrf_token field"
    return match.group(1)


async def sign_in(client: Any, session: Any, agency: Any, email: str = "nia@agency.test") -> Any:
    """Sign in through the login form, as a browser does (the form carries the token)."""
    user = await make_user(session, agency, email=email)
    page = await client.get("/login")
    r = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": hidden_token(page.text)}
    )
    assert r.status_code == 303, r.text
    return user


async def test_csrf_token_endpoint_sets_the_cookie(raw_client: Any) -> None:
    r = await raw_client.get("/csrf-token")
    assert r.status_code == 200
    token = r.json()["csrf_token"]
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"estatecrm_csrf={token};")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert r.headers["cache-control"] == "no-store"
    # Asking again keeps the same token (other open tabs keep working).
    assert (await raw_client.get("/csrf-token")).json()["csrf_token"] == token


async def test_login_form_is_protected(raw_client: Any, session: Any, agency: Any) -> None:
    await make_user(session, agency, email="nia@agency.test")
    before = sample("csrf_failures_total")
    r = await raw_client.post("/login", data={"email": "nia@agency.test", "password": PASSWORD})
    assert r.status_code == 403
    assert "CSRF validation failed" in r.text and "<html" in r.text
    assert "estatecrm_session" not in r.headers.get("set-cookie", "")
    assert sample("csrf_failures_total") == before + 1
    await sign_in(raw_client, session, agency, email="other@agency.test")


async def test_page_forms_need_the_token(raw_client: Any, session: Any, agency: Any) -> None:
    await sign_in(raw_client, session, agency)
    # Sign-in gave the browser a new token bound to its new session.
    new_form = await raw_client.get("/properties/new")
    token = hidden_token(new_form.text)
    assert f'"X-CSRF-Token": "{token}"' in new_form.text  # HTMX sends it from <body>
    assert raw_client.cookies.get("estatecrm_csrf") == token

    refused = await raw_client.post("/properties", data=FORM)
    assert refused.status_code == 403 and "CSRF validation failed" in refused.text
    wrong = await raw_client.post("/properties", data={**FORM, "csrf_token": token[:-2] + "xx"})
    assert wrong.status_code == 403
    by_field = await raw_client.post("/properties", data={**FORM, "csrf_token": token})
    assert by_field.status_code == 303, by_field.text
    by_header = await raw_client.post(
        "/properties",
        data={**FORM, "address_line1": "8 Bedford Place"},
        headers={"X-CSRF-Token": token},
    )
    assert by_header.status_code == 303
    # multipart forms are read too, and the handler still gets the whole body.
    multipart = await raw_client.post(
        "/properties",
        data={**FORM, "address_line1": "9 Bedford Place", "csrf_token": token},
        files={"unused": ("note.txt", b"hello", "text/plain")},
    )
    assert multipart.status_code == 303, multipart.text
    detail = await raw_client.get(multipart.headers["location"])
    assert "9 Bedford Place" in detail.text


async def test_garbage_tokens_are_refused_not_crashed_on(
    raw_client: Any, session: Any, agency: Any
) -> None:
    await sign_in(raw_client, session, agency)
    for garbage in ("é" * 40, "a.b.c", "", "x" * 5000):
        r = await raw_client.post(
            "/properties", data=FORM, headers={"X-CSRF-Token": garbage.encode()}
        )
        assert r.status_code == 403, garbage[:10]
    r = await raw_client.post("/properties", data={**FORM, "csrf_token": "ÿ:é.sig"})
    assert r.status_code == 403


async def test_htmx_failure_is_a_toast(raw_client: Any, session: Any, agency: Any) -> None:
    await sign_in(raw_client, session, agency)
    r = await raw_client.post("/properties", data=FORM, headers={"HX-Request": "true"})
    assert r.status_code == 403
    assert r.headers["hx-retarget"] == "#toasts"
    assert 'class="toast"' in r.text and "<html" not in r.text


async def test_session_cookie_api_calls_need_the_header(
    raw_client: Any, session: Any, agency: Any
) -> None:
    user = await sign_in(raw_client, session, agency)
    prop = await make_property(session, user)
    url = f"/api/v1/properties/{prop.id}"
    r = await raw_client.patch(url, json={"bedrooms": 4})
    assert r.status_code == 403
    assert r.json() == {"error": "CSRF validation failed"}
    token = (await raw_client.get("/csrf-token")).json()["csrf_token"]
    r = await raw_client.patch(url, json={"bedrooms": 4}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json()["bedrooms"] == 4


async def test_bearer_requests_are_exempt(raw_client: Any, headers: dict[str, str]) -> None:
    r = await raw_client.post("/api/v1/properties", json=property_payload(), headers=headers)
    assert r.status_code == 201


async def test_token_of_another_session_is_refused(
    app: Any, raw_client: Any, session: Any, agency: Any
) -> None:
    await sign_in(raw_client, session, agency)
    victim_token = raw_client.cookies.get("estatecrm_csrf")
    async with client_for(app) as attacker:
        await sign_in(attacker, session, agency, email="mallory@agency.test")
        # Planting someone else's (genuine) token in cookie and header does not help.
        attacker.cookies.set("estatecrm_csrf", victim_token)
        r = await attacker.post("/properties", data={**FORM, "csrf_token": victim_token})
        assert r.status_code == 403
        # Nor does an unsigned value of the attacker's choosing.
        attacker.cookies.set("estatecrm_csrf", "chosen-by-attacker")
        r = await attacker.post("/properties", data={**FORM, "csrf_token": "chosen-by-attacker"})
        assert r.status_code == 403


async def test_previous_secret_key_still_verifies(make_app: Any, session: Any, agency: Any) -> None:
    await make_user(session, agency, email="nia@agency.test")
    old = "o" * 48
    app = make_app(secret_key="n" * 48, secret_key_previous=old)
    issued_before_rotation = CSRFTokens(old).issue(None)
    async with client_for(app) as c:
        c.cookies.set("estatecrm_csrf", issued_before_rotation)
        r = await c.post(
            "/login",
            data={
                "email": "nia@agency.test",
                "password": PASSWORD,
                "csrf_token": issued_before_rotation,
            },
        )
    assert r.status_code == 303
    # A key that was never ours is refused.
    stranger = CSRFTokens("s" * 48).issue(None)
    async with client_for(make_app(secret_key="n" * 48)) as c:
        c.cookies.set("estatecrm_csrf", stranger)
        r = await c.post(
            "/login", data={"email": "x@y.test", "password": "p", "csrf_token": stranger}
        )
    assert r.status_code == 403


async def test_sign_out_needs_the_token(raw_client: Any, session: Any, agency: Any) -> None:
    await sign_in(raw_client, session, agency)
    assert (await raw_client.post("/logout")).status_code == 403
    page = await raw_client.get("/properties")
    r = await raw_client.post("/logout", data={"csrf_token": hidden_token(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/login"
