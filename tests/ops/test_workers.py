"""Real worker processes: gunicorn with two uvicorn workers sharing Redis and the database."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.conftest import LiveServer, free_port, hourly
from tests.ops.test_metrics import REQUIRED_METRICS

pytestmark = pytest.mark.redis


def wait_for_log(server: LiveServer, text: str, count: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(text in line for line in server.log_lines()) >= count:
            return
        time.sleep(0.2)
    pytest.fail(f"never saw {count}x {text!r}:\n" + "\n".join(server.log_lines()[-30:]))


def json_lines(server: LiveServer) -> list[dict[str, Any]]:
    lines = [line for line in server.log_lines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line the service writes is JSON


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def get(url: str, **kwargs: Any) -> httpx.Response:
    # A new connection each time, so the kernel hands requests to either worker.
    return httpx.get(url, headers={"Connection": "close", **kwargs.pop("headers", {})}, **kwargs)


def test_two_workers_share_limits_metrics_and_slis(
    start_server: Any, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    server = start_server(
        workers=2,
        REDIS_URL=redis_url,
        RATE_LIMIT_KEY_PREFIX=key_prefix,
        RATE_LIMIT_HEALTH=hourly(10, margin=90),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
    )
    wait_for_log(server, "Application startup complete", 2)

    # A fresh service already names every metric the dashboards and alert rules use.
    fresh = get(server.url + "/metrics").text
    for name in REQUIRED_METRICS:
        family = name.removesuffix("_total")
        assert f"# TYPE {family} " in fresh or f"# TYPE {name} " in fresh, name

    codes = [
        get(server.url + "/health", headers={"X-Request-ID": f"probe-{i}"}).status_code
        for i in range(25)
    ]
    # One limit for the whole service, not one per worker.
    assert codes.count(200) == 10 and codes.count(429) == 15
    served_by = {
        line["pid"]
        for line in json_lines(server)
        if line.get("event") == "request" and str(line.get("request_id")).startswith("probe-")
    }
    assert len(served_by) == 2, "both workers should have answered some of the requests"

    # Any worker reports the sum over all workers.
    metrics = samples(get(server.url + "/metrics").text)
    health = (("method", "GET"), ("path", "/health"))
    assert metrics[("http_requests_total", (*health, ("status", "200")))] == 10
    assert metrics[("http_requests_total", (*health, ("status", "429")))] == 15
    assert metrics[("rate_limit_exceeded_total", (("path", "/health"),))] == 15
    # One pool per worker, each series labelled with its worker's pid; sum() for the host.
    pools = {labels: v for (name, labels), v in metrics.items() if name == "database_pool_size"}
    assert len(pools) == 2 and all(dict(labels).keys() == {"pid"} for labels in pools)
    assert sum(pools.values()) >= 2

    for _ in range(6):
        assert get(server.url + "/api/v1/me").status_code == 401
    time.sleep(2.5)  # both workers flush every second
    budget = get(server.url + "/error-budget").json()
    assert budget["slos"]["error_rate"]["events"] == 6

    # A graceful stop writes what is still pending (the /error-budget request itself).
    assert server.stop() == 0, "\n".join(server.log_lines()[-30:])
    with sqlite3.connect(server.db) as db:  # type: ignore[attr-defined]
        assert db.execute("SELECT sum(total) FROM sli_minute").fetchone()[0] == 7
    lines = json_lines(server)
    assert any(line.get("logger") == "gunicorn.error" for line in lines)


def test_requests_succeed_with_redis_down(start_server: Any) -> None:
    server = start_server(workers=2, REDIS_URL=f"redis://127.0.0.1:{free_port()}/1")
    wait_for_log(server, "Application startup complete", 2)
    codes = [get(server.url + "/api/v1/me").status_code for _ in range(12)]
    assert codes == [401] * 12
    assert get(server.url + "/login").status_code == 200
    health = get(server.url + "/health", params={"detailed": "true"})
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"]["status"] == "unhealthy"
    assert body["checks"]["database"]["status"] == "healthy"
    warnings = [x for x in json_lines(server) if x.get("logger") == "estatecrm.ratelimit"]
    assert any("fall back" in x["event"] for x in warnings)
