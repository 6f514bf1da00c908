"""`scripts/check-slo.py` / `estatecrm slo check`: exit codes, --json, --alert."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from estatecrm.cli.app import app as cli_app
from tests.ops.conftest import REPO, free_port

runner = CliRunner()


def budget(status: str) -> dict[str, Any]:
    slo = {
        "objective": 0.999,
        "period_days": 30,
        "events": 1000,
        "bad_events": 3,
        "error_budget_remaining": -2.0 if status == "exhausted" else 0.4,
        "burn_rates": {"5m": 20.0, "30m": 8.0, "1h": 16.0, "2h": 4, "6h": 7, "1d": 3.5, "3d": 1},
        "status": status,
        "time_to_exhaustion_hours": 18.0,
    }
    return {
        "status": status,
        "generated_at": "2026-11-27T12:00:00+00:00",
        "period_days": 30,
        "time_to_exhaustion_hours": 18.0,
        "slos": {"availability": slo, "latency": slo, "error_rate": slo},
    }


@pytest.mark.parametrize(
    ("status", "code"), [("healthy", 0), ("warning", 1), ("critical", 2), ("exhausted", 2)]
)
def test_exit_code_follows_the_budget(http_stub: Any, status: str, code: int) -> None:
    http_stub.reply = budget(status)
    result = runner.invoke(cli_app, ["slo", "check", "--url", http_stub.url])
    assert result.exit_code == code, result.output
    assert status.upper() in result.output
    assert "error_rate" in result.output


def test_unreachable_service_exits_3() -> None:
    result = runner.invoke(cli_app, ["slo", "check", "--url", f"http://127.0.0.1:{free_port()}"])
    assert result.exit_code == 3


def test_a_broken_service_answer_exits_3(http_stub: Any) -> None:
    http_stub.status = 500
    http_stub.reply = {"error": "Internal server error"}
    assert runner.invoke(cli_app, ["slo", "check", "--url", http_stub.url]).exit_code == 3


def test_json_output(http_stub: Any) -> None:
    http_stub.reply = budget("warning")
    result = runner.invoke(cli_app, ["slo", "check", "--url", http_stub.url, "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == budget("warning")


def test_alert_posts_to_alertmanager_v2_when_not_healthy(http_stub: Any) -> None:
    http_stub.reply = budget("critical")
    result = runner.invoke(
        cli_app,
        ["slo", "check", "--url", http_stub.url, "--alert", "--alertmanager-url", http_stub.url],
    )
    assert result.exit_code == 2, result.output
    assert len(http_stub.posts) == 1
    path, alerts = http_stub.posts[0]
    assert path == "/api/v2/alerts"
    (alert,) = alerts
    assert alert["labels"]["alertname"] == "ErrorBudgetBurnRateCritical"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["service"] == "estatecrm"
    assert "error_rate" in alert["annotations"]["description"]
    assert alert["generatorURL"] == f"{http_stub.url}/error-budget"
    assert alert["startsAt"] < alert["endsAt"]


def test_no_alert_when_healthy(http_stub: Any) -> None:
    http_stub.reply = budget("healthy")
    result = runner.invoke(
        cli_app,
        ["slo", "check", "--url", http_stub.url, "--alert", "--alertmanager-url", http_stub.url],
    )
    assert result.exit_code == 0
    assert http_stub.posts == []


def test_unreachable_service_alerts_and_alert_failure_keeps_exit_code(http_stub: Any) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(
        cli_app, ["slo", "check", "--url", dead, "--alert", "--alertmanager-url", http_stub.url]
    )
    assert result.exit_code == 3
    assert http_stub.posts[0][1][0]["labels"]["alertname"] == "ErrorBudgetCheckFailed"
    # Alertmanager itself down: the exit code is still the budget's.
    http_stub.reply = budget("warning")
    result = runner.invoke(
        cli_app, ["slo", "check", "--url", http_stub.url, "--alert", "--alertmanager-url", dead]
    )
    assert result.exit_code == 1


def test_script_wrapper_reads_alertmanager_url_from_the_environment(http_stub: Any) -> None:
    http_stub.reply = budget("exhausted")
    env = {"PATH": "/usr/bin:/bin", "ALERTMANAGER_URL": http_stub.url, "HOME": "/tmp"}
    proc = subprocess.run(
        [sys.executable, "scripts/check-slo.py", "--url", http_stub.url, "--alert"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "EXHAUSTED" in proc.stdout
    assert http_stub.posts[0][1][0]["labels"]["alertname"] == "ErrorBudgetExhausted"


def test_against_the_real_service(start_server: Any) -> None:
    server = start_server()
    proc = subprocess.run(
        [sys.executable, "scripts/check-slo.py", "--url", server.url, "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["status"] == "healthy"
    assert set(report["slos"]) == {"availability", "latency", "error_rate"}
