"""Rate limits: 429 with Retry-After and X-RateLimit-*, per rule; Redis shared; degrade safely."""

from __future__ import annotations

import time
from typing import Any

from tests.builders import PASSWORD, make_user
from tests.ops.conftest import client_for, free_port, hourly, sample


async def test_health_limit_answers_429_with_headers(make_app: Any) -> None:
    app = make_app(rate_limit_health=hourly(3))
    before = sample("rate_limit_exceeded_total", path="/health")
    async with client_for(app) as c:
        ok = [await c.get("/health") for _ in range(3)]
        refused = await c.get("/health")
    assert [r.status_code for r in ok] == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.headers["x-ratelimit-limit"] == "3"
    retry = int(refused.headers["retry-after"])
    assert 1 <= retry <= 3600
    assert refused.json() == {"error": "Rate limit exceeded", "retry_after": retry}
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert int(refused.headers["x-ratelimit-reset"]) >= int(time.time())
    assert sample("rate_limit_exceeded_total", path="/health") == before + 1


async def test_api_limit_is_labelled_by_route(make_app: Any, headers: dict[str, str]) -> None:
    app = make_app(rate_limit_default=hourly(2))
    label = "/api/v1/properties/{property_id}"
    before = sample("rate_limit_exceeded_total", path=label)
    async with client_for(app) as c:
        codes = [(await c.get("/api/v1/properties/1", headers=headers)).status_code for _ in "abc"]
    assert codes == [404, 404, 429]
    assert sample("rate_limit_exceeded_total", path=label) == before + 1


async def test_pages_and_metrics_are_not_limited(make_app: Any) -> None:
    app = make_app(rate_limit_default=hourly(1), rate_limit_health=hourly(1))
    async with client_for(app) as c:
        pages = [(await c.get("/login")).status_code for _ in range(4)]
        scrapes = [(await c.get("/metrics")).status_code for _ in range(4)]
        assets = [(await c.get("/static/app.js")).status_code for _ in range(4)]
    assert pages == scrapes == assets == [200] * 4


