"""An agent adds a contact, records what they want, finds them in a property's matches, books a
viewing from there, sees it in the diary and completes it with feedback (Chromium)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from estatecrm.kit.clock import today_london
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e
SHOTS = Path("var/screenshots")


def test_contact_to_completed_viewing(page: Any, live_server: dict[str, Any]) -> None:
    sign_in(page, live_server)
    SHOTS.mkdir(parents=True, exist_ok=True)

    # A flat to let in SO15.
    page.get_by_role("button", name="Add property").click()
    page.get_by_label("Address line 1").fill("14 Polygon Road")
    page.get_by_label("Town or city").fill("Southampton")
    page.get_by_label("Postcode").fill("SO15 2JP")
    page.get_by_label("Marketing type").select_option("letting")
    page.get_by_label("Status").select_option("available")
    page.get_by_label("Price (£, rent per month for lettings)").fill("1,150")
    page.get_by_label("Property type").select_option("flat")
    page.get_by_label("Bedrooms").fill("2")
    page.get_by_role("button", name="Add property").click()
    page.wait_for_url(re.compile(r"/properties/\d+$"))
    property_url = page.url

    # A new contact.
    page.get_by_role("link", name="Contacts").click()
    page.get_by_role("button", name="Add contact").click()
    page.get_by_label("First name").fill("Jane")
    page.get_by_label("Last name").fill("Doe")
    page.get_by_label("Email").fill("Jane.Doe@example.com")
    page.get_by_label("Phone").fill("0117 496 0456")
    page.get_by_role("button", name="Add contact").click()
    page.wait_for_url(re.compile(r"/contacts/\d+$"))
    assert page.get_by_role("heading", name="Jane Doe").is_visible()
    assert "0117 496 0456" in page.content()

    # What she is looking for.
    page.get_by_role("button", name="Add requirements").click()
    assert page.get_by_label(re.compile("Jane Doe")).is_checked()
    page.get_by_label("Buying or renting").select_option("letting")
    page.get_by_label("Minimum price (£, per month to rent)").fill("900")
    page.get_by_label("Maximum price (£, per month to rent)").fill("1,200")
    page.get_by_label("Minimum bedrooms").fill("2")
    page.get_by_label("Areas: postcode districts or towns, separated by commas").fill("so15")
    page.get_by_label("Flat", exact=True).check()
    page.get_by_label("Status").select_option("hot")
    page.get_by_role("button", name="Save requirements").click()
    page.wait_for_url(re.compile(r"/applicants/\d+$"))
    assert page.locator("#matches").get_by_text("14 Polygon Road").is_visible()

    # She appears in the property's matches, with the reasons; book from there.
    page.goto(property_url)
    matches = page.locator("#matches")
    assert matches.get_by_role("link", name="Jane Doe").is_visible()
    assert "£1,150 pcm within £900\u2013£1,200" in matches.inner_text()
    assert "SO15 in areas" in matches.inner_text()
    page.screenshot(path=str(SHOTS / "property-matches.png"), full_page=True)
    matches.get_by_role("button", name="Book a viewing for Jane Doe").click()
    page.wait_for_url(re.compile(r"/diary\?"))
    assert page.get_by_label(re.compile("14 Polygon Road")).is_checked()
    assert page.get_by_label(re.compile("Jane Doe")).is_checked()
    # The pickers search as you type (HTMX) and keep the choice.
    page.get_by_label("Search").first.fill("polygon")
    page.locator("#property_id-options").get_by_text("14 Polygon Road").first.wait_for()
    assert page.get_by_label(re.compile("14 Polygon Road")).first.is_checked()

    day = today_london() + timedelta(days=2)
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Start time (UK)").fill("11:00")
    page.get_by_role("button", name="Book viewing").click()
    page.wait_for_url(re.compile(r"/diary\?.*booked=\d+"))

    # It is in the diary at 11:00 UK time, on the right day.
    chip = page.locator(".chip.just-booked")
    assert "11:00\u201311:30" in chip.inner_text() and "14 Polygon Road" in chip.inner_text()
    header = page.locator("table.diary thead th").nth(day.weekday() + 1).inner_text()
    assert header.startswith(day.strftime("%a"))
    page.screenshot(path=str(SHOTS / "diary-week.png"), full_page=True)

    chip.click()
    page.wait_for_url(re.compile(r"/viewings/\d+$"))
    assert page.get_by_role("heading", name="Viewing at 14 Polygon Road").is_visible()

    # Complete it with feedback: high interest prompts an offer.
    page.get_by_label("Applicant's feedback").fill("Loved the bay window; wants to move fast.")
    page.get_by_label("Interest (1 to 5)").select_option("5")
    page.get_by_role("button", name="Save feedback").click()
    page.wait_for_url(re.compile(r"/viewings/\d+$"))
    assert page.get_by_text("suggest an offer").is_visible()
    assert page.get_by_text("Loved the bay window").is_visible()
    page.screenshot(path=str(SHOTS / "viewing-completed.png"), full_page=True)
    assert page.console_errors == []
