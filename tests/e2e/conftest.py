"""Browser tests: a real server process on loopback and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.services import require_or_skip

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
E2E_EMAIL = "e2e-admin@e2e.test"
E2E_PASSWORD = "e2e-password-long"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "estatecrm.cli", *args],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The CRM served by uvicorn in its own process, on a fresh SQLite database."""
    db = tmp_path_factory.mktemp("e2e") / "e2e.db"
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{db}",
            "ENVIRONMENT": "development",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",  # the log a failed test quotes is complete
            "RATE_LIMIT_ENABLED": "false",
        }
    )
    _cli(env, "db", "upgrade")
    _cli(
        env,
        "users",
        "create",
        "--agency",
        "E2E Agency",
        "--email",
        E2E_EMAIL,
        "--password",
        E2E_PASSWORD,
        "--role",
        "admin",
        "--name",
        "Erin Endtoend",
    )
    port = free_port()
    log = (tmp_path_factory.getbasetemp() / f"e2e-server-{port}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "estatecrm.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/login", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"server did not start; see {log.name}")
    yield {
        "url": base,
        "email": E2E_EMAIL,
        "password": E2E_PASSWORD,
        "env": env,
        "log": Path(log.name),
    }
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


FAILURES = Path(__file__).resolve().parents[2] / "var" / "e2e-failures"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep what a failed browser test saw: where it was, the page, and the server's log."""
    report = yield
    tab = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and tab is not None:
        report.sections.extend(_failure_evidence(item, tab))
    return report


def _failure_evidence(item: pytest.Item, tab: Any) -> list[tuple[str, str]]:
    FAILURES.mkdir(parents=True, exist_ok=True)
    stem = FAILURES / item.name.replace("/", "_")
    sections = []
    try:
        tab.screenshot(path=f"{stem}.png", full_page=True, timeout=10_000)
        stem.with_suffix(".html").write_text(tab.content())
        text = tab.inner_text("body", timeout=5_000)
        sections.append(
            ("page at failure", f"{tab.url} (saved in {stem}.png/.html)\n{text[:3000]}")
        )
    except Exception as exc:  # the page may be what broke
        sections.append(("page at failure", f"could not read the page: {exc}"))
    server = item.funcargs.get("live_server")  # type: ignore[attr-defined]
    if server:
        tail = server["log"].read_text(errors="replace").splitlines()[-40:]
        sections.append(("server log (last 40 lines)", "\n".join(tail)))
    return sections


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright, one per test module.

    Playwright's sync API keeps an asyncio event loop running on this thread for as long as
    it is open. A session-scoped browser would leave that loop running after the browser
    tests, and every async test that xdist later schedules on the same worker would fail
    with "Runner.run() cannot be called from a running event loop"; closing it at the end
    of each module ends the loop.
    """
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        require_or_skip("Chromium", f"{CHROMIUM} not found (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - dev extra always installs it
        require_or_skip("Playwright", str(exc))
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, live_server: dict[str, Any]) -> Iterator[Any]:
    """A fresh browser tab that records console errors (CSP violations included)."""
    context = browser.new_context(
        base_url=live_server["url"], locale="en-GB", timezone_id="Europe/London"
    )
    # Record every Content-Security-Policy violation the page reports.
    context.add_init_script(
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation', function (e) {"
        "  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);"
        "});"
    )
    tab = context.new_page()
    tab.console_errors = []
    # Script errors and CSP violations; a 4xx answer the test provoked on purpose is not one.
    tab.on(
        "console",
        lambda msg: (
            tab.console_errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield tab
    context.close()


def csp_violations(page: Any) -> list[str]:
    """The CSP violations the current document has reported."""
    return list(page.evaluate("window.__cspViolations || []"))


def sign_in(page: Any, live_server: dict[str, Any]) -> None:
    """Sign in through the login form."""
    page.goto("/login")
    page.get_by_label("Email").fill(live_server["email"])
    page.get_by_label("Password").fill(live_server["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/properties")
