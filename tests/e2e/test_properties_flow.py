"""An agent signs in, adds a property (fixing a mistake), finds it, edits it, signs out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import csp_violations, sign_in

pytestmark = pytest.mark.e2e
SHOTS = Path("var/screenshots")


def test_sign_in_add_property_and_find_it(page: Any, live_server: dict[str, Any]) -> None:
    sign_in(page, live_server)
    page.get_by_role("button", name="Add property").click()
    page.get_by_label("Address line 1").fill("21 Quarrington Polygon Road")
    page.get_by_label("Town or city").fill("Southampton")
    page.get_by_label("Postcode").fill("not a postcode")
    page.get_by_label("Marketing type").select_option("letting")
    page.get_by_label("Status").select_option("available")
    page.get_by_label("Price (£, rent per month for lettings)").fill("1,150")
    page.get_by_label("Property type").select_option("flat")
    page.get_by_label("Bedrooms").fill("2")
    page.get_by_role("button", name="Add property").click()
    # The error is shown next to the postcode field, and what was typed is kept.
    error = page.locator("#postcode-error")
    error.wait_for()
    assert "valid UK postcode" in error.inner_text()
    assert page.get_by_label("Address line 1").input_value() == "21 Quarrington Polygon Road"
    page.get_by_label("Postcode").fill("so15 2jp")
    page.get_by_role("button", name="Add property").click()
    page.wait_for_url(re.compile(r"/properties/\d+$"))
    assert page.get_by_role("heading", name="21 Quarrington Polygon Road").is_visible()
    assert "SO15 2JP" in page.content()
    assert page.locator("#price").inner_text() == "£1,150 pcm"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "property-detail.png"), full_page=True)

    # Edit it.
    page.get_by_role("button", name="Edit").click()
    page.get_by_label("Bedrooms").fill("3")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(r"/properties/\d+$"))
    assert "Bedrooms" in page.content()

    # Find it in the list with the HTMX filter (no full page load).
    page.goto("/properties")
    # Typed key by key, as a person would.
    page.get_by_label("Search address").press_sequentially("quarrington")
    page.locator("#results").get_by_text("21 Quarrington Polygon Road").wait_for()
    # The live server is shared with other browser tests: wait for the filter to apply.
    expect(page.locator("#results tbody tr")).to_have_count(1)
    page.screenshot(path=str(SHOTS / "properties-list.png"), full_page=True)
    assert page.console_errors == []
    assert csp_violations(page) == []

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    page.goto("/properties")
    page.wait_for_url(re.compile(r"/login"))
