"""Security headers on every response (errors too), CSP our pages can live with, CORS."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.ops.conftest import client_for, hourly

SRC = Path(__file__).resolve().parents[2] / "src" / "estatecrm"


def assert_secure(r: Any) -> None:
    h = r.headers
    assert h["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert h["x-frame-options"] == "DENY"
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in h["permissions-policy"]
    csp = h["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert re.fullmatch(r"[0-9a-f]{32}", h["x-request-id"])


async def test_headers_on_every_kind_of_response(
    app: Any, make_app: Any, raw_client: Any, headers: dict[str, str]
) -> None:
    async def boom() -> None:
        raise ValueError("unexpected")

    app.add_api_route("/boom", boom)
    responses = [
        await raw_client.get("/login"),  # page
        await raw_client.get("/api/v1/me", headers=headers),  # JSON
        await raw_client.get("/properties"),  # redirect to sign in
        await raw_client.get("/api/v1/properties/999999", headers=headers),  # 404
        await raw_client.get("/nowhere"),  # unmatched
        await raw_client.post("/login", data={"email": "a", "password": "b"}),  # CSRF 403
        await raw_client.get("/boom"),  # unexpected 500
        await raw_client.get("/static/app.css"),
        await raw_client.get("/metrics"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 303, 404, 404, 403, 500, 200, 200]
    for r in responses:
        assert_secure(r)
    async with client_for(make_app(rate_limit_health=hourly(1))) as c:
        await c.get("/health")
        limited = await c.get("/health")
    assert limited.status_code == 429
    assert_secure(limited)


async def test_api_docs_page_gets_its_own_policy(raw_client: Any) -> None:
    r = await raw_client.get("/docs")
    assert r.status_code == 200
    assert "https://cdn.jsdelivr.net" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def _templates() -> list[Path]:
    return sorted(SRC.glob("**/templates/**/*.html"))


@pytest.mark.parametrize("template", _templates(), ids=lambda p: str(p.relative_to(SRC)))
def test_templates_have_no_inline_script_or_style(template: Path) -> None:
    html = template.read_text()
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"<style[\s>]", html), "inline <style>"
    assert not re.search(r"\sstyle\s*=", html), "style= attribute"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert "javascript:" not in html


async def test_cors_is_off_by_default(raw_client: Any) -> None:
    r = await raw_client.options(
        "/api/v1/me",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in r.headers


async def test_cors_allows_listed_origins_with_credentials(
    make_app: Any, headers: dict[str, str]
) -> None:
    app = make_app(cors_origins="https://portal.agency.test, https://app.agency.test")
    async with client_for(app) as c:
        pre = await c.options(
            "/api/v1/me",
            headers={
                "Origin": "https://portal.agency.test",
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "X-CSRF-Token, Content-Type",
            },
        )
        ok = await c.get("/api/v1/me", headers={**headers, "Origin": "https://app.agency.test"})
        other = await c.get("/api/v1/me", headers={**headers, "Origin": "https://evil.test"})
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "https://portal.agency.test"
    assert pre.headers["access-control-allow-credentials"] == "true"
    assert "x-csrf-token" in pre.headers["access-control-allow-headers"].lower()
    assert_secure(pre)
    assert ok.headers["access-control-allow-origin"] == "https://app.agency.test"
    assert "x-request-id" in ok.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in other.headers
