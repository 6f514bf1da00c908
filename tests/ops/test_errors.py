"""Unexpected exceptions: a 500 with a request id, never a stack trace; logged with one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from estatecrm.ops.logging import flush_logs
from tests.ops.conftest import sample


@pytest.fixture
def crashing(app: Any) -> Any:
    async def crash() -> None:
        raise KeyError("internal detail: SELECT secret_column FROM somewhere")

    app.add_api_route("/api/v1/crash", crash)
    app.add_api_route("/crash-page", crash)
    return app


async def test_unexpected_error_is_a_json_500_with_request_id(
    crashing: Any, raw_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    before = sample("http_requests_total", method="GET", path="/api/v1/crash", status="500")
    r = await raw_client.get("/api/v1/crash")
    assert r.status_code == 500
    assert r.json() == {"error": "Internal server error", "request_id": r.headers["x-request-id"]}
    assert "secret_column" not in r.text and "Traceback" not in r.text
    # The metrics middleware saw a normal 500, labelled by its route.
    after = sample("http_requests_total", method="GET", path="/api/v1/crash", status="500")
    assert after == before + 1
    # Logged once, with the traceback and the request id.
    flush_logs()
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    (logged,) = [x for x in lines if x.get("event") == "unhandled error"]
    assert logged["level"] == "error"
    assert logged["request_id"] == r.headers["x-request-id"]
    assert "Traceback" in logged["exception"] and "KeyError" in logged["exception"]


async def test_unexpected_error_is_a_page_for_people(crashing: Any, raw_client: Any) -> None:
    r = await raw_client.get("/crash-page", headers={"Accept": "text/html"})
    assert r.status_code == 500
    assert "<html" in r.text and "Internal server error" in r.text
    assert r.headers["x-request-id"] in r.text  # the reference to quote
    assert "secret_column" not in r.text and "Traceback" not in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'self'")


async def test_htmx_gets_a_toast(crashing: Any, raw_client: Any) -> None:
    r = await raw_client.get("/crash-page", headers={"HX-Request": "true"})
    assert r.status_code == 500
    assert 'class="toast"' in r.text and "<html" not in r.text
