"""In a real browser: pages work under the strict CSP, and CSRF protects the forms."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import csp_violations, sign_in

pytestmark = pytest.mark.e2e


def test_pages_raise_no_csp_violations(page: Any, live_server: dict[str, Any]) -> None:
    login = page.goto("/login")
    csp = login.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert csp_violations(page) == []
    sign_in(page, live_server)
    for path in ("/properties", "/properties/new", "/properties/999999", "/no-such-page"):
        response = page.goto(path)
        assert response.headers["x-frame-options"] == "DENY"
        assert csp_violations(page) == [], path
    # HTMX still works (no eval, no inline styles) and sends the CSRF header from <body>.
    page.goto("/properties")
    with page.expect_request(re.compile(r"/properties\?.*q=zzz")) as request:
        page.get_by_label("Search address").press_sequentially("zzz")
    assert request.value.headers.get("x-csrf-token")
    page.locator("#results").get_by_text("No properties match these filters.").wait_for()
    assert csp_violations(page) == []
    assert page.console_errors == []


def test_a_form_without_its_token_is_refused(page: Any, live_server: dict[str, Any]) -> None:
    sign_in(page, live_server)
    page.goto("/properties/new")
    # What a forged cross-site form would look like: the right fields, no valid token.
    page.locator("main input[name=csrf_token]").evaluate("el => el.value = 'forged'")
    page.get_by_label("Address line 1").fill("1 Forged Street")
    page.get_by_label("Town or city").fill("Southampton")
    page.get_by_label("Postcode").fill("SO15 2JP")
    page.get_by_label("Price (£, rent per month for lettings)").fill("900")
    with page.expect_response("**/properties") as response:
        page.get_by_role("button", name="Add property").click()
    assert response.value.status == 403
    assert page.get_by_text("CSRF validation failed", exact=False).is_visible()
