"""`/trace`: recent requests with their database work, outside production only."""

from __future__ import annotations

from typing import Any

from tests.ops.conftest import client_for


async def test_trace_lists_recent_requests_with_database_work(
    make_app: Any, headers: dict[str, str]
) -> None:
    app = make_app(enable_request_tracing=True)
    async with client_for(app) as c:
        listed = await c.get("/api/v1/properties", headers=headers)
        missing = await c.get("/api/v1/properties/424242", headers=headers)
        await c.get("/static/app.css")
        r = await c.get("/trace")
        only = (await c.get("/trace", params={"route": "/api/v1/properties", "limit": 5})).json()
    assert r.status_code == 200
    body = r.json()
    assert body["capacity"] == 500 and body["worker_pid"] > 0
    newest, oldest = body["requests"][0], body["requests"][1]
    assert newest["route"] == "/api/v1/properties/{property_id}"
    assert newest["status"] == 404
    assert newest["request_id"] == missing.headers["x-request-id"]
    assert oldest["request_id"] == listed.headers["x-request-id"]
    assert oldest["path"] == "/api/v1/properties" and oldest["status"] == 200
    assert oldest["db_queries"] >= 2 and oldest["db_ms"] > 0
    assert oldest["duration_ms"] >= oldest["db_ms"]
    assert oldest["user_id"] is not None
    assert all(not e["path"].startswith("/static/") for e in body["requests"])
    # Filters.
    assert [e["path"] for e in only["requests"]] == ["/api/v1/properties"]


async def test_trace_does_not_exist_unless_enabled(raw_client: Any) -> None:
    assert (await raw_client.get("/trace")).status_code == 404


async def test_trace_never_exists_in_production(make_app: Any) -> None:
    app = make_app(enable_request_tracing=True, environment="production", secret_key="p" * 48)
    async with client_for(app) as c:
        assert (await c.get("/trace")).status_code == 404
