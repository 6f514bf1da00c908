"""A real Prometheus on loopback scrapes a running CRM and evaluates our recording rules."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port
from tests.services import require_or_skip

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules" / "recording.yml"


def _wait(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
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
    """The CRM served by uvicorn with multiprocess metrics, on a fresh SQLite file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'prom.db'}",
            "ENVIRONMENT": "development",
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_ENABLED": "false",
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
        [sys.executable, "-m", "estatecrm.cli", "serve", "--port", str(port)],
        env=env,
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


def test_prometheus_scrapes_the_app_and_a_recording_rule_produces_a_value(
    app_url: str, tmp_path: Path
) -> None:
    binary = shutil.which("prometheus")
    if binary is None:
        require_or_skip("prometheus", "not installed (apt-get install -y prometheus)")
    assert binary is not None
    target = app_url.removeprefix("http://")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {RULES}\n"
        "scrape_configs:\n  - job_name: estatecrm\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    port = free_port()
    prom = subprocess.Popen(
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
        _wait(f"{api}/-/ready", prom)
        value = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and value is None:
            # Traffic, one server error among it would need a bug; all 2xx/4xx here.
            for _ in range(5):
                httpx.get(f"{app_url}/health", timeout=5)
                httpx.get(f"{app_url}/api/v1/properties", timeout=5)
            body = httpx.get(
                f"{api}/api/v1/query", params={"query": "slo:sli_error:ratio_rate5m"}, timeout=5
            ).json()
            results = body["data"]["result"]
            # 0/0 is NaN: an early evaluation can see two scrapes with no request between
            # them (the traffic comes in bursts). Wait for a ratio over real traffic.
            found = float(results[0]["value"][1]) if results else math.nan
            if not math.isnan(found):
                value = found
            else:
                time.sleep(1)
        assert value is not None, "the recording rule never produced a value"
        # No server errors were caused, so the error ratio is zero.
        assert value == 0.0
        up = httpx.get(f"{api}/api/v1/query", params={"query": 'up{job="estatecrm"}'}).json()
        assert up["data"]["result"][0]["value"][1] == "1"
        # The app's own request counter, labelled by route template, reached Prometheus.
        query = 'sum(http_requests_total{job="estatecrm",path="/api/v1/properties",status="401"})'
        seen = httpx.get(f"{api}/api/v1/query", params={"query": query}).json()
        assert float(seen["data"]["result"][0]["value"][1]) >= 5
    finally:
        prom.terminate()
        prom.wait(timeout=15)
