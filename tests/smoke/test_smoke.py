"""Is this deployment alive and doing its job? Run against any URL:

    pytest tests/smoke --base-url=https://staging.example.com
    SMOKE_EMAIL=... SMOKE_PASSWORD=... pytest tests/smoke --base-url=...   # also create/read/delete

Without --base-url the tests start their own multi-worker gunicorn (see conftest.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.smoke.conftest import SmokeTarget

pytestmark = pytest.mark.smoke


@pytest.fixture(scope="module")
def http(smoke_target: SmokeTarget) -> Iterator[httpx.Client]:
    """An HTTP client for the deployment."""
    with httpx.Client(base_url=smoke_target.base_url, timeout=15, follow_redirects=False) as c:
        yield c


def ops_get(http: httpx.Client, path: str) -> httpx.Response:
    """GET an operations endpoint."""
    return http.get(path)


def _json(response: httpx.Response) -> dict[str, Any]:
    assert response.headers.get("content-type", "").startswith("application/json"), (
        response.headers.get("content-type"),
        response.text[:300],
    )
    body = response.json()
    assert isinstance(body, dict), body
    return body


def test_the_api_answers(http: httpx.Client) -> None:
    schema = http.get("/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/properties" in schema.json()["paths"]
    unauthenticated = http.get("/api/v1/properties")
    assert unauthenticated.status_code == 401
    assert _json(unauthenticated)["error"]


@pytest.mark.ops_endpoint
def test_health(http: httpx.Client) -> None:
    response = ops_get(http, "/health")
    assert response.status_code == 200, response.text[:500]
    assert "status" in _json(response)


@pytest.mark.ops_endpoint
def test_detailed_health(http: httpx.Client) -> None:
    response = ops_get(http, "/health?detailed=true")
    assert response.status_code == 200, response.text[:500]
    body = _json(response)
    assert "status" in body and body.get("checks"), body


@pytest.mark.ops_endpoint
def test_metrics(http: httpx.Client) -> None:
    http.get("/openapi.json")  # at least one request has been counted
    response = ops_get(http, "/metrics")
    assert response.status_code == 200
    assert response.headers.get("content-type", "").startswith("text/plain")
    assert "http_requests_total" in response.text


@pytest.mark.ops_endpoint
def test_error_budget(http: httpx.Client) -> None:
    response = ops_get(http, "/error-budget")
    assert response.status_code == 200, response.text[:500]
    body = _json(response)
    assert "status" in body
    slos = body.get("slos", body)
    for name in ("availability", "latency", "error_rate"):
        assert isinstance(slos.get(name), dict), f"no {name} SLO object in {body}"


def test_sign_in_create_read_delete_a_property(
    http: httpx.Client, smoke_target: SmokeTarget
) -> None:
    if not (smoke_target.email and smoke_target.password):
        pytest.skip(
            "SMOKE_EMAIL and SMOKE_PASSWORD are not set: the sign-in and create → read → "
            "delete check needs a manager or admin account on the deployment"
        )
    signed_in = http.post(
        "/api/v1/auth/token",
        json={"email": smoke_target.email, "password": smoke_target.password},
    )
    assert signed_in.status_code == 200, signed_in.text[:300]
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    reference = f"SMOKE-{secrets.token_hex(4).upper()}"
    body = {
        "reference": reference,
        "address_line1": "1 Smoke Test Street",
        "city": "Southampton",
        "postcode": "SO15 2JS",
        "property_type": "flat",
        "marketing_type": "letting",
        "status": "available",
        "price_pence": 100_000,
    }
    created_id = None
    try:
        created = http.post("/api/v1/properties", json=body, headers=headers)
        assert created.status_code == 201, created.text[:300]
        created_id = created.json()["id"]
        read = http.get(f"/api/v1/properties/{created_id}", headers=headers)
        assert read.status_code == 200 and read.json()["reference"] == reference
        deleted = http.delete(f"/api/v1/properties/{created_id}", headers=headers)
        assert deleted.status_code == 204, deleted.text[:300]
        gone, created_id = created_id, None
        assert http.get(f"/api/v1/properties/{gone}", headers=headers).status_code == 404
    finally:
        if created_id is not None:
            http.delete(f"/api/v1/properties/{created_id}", headers=headers)
        http.delete("/api/v1/auth/token", headers=headers)
