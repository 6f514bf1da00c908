"""An agent stores a key safe code, sees it masked, reveals it and hides it again (HTMX)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


def test_access_code_is_masked_until_revealed(page: Any, live_server: dict[str, Any]) -> None:
    sign_in(page, live_server)
    page.goto("/properties/new")
    page.get_by_label("Address line 1").fill("4 Hyde Street")
    page.get_by_label("Town or city").fill("Winchester")
    page.get_by_label("Postcode").fill("SO23 7DR")
    page.get_by_label("Marketing type").select_option("letting")
    page.get_by_label("Status").select_option("available")
    page.get_by_label("Price (£, rent per month for lettings)").fill("1,400")
    page.get_by_label("Property type").select_option("house")
    page.get_by_label("Key safe or alarm code").fill("Key safe 7731")
    page.get_by_role("button", name="Add property").click()
    page.wait_for_url(re.compile(r"/properties/\d+$"))
    detail_url = page.url

    code = page.locator("#access-code")
    assert "Key safe 7731" not in page.content()
    assert "••••••" in code.inner_text()
    page.get_by_role("button", name="Reveal code").click()
    page.locator("#access-code-value").wait_for()
    assert page.locator("#access-code-value").inner_text() == "Key safe 7731"
    assert page.url == detail_url  # swapped in place, no navigation
    page.get_by_role("button", name="Hide code").click()
    page.get_by_role("button", name="Reveal code").wait_for()
    assert "Key safe 7731" not in code.inner_text()
    assert page.console_errors == []
