"""JSON logs: one line per request with its fields, request ids everywhere, no secrets."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from estatecrm.ops.logging import flush_logs, redact_text
from tests.builders import PASSWORD, make_user
from tests.ops.conftest import REPO, client_for

Logs = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Logs]:
    """The JSON lines written to stdout since the last call."""

    def read() -> list[dict[str, Any]]:
        flush_logs()
        out = capsys.readouterr().out
        lines = [line for line in out.splitlines() if line.strip()]
        return [json.loads(line) for line in lines]  # every line must be JSON

    read()
    yield read
    # Other tests run at the suite's WARNING level.
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("estatecrm").setLevel(logging.WARNING)


def _access(lines: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    return [x for x in lines if x.get("event") == "request" and x.get("request_id") == request_id]


async def test_one_json_line_per_request_with_its_fields(
    make_app: Any, logs: Logs, admin: Any, headers: dict[str, str]
) -> None:
    async with client_for(make_app(log_level="INFO")) as c:
        r = await c.get("/api/v1/me", headers=headers)
    assert r.status_code == 200
    request_id = r.headers["x-request-id"]
    (line,) = _access(logs(), request_id)
    assert line["level"] == "info"
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/me"
    assert line["route"] == "/api/v1/me"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert line["client_ip"] == "127.0.0.1"
    assert line["user_id"] == admin.id
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", line["timestamp"])
    assert line["db_queries"] >= 1


async def test_request_id_is_taken_when_valid_and_made_otherwise(
    raw_client: Any, logs: Logs
) -> None:
    r = await raw_client.get("/health", headers={"X-Request-ID": "lb-7f3a.92:01"})
    assert r.headers["x-request-id"] == "lb-7f3a.92:01"
    for bad in ("has spaces in it", "x" * 200, "<script>", ""):
        r = await raw_client.get("/health", headers={"X-Request-ID": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"]), bad
    r1 = await raw_client.get("/health")
    r2 = await raw_client.get("/health")
    assert r1.headers["x-request-id"] != r2.headers["x-request-id"]


async def test_application_logs_carry_the_request_id(make_app: Any, logs: Logs) -> None:
    app = make_app(log_level="INFO")

    async def noisy() -> dict[str, str]:
        logging.getLogger("estatecrm.properties").warning("geocoder slow", extra={"ms": 812})
        return {}

    app.add_api_route("/noisy", noisy)
    async with client_for(app) as c:
        r = await c.get("/noisy")
    request_id = r.headers["x-request-id"]
    lines = logs()
    (app_line,) = [x for x in lines if x.get("event") == "geocoder slow"]
    assert app_line["request_id"] == request_id
    assert app_line["level"] == "warning" and app_line["ms"] == 812
    assert app_line["logger"] == "estatecrm.properties"
    assert len(_access(lines, request_id)) == 1


SECRETS = [
    PASSWORD,
    "S3cret-Pa55word!",
    "tok-SECRET-1234567890",
    "sess-COOKIE-abcdef",
    "55779911",
    "31926819",
    "GB29NWBK60161331926819",
    "12-34-56",
    "4111 1111 1111 1111",
    "hunter2-xyz",
]


async def test_secrets_never_reach_the_logs(
    make_app: Any, logs: Logs, session: Any, agency: Any
) -> None:
    await make_user(session, agency, email="nia@agency.test")
    app = make_app(log_level="DEBUG")
    log = logging.getLogger("estatecrm.landlords")

    async def careless() -> dict[str, str]:
        log.info(
            "paying landlord: password=S3cret-Pa55word! account number 55779911",
            extra={
                "authorization": "Bearer tok-SECRET-1234567890",
                "cookie": "estatecrm_session=sess-COOKIE-abcdef",
                "bank": {"sort_code": "12-34-56", "account_number": "31926819"},
                "note": "IBAN GB29NWBK60161331926819, sort code 12-34-56",
            },
        )
        raise RuntimeError("cannot charge card 4111 1111 1111 1111 with password=hunter2-xyz")

    app.add_api_route("/careless", careless)
    async with client_for(app, browser=True) as c:
        await c.post("/login", data={"email": "nia@agency.test", "password": "S3cret-Pa55word!"})
        await c.post("/login", data={"email": "nia@agency.test", "password": PASSWORD})
        await c.post("/api/v1/auth/token", json={"email": "nia@agency.test", "password": PASSWORD})
        r = await c.get(
            "/careless",
            headers={
                "Authorization": "Bearer tok-SECRET-1234567890",
                "Cookie": "estatecrm_session=sess-COOKIE-abcdef",
            },
        )
    assert r.status_code == 500
    lines = logs()
    raw = "\n".join(json.dumps(x) for x in lines)
    assert any(x.get("event", "").startswith("paying landlord") for x in lines)
    assert any("RuntimeError" in x.get("exception", "") for x in lines)
    for secret in SECRETS:
        assert secret not in raw, secret
    assert "[REDACTED]" in raw


def test_free_text_redaction() -> None:
    text = redact_text(
        "Authorization: Bearer abc.def-ghi password='x1' api_key=K123 sort code 01-02-03 "
        "acct no. 12345678 card 5500-0000-0000-0004 request 3f2a"
    )
    for leaked in ("abc.def-ghi", "x1'", "K123", "01-02-03", "12345678", "5500-0000"):
        assert leaked not in text
    assert "request 3f2a" in text


async def test_log_level_is_honoured(make_app: Any, logs: Logs) -> None:
    async with client_for(make_app(log_level="WARNING")) as c:
        quiet = await c.get("/health")
    assert _access(logs(), quiet.headers["x-request-id"]) == []
    async with client_for(make_app(log_level="INFO")) as c:
        loud = await c.get("/health")
    assert len(_access(logs(), loud.headers["x-request-id"])) == 1


async def test_calendar_feed_token_is_not_logged(
    make_app: Any, logs: Logs, admin: Any, headers: dict[str, str]
) -> None:
    async with client_for(make_app(log_level="INFO")) as c:
        feed = (await c.get("/api/v1/me", headers=headers)).json()["calendar_feed_url"]
        token = feed.rsplit("/", 1)[1].removesuffix(".ics")
        r = await c.get(f"/calendar/{token}.ics")
    assert r.status_code == 200
    (line,) = _access(logs(), r.headers["x-request-id"])
    assert line["path"] == "/calendar/{token}.ics"
    assert token not in json.dumps(line)


def test_graceful_worker_stops_are_logged_at_info_not_error() -> None:
    import io
    import runpy

    from estatecrm.ops.logging import JSONFormatter

    # The filter exactly as deploy/gunicorn.conf.py wires it onto gunicorn's error logger
    # (the config sets PROMETHEUS_MULTIPROC_DIR as it loads: keep this process as it was).
    saved = dict(os.environ)
    try:
        conf = runpy.run_path(str(REPO / "deploy" / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    wiring = conf["logconfig_dict"]
    assert wiring["loggers"]["gunicorn.error"]["filters"] == ["graceful"]
    factory = wiring["filters"]["graceful"]["()"]
    module, _, name = factory.rpartition(".")
    graceful = getattr(__import__(module, fromlist=[name]), name)()

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger("test.gunicorn.error")
    logger.propagate = False
    logger.addHandler(handler)
    logger.addFilter(graceful)
    try:
        logger.error("Worker (pid:4242) was sent SIGTERM!")
        logger.error("Worker (pid:4243) was sent SIGKILL! Perhaps out of memory?")
        logger.error("Worker (pid:4244) exited with code 1.")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["level"] for line in lines] == ["info", "error", "error"]
