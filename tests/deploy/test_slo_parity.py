"""One definition of each SLO: the same traffic, driven through the real app and scraped by a
real Prometheus running deploy/prometheus/rules/recording.yml, gives the same figures in
`/error-budget` (what check-slo.py reads) and in the recording rules (what the alerts and
Grafana read).

The traffic is the drill's case: 2.5 % of the users' requests fail, spread evenly, so no
minute has more than 5 % failures: availability (minutes) must be untouched in both while
the error rate burns in both; /health and /static traffic, and failing /health answers, must
count in neither.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.helpers import ROOT
from tests.e2e.conftest import free_port
from tests.services import require_or_skip

RULES = ROOT / "deploy" / "prometheus" / "rules" / "recording.yml"
BATCHES = 15
BATCH_OK = 38  # then one failure and one slow request: 1 in 40 fails, 1 in 40 is slow
TOLERANCE = 0.005  # Prometheus misses each series' first increment; see the module doc


def _wait(url: str, proc: subprocess.Popen[bytes], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args!r} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"{url} did not answer within {seconds} s")


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """The CRM plus /drill/* routes under uvicorn, multiprocess metrics, a fresh SQLite file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'parity.db'}",
            "ENVIRONMENT": "development",
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_ENABLED": "false",
            "SLI_FLUSH_INTERVAL_SECONDS": "1",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "multiproc"),
        }
    )
    (tmp_path / "multiproc").mkdir()
    subprocess.run(
        [sys.executable, "-m", "estatecrm.cli", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.deploy.slo_traffic_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/health", proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.fixture
def prometheus(app_url: str, tmp_path: Path) -> Iterator[str]:
    """A real Prometheus scraping the app every second with the project's recording rules."""
    binary = shutil.which("prometheus")
    if binary is None:
        require_or_skip("prometheus", "not installed (apt-get install -y prometheus)")
    assert binary is not None
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {RULES}\n"
        "scrape_configs:\n  - job_name: estatecrm\n"
        f"    static_configs:\n      - targets: ['{app_url.removeprefix('http://')}']\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{api}/-/ready", proc)
        yield api
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _query(api: str, expr: str) -> dict[str, float]:
    body = httpx.get(f"{api}/api/v1/query", params={"query": expr}, timeout=5).json()
    return {
        r["metric"].get("slo", r["metric"].get("__name__", "")): float(r["value"][1])
        for r in body["data"]["result"]
    }


async def _drive(app_url: str) -> None:
    # A new connection per request: a kept-alive one the server closes while idle on a
    # loaded machine would fail the next request with a ReadError.
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=app_url, timeout=60, limits=limits) as c:

        async def many(path: str, count: int) -> None:
            await asyncio.gather(*(c.get(path) for _ in range(count)))

        # Warm-up: every series exists before the measured traffic; the failure sits
        # between successes, so no minute, however it is cut, is more than 5 % failures.
        await many("/drill/ok", 20)
        await asyncio.gather(c.get("/drill/fail"), c.get("/drill/slow"))
        await many("/drill/ok", 20)
        for _ in range(BATCHES):
            # Failures only ever follow their batch's successes: the share of failures
            # in any stretch of the traffic stays at or under 1 in 39.
            await many("/drill/ok", BATCH_OK)
            await asyncio.gather(c.get("/drill/fail"), c.get("/drill/slow"))
            # Not the users' requests: probes, a failing probe answer, static files.
            await many("/health", 20)
            await many("/static/app.css", 20)


def test_the_app_and_prometheus_agree_on_every_slo(app_url: str, prometheus: str) -> None:
    # Prometheus has seen the app before any traffic (so it misses no warm-up increment
    # but the very first of each new series).
    deadline = time.monotonic() + 60
    while not _query(prometheus, 'up{job="estatecrm"} == 1') and time.monotonic() < deadline:
        time.sleep(0.5)
    asyncio.run(_drive(app_url))
    time.sleep(4)  # a few scrapes and rule evaluations after the last request

    budget = httpx.get(f"{app_url}/error-budget", timeout=10).json()["slos"]
    app_ratio = {
        name: slo["bad_events"] / slo["events"] for name, slo in budget.items() if slo["events"]
    }
    # The 30-minute window holds all of the traffic even on a slow machine (the app's
    # figures below are for the whole period, which is all of it too).
    found: dict[str, float] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = _query(prometheus, "slo:sli_error:ratio_rate30m")
        if set(found) == {"availability", "latency", "error_rate"}:
            break
        time.sleep(1)
    assert set(found) == {"availability", "latency", "error_rate"}, found

    # The drill's case: 2.5 % of requests fail, no minute is down.
    assert budget["error_rate"]["events"] >= BATCHES * (BATCH_OK + 2)
    assert app_ratio["error_rate"] == pytest.approx(1 / 40, abs=0.002)
    assert budget["availability"]["bad_events"] == 0 and found["availability"] == 0.0
    assert budget["availability"]["status"] == "healthy"
    assert budget["error_rate"]["status"] != "healthy"  # 25x its budget
    # Prometheus says the same for the request SLOs (minus each series' first increment).
    for slo in ("error_rate", "latency"):
        assert found[slo] == pytest.approx(app_ratio[slo], abs=TOLERANCE), (slo, found, app_ratio)
    # The 30-minute burn rates agree too (each SLO's own budget).
    allowed = _query(prometheus, "slo:error_budget:ratio")
    for slo in ("error_rate", "latency"):
        expected = budget[slo]["burn_rates"]["30m"]
        assert found[slo] / allowed[slo] == pytest.approx(expected, rel=0.2), (slo, expected)
