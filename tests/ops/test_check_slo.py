"""`scripts/check-slo.py` / `estatecrm slo check`: URL sources, fail-closed exit codes, --json,
--alert, the low-budget warning."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from estatecrm.cli.app import app as cli_app
from tests.ops.conftest import REPO, free_port

runner = CliRunner()


def budget(status: str, remaining: float = 0.4) -> dict[str, Any]:
    slo = {
        "objective": 0.999,
        "period_days": 30,
        "events": 1000,
        "bad_events": 3,
        "error_budget_remaining": -2.0 if status == "exhausted" else remaining,
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


def test_unreachable_service_fails_closed_with_exit_2() -> None:
    result = runner.invoke(cli_app, ["slo", "check", "--url", f"http://127.0.0.1:{free_port()}"])
    assert result.exit_code == 2
    assert "UNKNOWN" in result.output and "ConnectError" in result.output


@pytest.mark.parametrize(
    ("status", "reply", "why"),
    [
        (500, {"error": "Internal server error"}, "500"),
        (503, {"status": "unhealthy"}, "503"),
        (429, {"error": "Rate limit exceeded", "retry_after": 30}, "rate limited"),
        (200, {"status": "healthy"}, "names no SLO"),
        (200, {"status": "fine", "slos": {}}, "not an error-budget document"),
        (200, ["healthy"], "not an error-budget document"),
    ],
)
def test_an_unreadable_budget_fails_closed(
    http_stub: Any, status: int, reply: Any, why: str
) -> None:
    http_stub.status = status
    http_stub.reply = reply
    result = runner.invoke(cli_app, ["slo", "check", "--url", http_stub.url, "--json"])
    assert result.exit_code == 2
    body = json.loads(result.stdout)
    assert body["status"] == "unknown"
    assert why in body["error"]


def test_less_than_a_fifth_of_a_budget_left_is_a_warning(http_stub: Any) -> None:
    # The drill's case: 6.4 % left, nothing burning; the service itself says healthy.
    http_stub.reply = budget("healthy", remaining=0.064)
    result = runner.invoke(cli_app, ["slo", "check", "--url", http_stub.url])
    assert result.exit_code == 1, result.output
    assert "WARNING" in result.output and "Less than 20% of the error budget left" in (
        result.output
    )
    as_json = runner.invoke(cli_app, ["slo", "check", "--url", http_stub.url, "--json"])
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["status"] == "warning"
    # The floor is configurable; 21 % left passes the default floor.
    lower = ["slo", "check", "--url", http_stub.url, "--min-budget", "0.05"]
    assert runner.invoke(cli_app, lower).exit_code == 0
    http_stub.reply = budget("healthy", remaining=0.21)
    assert runner.invoke(cli_app, ["slo", "check", "--url", http_stub.url]).exit_code == 0


def _script(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "check-slo.py"), "--json"],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_url_comes_from_slo_check_url_then_public_url(http_stub: Any, tmp_path: Path) -> None:
    http_stub.reply = budget("healthy")
    dead = f"http://127.0.0.1:{free_port()}"
    # SLO_CHECK_URL wins over PUBLIC_URL.
    proc = _script(tmp_path, {"SLO_CHECK_URL": http_stub.url, "PUBLIC_URL": dead})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # PUBLIC_URL from the .env file the service reads.
    (tmp_path / ".env").write_text(f"PUBLIC_URL={http_stub.url}/\n")
    proc = _script(tmp_path, {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # A PUBLIC_URL nothing answers at: fail closed, and say where it looked.
    (tmp_path / ".env").write_text(f"PUBLIC_URL={dead}\n")
    proc = _script(tmp_path, {})
    assert proc.returncode == 2
    assert json.loads(proc.stdout) == {
        "status": "unknown",
        "url": dead,
        "error": json.loads(proc.stdout)["error"],
    }


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
    assert result.exit_code == 2
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