async def test_csrf_token_endpoint_limit(make_app: Any) -> None:
    async with client_for(make_app(rate_limit_csrf=hourly(2))) as c:
        codes = [(await c.get("/csrf-token")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


async def test_exempt_addresses_are_never_limited(make_app: Any) -> None:
    app = make_app(rate_limit_health=hourly(1), rate_limit_exempt_ips="10.0.0.0/8, 127.0.0.1")
    async with client_for(app) as c:
        assert [(await c.get("/health")).status_code for _ in range(5)] == [200] * 5


async def test_disabled_means_no_limits(make_app: Any) -> None:
    async with client_for(make_app(rate_limit_enabled=False, rate_limit_health=hourly(1))) as c:
        assert [(await c.get("/health")).status_code for _ in range(3)] == [200] * 3


async def test_sign_in_limited_per_address_and_per_account(
    make_app: Any, session: Any, agency: Any
) -> None:
    await make_user(session, agency, email="nia@agency.test")
    app = make_app(rate_limit_login=hourly(3), trusted_proxies="127.0.0.1")

    async def attempt(c: Any, ip: str, email: str) -> int:
        r = await c.post(
            "/api/v1/auth/token",
            json={"email": email, "password": "wrong-password"},
            headers={"X-Forwarded-For": ip},
        )
        return int(r.status_code)

    async with client_for(app) as c:
        # One address trying many accounts: limited per address.
        spray = [await attempt(c, "203.0.113.7", f"user{i}@agency.test") for i in range(4)]
        # Many addresses trying one account: limited per account.
        stuffing = [await attempt(c, f"198.51.100.{i}", "nia@agency.test") for i in range(4)]
        # Someone else, elsewhere, is unaffected.
        other = await attempt(c, "192.0.2.1", "someone@agency.test")
    assert spray == [401, 401, 401, 429]
    assert stuffing == [401, 401, 401, 429]
    assert other == 401


async def test_login_form_limit_is_a_page(make_app: Any, session: Any, agency: Any) -> None:
    await make_user(session, agency, email="nia@agency.test")
    async with client_for(make_app(rate_limit_login=hourly(1)), browser=True) as c:
        first = await c.post("/login", data={"email": "nia@agency.test", "password": PASSWORD})
        second = await c.post("/login", data={"email": "nia@agency.test", "password": PASSWORD})
    assert first.status_code == 303
    assert second.status_code == 429
    assert "<html" in second.text and "Too many requests" in second.text
    assert int(second.headers["retry-after"]) >= 1


async def test_forwarded_for_is_ignored_unless_from_a_trusted_proxy(make_app: Any) -> None:
    async with client_for(make_app(rate_limit_health=hourly(2))) as c:
        codes = [
            (await c.get("/health", headers={"X-Forwarded-For": f"192.0.2.{i}"})).status_code
            for i in range(3)
        ]
    assert codes == [200, 200, 429]  # spoofed addresses do not buy more requests
    async with client_for(
        make_app(rate_limit_health=hourly(2), trusted_proxies="127.0.0.0/8")
    ) as c:
        codes = [
            (await c.get("/health", headers={"X-Forwarded-For": f"192.0.2.{i}"})).status_code
            for i in range(3)
        ]
    assert codes == [200, 200, 200]


async def test_limits_are_shared_through_redis(
    make_app: Any, redis_url: str, key_prefix: str
) -> None:
    settings = {
        "redis_url": redis_url,
        "rate_limit_key_prefix": key_prefix,
        "rate_limit_health": hourly(3),
    }
    worker_a, worker_b = make_app(**settings), make_app(**settings)
    async with client_for(worker_a) as a, client_for(worker_b) as b:
        codes = [
            (await a.get("/health")).status_code,
            (await b.get("/health")).status_code,
            (await a.get("/health")).status_code,
            (await b.get("/health")).status_code,
        ]
    assert codes == [200, 200, 200, 429]
    assert worker_a.state.rate_limiter.backend == "redis"


async def test_redis_down_falls_back_to_memory(make_app: Any) -> None:
    app = make_app(redis_url=f"redis://127.0.0.1:{free_port()}/1", rate_limit_health=hourly(3))
    async with client_for(app) as c:
        codes = [(await c.get("/health")).status_code for _ in range(4)]
        detailed = await c.get("/api/v1/me")
    assert codes == [200, 200, 200, 429]  # still limited, per worker, and never a 500
    assert detailed.status_code == 401
    assert app.state.rate_limiter.backend == "memory (fallback)"
    async with client_for(make_app(redis_url=app.state.settings.redis_url)) as c:
        health = await c.get("/health?detailed=true")
    assert health.status_code == 200
    assert health.json()["checks"]["redis"]["status"] == "unhealthy"


async def test_probes_and_the_deploy_gate_are_never_limited_by_default(make_app: Any) -> None:
    # A load balancer, a CI runner or an office NAT: 1,000 /health calls from one address,
    # with the API's own limit tiny, and the gate's /error-budget alongside.
    app = make_app(rate_limit_default=hourly(2), rate_limit_csrf=hourly(1))
    assert app.state.settings.rate_limit_health == ""
    before = sample("rate_limit_exceeded_total", path="/health")
    async with client_for(app) as c:
        health = [(await c.get("/health")).status_code for _ in range(1000)]
        gate = [(await c.get("/error-budget")).status_code for _ in range(20)]
        api = [(await c.get("/api/v1/me")).status_code for _ in range(3)]
    # No 429 at all (on a loaded machine a health check may time out: 503, never 429).
    assert 429 not in health and health.count(200) >= 900
    assert 429 not in gate
    assert api == [401, 401, 429]  # the API keeps its limit
    assert sample("rate_limit_exceeded_total", path="/health") == before


async def test_probes_get_their_own_budget_only_when_asked(make_app: Any) -> None:
    app = make_app(rate_limit_health=hourly(2), rate_limit_default=hourly(1))
    async with client_for(app) as c:
        probes = [(await c.get("/health")).status_code for _ in range(3)]
        gate = [(await c.get("/error-budget")).status_code for _ in range(5)]
    assert probes == [200, 200, 429]  # RATE_LIMIT_HEALTH, not the API's budget
    assert gate == [200] * 5  # the deploy gate is never limited
