"""`/metrics`: the runbook's metric names, route-template labels, real counts."""

from __future__ import annotations

from typing import Any

from tests.builders import PASSWORD, make_property, make_user
from tests.ops.conftest import sample

REQUIRED_METRICS = [
    "http_requests_total",
    "http_request_duration_seconds",
    "http_requests_in_progress",
    "database_query_duration_seconds",
    "database_pool_size",
    "database_pool_checked_out",
    "database_pool_overflow",
    "database_pool_available",
    "database_connection_errors_total",
    "rate_limit_exceeded_total",
    "csrf_failures_total",
    "auth_failures_total",
    "system_memory_usage_ratio",
    "app_info",
]


async def test_every_runbook_metric_is_exposed(raw_client: Any) -> None:
    r = await raw_client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    for name in REQUIRED_METRICS:
        assert f"# TYPE {name.removesuffix('_total')} " in text or f"# TYPE {name} " in text, name
    assert 'app_info{environment="test",version="0.1.0"} 1.0' in text


async def test_latency_histogram_has_the_runbook_buckets(raw_client: Any) -> None:
    await raw_client.get("/health")
    text = (await raw_client.get("/metrics")).text
    for bucket in ("0.005", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "10.0", "+Inf"):
        assert (
            f'http_request_duration_seconds_bucket{{le="{bucket}",method="GET",path="/health"}}'
            in text
        ), bucket


async def test_requests_are_labelled_by_route_template(
    client: Any, session: Any, admin: Any, headers: dict[str, str]
) -> None:
    prop = await make_property(session, admin)
    template = "/api/v1/properties/{property_id}"
    before = sample("http_requests_total", method="GET", path=template, status="200")
    before_count = sample("http_request_duration_seconds_count", method="GET", path=template)
    for _ in range(3):
        assert (await client.get(f"/api/v1/properties/{prop.id}", headers=headers)).is_success
    assert sample("http_requests_total", method="GET", path=template, status="200") == before + 3
    assert (
        sample("http_request_duration_seconds_count", method="GET", path=template)
        == before_count + 3
    )
    text = (await client.get("/metrics")).text
    assert f'path="{template}"' in text
    assert f"/api/v1/properties/{prop.id}" not in text


async def test_unmatched_paths_share_one_label(raw_client: Any) -> None:
    before = sample("http_requests_total", method="GET", path="__unmatched__", status="404")
    for i in range(3):
        r = await raw_client.get(f"/no/such/page/{i}", headers={"Accept": "application/json"})
        assert r.status_code == 404
    after = sample("http_requests_total", method="GET", path="__unmatched__", status="404")
    assert after == before + 3
    assert "/no/such/page" not in (await raw_client.get("/metrics")).text


async def test_in_progress_returns_to_zero(raw_client: Any) -> None:
    await raw_client.get("/health")
    assert sample("http_requests_in_progress", method="GET") == 0


async def test_database_queries_are_timed(client: Any, headers: dict[str, str]) -> None:
    before = sample("database_query_duration_seconds_count", operation="select")
    assert (await client.get("/api/v1/properties", headers=headers)).is_success
    assert sample("database_query_duration_seconds_count", operation="select") >= before + 2


async def test_pool_and_memory_gauges_are_set_at_scrape(raw_client: Any) -> None:
    text = (await raw_client.get("/metrics")).text
    assert sample("database_pool_size") >= 1
    assert 0 < sample("system_memory_usage_ratio") < 1
    assert "database_pool_available " in text


async def test_auth_failures_are_counted_by_reason(client: Any, session: Any, agency: Any) -> None:
    await make_user(session, agency, email="nia@agency.test")
    creds = sample("auth_failures_total", reason="invalid_credentials")
    tokens = sample("auth_failures_total", reason="invalid_token")
    sessions = sample("auth_failures_total", reason="invalid_session")
    r = await client.post("/login", data={"email": "nia@agency.test", "password": "wrong"})
    assert r.status_code == 401
    r = await client.post(
        "/api/v1/auth/token", json={"email": "nia@agency.test", "password": "nope-nope"}
    )
    assert r.status_code == 401
    r = await client.get("/api/v1/me", headers={"Authorization": "Bearer forged-token"})
    assert r.status_code == 401
    client.cookies.set("estatecrm_session", "expired-or-forged")
    assert (await client.get("/properties")).status_code == 303
    assert sample("auth_failures_total", reason="invalid_credentials") == creds + 2
    assert sample("auth_failures_total", reason="invalid_token") == tokens + 1
    assert sample("auth_failures_total", reason="invalid_session") == sessions + 1
    # A good sign-in is not a failure.
    client.cookies.clear()
    r = await client.post("/login", data={"email": "nia@agency.test", "password": PASSWORD})
    assert r.status_code == 303
    assert sample("auth_failures_total", reason="invalid_credentials") == creds + 2


async def test_app_exports_every_metric_the_deploy_files_use(raw_client: Any) -> None:
    """Dashboards and alert rules use only contract metrics (tests/deploy); the app exports
    every contract metric with its type: together, nothing on a dashboard is a dead series."""
    from prometheus_client.parser import text_string_to_metric_families

    from tests.deploy.contract import COUNTERS, GAUGES, HISTOGRAMS

    await raw_client.get("/health")
    families = {
        f.name: f.type
        for f in text_string_to_metric_families((await raw_client.get("/metrics")).text)
    }
    for name in COUNTERS:
        assert families.get(name.removesuffix("_total")) == "counter", name
    for name in GAUGES:
        assert families.get(name) == "gauge", name
    for name in HISTOGRAMS:
        assert families.get(name) == "histogram", name
