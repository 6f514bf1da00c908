"""An agent records an expired gas certificate, sees it on the dashboard, renews it, and ticks
off the renewal task, in Chromium."""

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


def _add_property(page: Any) -> str:
    page.goto("/properties/new")
    page.get_by_label("Address line 1").fill("33 Gasworks Lane")
    page.get_by_label("Town or city").fill("Southampton")
    page.get_by_label("Postcode").fill("SO14 3GT")
    page.get_by_label("Marketing type").select_option("letting")
    page.get_by_label("Status").select_option("available")
    page.get_by_label("Price (£, rent per month for lettings)").fill("1,050")
    page.get_by_label("Property type").select_option("flat")
    page.get_by_role("button", name="Add property").click()
    page.wait_for_url(re.compile(r"/properties/\d+$"))
    return str(page.url)


def test_expired_gas_certificate_then_renewal(page: Any, live_server: dict[str, Any]) -> None:
    today = today_london()
    sign_in(page, live_server)
    property_url = _add_property(page)

    # The compliance panel loads into the property page; record last year's gas certificate.
    panel = page.locator("#compliance-panel")
    panel.get_by_text("Gas safety certificate: none recorded").wait_for()
    panel.locator("summary", has_text="Add a certificate").click()
    panel.get_by_label("Certificate type").select_option("gas_safety")
    panel.get_by_label("Issued on").fill((today - timedelta(days=400)).isoformat())
    panel.get_by_label("Certificate reference").fill("GS-OLD")
    panel.get_by_role("button", name="Add certificate", exact=True).click()
    page.wait_for_url(property_url)
    panel = page.locator("#compliance-panel")
    panel.get_by_text("Cannot be let on").wait_for()
    assert "Gas safety certificate: expired on" in panel.inner_text()

    # The dashboard lists it as expired.
    page.get_by_role("link", name="Compliance", exact=True).click()
    page.wait_for_url("**/compliance")
    expired = page.locator("#section-expired")
    row = expired.locator("tr", has_text="33 Gasworks Lane")
    assert row.count() == 1
    assert "Expired" in row.inner_text() and "Gas safety certificate" in row.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "compliance-dashboard.png"), full_page=True)

    # Record the renewal from the dashboard row; a wrong date first, fixed next to the field.
    row.get_by_role("link", name="Record renewal").click()
    page.wait_for_url(re.compile(r"/certificates/new\?"))
    page.get_by_label("Issued on").fill((today - timedelta(days=3)).isoformat())
    page.get_by_label("Expires on (blank: from the type's rule)").fill(
        (today - timedelta(days=30)).isoformat()
    )
    page.get_by_role("button", name="Add certificate", exact=True).click()
    error = page.locator("#expiry_date-error")
    error.wait_for()
    assert "after the issue date" in error.inner_text()
    page.get_by_label("Expires on (blank: from the type's rule)").fill("")
    page.get_by_role("button", name="Add certificate", exact=True).click()
    page.wait_for_url("**/compliance")
    assert page.locator("#section-expired tr", has_text="33 Gasworks Lane").count() == 0

    # On the property page the gas certificate is now valid; only the EICR and EPC are wanting.
    page.goto(property_url)
    panel = page.locator("#compliance-panel")
    gas_row = panel.locator("tbody tr", has_text="Gas safety certificate")
    gas_row.get_by_text("Valid").wait_for()
    problems = panel.locator(".warn").inner_text()
    assert (
        "Gas safety" not in problems
        and "EICR (electrical safety report): none recorded" in problems
    )

    # The renewal task of the new certificate is open; the old one closed itself.
    page.goto("/tasks?view=all")
    task_row = page.locator("#results tbody tr", has_text="33 Gasworks Lane")
    assert task_row.count() == 1
    assert "Renew gas safety certificate" in task_row.inner_text()
    task_row.get_by_role("button", name=re.compile(r"^Complete: Renew gas safety")).click()
    page.locator("#results tr.task-done", has_text="33 Gasworks Lane").wait_for()
    page.screenshot(path=str(SHOTS / "tasks.png"), full_page=True)
    assert page.console_errors == []
