"""The whole lettings path in Chromium: viewing → offer → accept → tenancy with deposit and
right to rent → activate (refused for a missing gas certificate, then accepted) → let.

Dates are fixed (the tenancy starts on 1 June 2026); only the viewing is booked relative to
today because the diary refuses bookings in the past.
"""

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
START = "2026-06-01"


def _add_certificate(page: Any, kind: str, issued: str, rating: str | None = None) -> None:
    panel = page.locator("#compliance-panel")
    panel.locator("summary", has_text="Add a certificate").click()
    panel.get_by_label("Certificate type").select_option(kind)
    panel.get_by_label("Issued on").fill(issued)
    panel.get_by_label("Certificate reference").fill(f"{kind.upper()}-1")
    if rating:
        panel.get_by_label("EPC rating (EPCs only)").select_option(rating)
    panel.get_by_role("button", name="Add certificate", exact=True).click()


def test_viewing_to_let(page: Any, live_server: dict[str, Any]) -> None:
    sign_in(page, live_server)
    # A letting at £1,250 pcm with gas.
    page.goto("/properties/new")
    page.get_by_label("Address line 1").fill("21 Lettings Row")
    page.get_by_label("Town or city").fill("Southampton")
    page.get_by_label("Postcode").fill("SO15 5LR")
    page.get_by_label("Marketing type").select_option("letting")
    page.get_by_label("Status").select_option("available")
    page.get_by_label("Price (£, rent per month for lettings)").fill("1,250")
    page.get_by_label("Property type").select_option("flat")
    page.get_by_label("Bedrooms").fill("2")
    page.get_by_role("button", name="Add property").click()
    page.wait_for_url(re.compile(r"/properties/\d+$"))
    property_url = str(page.url)

    # The tenant and what she is looking for.
    page.goto("/contacts/new")
    page.get_by_label("First name").fill("Tara")
    page.get_by_label("Last name").fill("Tenant")
    page.get_by_label("Email").fill("tara.tenant@example.com")
    page.get_by_role("button", name="Add contact").click()
    page.wait_for_url(re.compile(r"/contacts/\d+$"))
    page.get_by_role("button", name="Add requirements").click()
    page.get_by_label("Buying or renting").select_option("letting")
    page.get_by_label("Maximum price (£, per month to rent)").fill("1,300")
    page.get_by_label("Minimum bedrooms").fill("2")
    page.get_by_label("Areas: postcode districts or towns, separated by commas").fill("so15")
    page.get_by_label("Status").select_option("hot")
    page.get_by_role("button", name="Save requirements").click()
    page.wait_for_url(re.compile(r"/applicants/\d+$"))

    # Viewing, completed with high interest: the page offers to record an offer.
    page.goto(property_url)
    page.locator("#matches").get_by_role("button", name="Book a viewing for Tara Tenant").click()
    page.wait_for_url(re.compile(r"/diary\?"))
    page.get_by_label("Date").fill((today_london() + timedelta(days=1)).isoformat())
    page.get_by_label("Start time (UK)").fill("10:00")
    page.get_by_role("button", name="Book viewing").click()
    page.wait_for_url(re.compile(r"/diary\?.*booked=\d+"))
    page.locator(".chip.just-booked").click()
    page.wait_for_url(re.compile(r"/viewings/\d+$"))
    page.get_by_label("Applicant's feedback").fill("Wants it.")
    page.get_by_label("Interest (1 to 5)").select_option("5")
    page.get_by_role("button", name="Save feedback").click()
    page.wait_for_url(re.compile(r"/viewings/\d+$"))
    page.get_by_role("link", name="Record an offer").click()
    page.wait_for_url(re.compile(r"/offers/new\?"))

    # The offer: at the asking rent, moving in on 1 June.
    page.get_by_label("Amount in pounds per month").fill("1,250")
    page.get_by_label("Proposed move-in date").fill(START)
    page.get_by_role("button", name="Save offer").click()
    page.wait_for_url(re.compile(r"/offers/\d+$"))
    page.get_by_role("button", name="Accept £1,250 pcm").click()
    page.wait_for_url(re.compile(r"/offers/\d+$"))
    assert "Accepted" in page.locator(".page-head").inner_text()

    # The tenancy, from the offer: a deposit above five weeks' rent is refused with the cap.
    page.get_by_role("button", name="Create tenancy").click()
    page.wait_for_url(re.compile(r"/tenancies/new\?offer_id=\d+"))
    assert page.get_by_label("Start date").input_value() == START
    page.get_by_label("Deposit in pounds").fill("1,500")
    page.get_by_label("Received on").fill("2026-05-20")
    page.get_by_role("button", name="Create tenancy").click()
    error = page.locator("#deposit-error")
    error.wait_for()
    assert "£1,442.30" in error.inner_text()
    page.get_by_label("Deposit in pounds").fill("1,442.30")
    page.get_by_role("button", name="Create tenancy").click()
    page.wait_for_url(re.compile(r"/tenancies/\d+$"))
    tenancy_url = str(page.url)
    assert "18 Jun 2026" in page.locator("#deposit").inner_text()

    # Right to rent.
    form = page.locator("#check-form")
    form.get_by_label("Occupier").select_option(label="Tara Tenant")
    form.get_by_label("Checked on").fill("2026-05-25")
    form.get_by_label("Document seen").fill("UK passport")
    form.get_by_label("Result").select_option("passed")
    form.get_by_role("button", name="Record check").click()
    page.wait_for_url(tenancy_url)
    assert "UK passport" in page.locator("#right-to-rent").inner_text()

    # EICR and EPC on the property, but no gas certificate yet: activation is refused.
    page.goto(property_url)
    page.locator("#compliance-panel summary", has_text="Add a certificate").wait_for()
    _add_certificate(page, "eicr", "2025-01-10")
    page.wait_for_url(property_url)
    page.locator("#compliance-panel summary", has_text="Add a certificate").wait_for()
    _add_certificate(page, "epc", "2024-03-01", rating="C")
    page.wait_for_url(property_url)
    page.goto(tenancy_url)
    page.get_by_label("Starts on").fill(START)
    page.get_by_role("button", name="Activate tenancy").click()
    refusal = page.locator("#tenancy-error")
    refusal.wait_for()
    assert "Gas safety certificate: none recorded" in refusal.inner_text()
    assert "Right to rent" not in refusal.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "tenancy-refused.png"), full_page=True)

    # Add the gas certificate; activation succeeds and the property is let.
    page.goto(property_url)
    page.locator("#compliance-panel summary", has_text="Add a certificate").wait_for()
    _add_certificate(page, "gas_safety", "2026-05-01")
    page.wait_for_url(property_url)
    page.goto(tenancy_url)
    page.get_by_label("Starts on").fill(START)
    page.get_by_role("button", name="Activate tenancy").click()
    page.wait_for_url(tenancy_url)
    assert "Active" in page.locator("#tenancy-status").inner_text()
    page.goto(property_url)
    assert "Let" in page.locator(".page-head").inner_text()
    page.locator("#tenancies").get_by_text("Tara Tenant").wait_for()
    page.screenshot(path=str(SHOTS / "property-let.png"), full_page=True)
    assert page.console_errors == []
