"""The one error renderer: who gets JSON, and the CSRF and rate-limit refusals rendered by it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.requests import Request

from estatecrm.web.errors import error_response, wants_json
from tests.ops.test_csrf import sign_in


def request(path: str, headers: dict[str, str] | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {"type": "http", "method": "GET", "path": path, "headers": raw, "query_string": b""}
    return Request(scope)


@pytest.mark.parametrize(
    ("path", "accept", "expected"),
    [
        ("/api/v1/properties", "text/html", True),
        ("/health", "", True),
        ("/metrics", "", True),
        ("/error-budget", "", True),
        ("/csrf-token", "", True),
        ("/trace", "", True),
        ("/properties", "application/json", True),
        ("/properties", "text/html,application/json", False),
        ("/properties", "", False),
        ("/login", "*/*", False),
    ],
)
def test_wants_json(path: str, accept: str, expected: bool) -> None:
    assert wants_json(request(path, {"accept": accept} if accept else {})) is expected


def test_json_body_carries_detail_field_and_extra_keys() -> None:
    r = error_response(
        request("/api/v1/x"), 429, "Rate limit exceeded", {"why": 1}, "f", extra={"retry_after": 3}
    )
    assert r.status_code == 429
    assert json.loads(r.body) == {
        "error": "Rate limit exceeded",
        "detail": {"why": 1},
        "field": "f",
        "retry_after": 3,
    }


async def test_csrf_refusal_for_htmx_is_a_toast(raw_client: Any, session: Any, agency: Any) -> None:
    """The CSRF middleware answers through the same renderer as the app: HTMX gets a toast."""
    await sign_in(raw_client, session, agency)
    r = await raw_client.post("/properties", data={"city": "Leeds"}, headers={"HX-Request": "true"})
    assert r.status_code == 403
    assert 'class="toast"' in r.text and "<html" not in r.text
    assert r.headers["hx-retarget"] == "#toasts"
    assert "CSRF validation failed" in r.text


async def test_csrf_refusal_for_a_json_client_is_json(
    raw_client: Any, session: Any, agency: Any
) -> None:
    await sign_in(raw_client, session, agency)
    r = await raw_client.post(
        "/properties", data={"city": "Leeds"}, headers={"Accept": "application/json"}
    )
    assert r.status_code == 403
    assert r.json() == {"error": "CSRF validation failed"}
