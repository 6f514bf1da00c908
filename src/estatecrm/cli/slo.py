"""`estatecrm slo check` (and `scripts/check-slo.py`): the error budget as a deploy gate.

Exit codes: 0 healthy, 1 warning, 2 critical or budget exhausted, 3 the service could not be
read. `--alert` posts a firing alert to Alertmanager's v2 API when the status is not healthy.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console

from estatecrm.config import get_settings

app = typer.Typer(help="Service level objectives and the error budget.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

EXIT_CODES = {"healthy": 0, "warning": 1, "critical": 2, "exhausted": 2}
EXIT_UNREACHABLE = 3
DEFAULT_URL = "http://127.0.0.1:8000"
STYLE = {"healthy": "green", "warning": "yellow", "critical": "red", "exhausted": "red"}
ALERT_NAMES = {
    "critical": ("ErrorBudgetBurnRateCritical", "critical"),
    "exhausted": ("ErrorBudgetExhausted", "critical"),
    "warning": ("ErrorBudgetBurnRateWarning", "warning"),
    "unreachable": ("ErrorBudgetCheckFailed", "critical"),
}


@app.callback()
def _group() -> None:
    """Service level objectives and the error budget."""


def _alertmanager_default() -> str:
    try:
        return get_settings().alertmanager_url
    except ValidationError:  # a broken config must not stop the budget check itself
        return os.environ.get("ALERTMANAGER_URL", "")


def fetch(url: str, timeout: float) -> dict[str, Any]:
    """The service's /error-budget document; raises httpx.HTTPError or ValueError."""
    response = httpx.get(url.rstrip("/") + "/error-budget", timeout=timeout)
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict) or body.get("status") not in EXIT_CODES:
        raise ValueError("the response is not an error-budget document")
    return body


def alert_payload(status: str, url: str, report: dict[str, Any] | None, reason: str = "") -> Any:
    """The Alertmanager v2 body (a list of one alert) for this status."""
    name, severity = ALERT_NAMES[status]
    now = datetime.now(UTC)
    if report is not None:
        failing = [
            f"{slo}: {data['status']}, {data['error_budget_remaining']:.1%} budget left, "
            f"1h burn {data['burn_rates']['1h']}x"
            for slo, data in report.get("slos", {}).items()
            if data.get("status") != "healthy"
        ]
        summary = f"Error budget {status} for Estate Agent CRM"
        description = "; ".join(failing) or summary
        hours = report.get("time_to_exhaustion_hours")
        if hours is not None:
            description += f". Budget exhausted in about {hours} h at the current burn rate."
    else:
        summary = "Estate Agent CRM error budget could not be read"
        description = reason
    return [
        {
            "labels": {
                "alertname": name,
                "severity": severity,
                "service": "estatecrm",
                "source": "check-slo",
            },
            "annotations": {
                "summary": summary,
                "description": description,
                "runbook": "docs/runbook.md",
            },
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(minutes=15)).isoformat(),
            "generatorURL": url.rstrip("/") + "/error-budget",
        }
    ]


def send_alert(alertmanager: str, payload: Any, timeout: float) -> None:
    """POST alerts to Alertmanager's v2 API; raises httpx.HTTPError on failure."""
    response = httpx.post(
        alertmanager.rstrip("/") + "/api/v2/alerts", json=payload, timeout=timeout
    )
    response.raise_for_status()


def _print_summary(url: str, report: dict[str, Any]) -> None:
    # Plain aligned lines, not a table: this output often ends up in CI logs 80 columns wide.
    status = report["status"]
    console.print(
        f"Error budget at {url}: [bold {STYLE[status]}]{status.upper()}[/] "
        f"(period {report['period_days']} days)",
        soft_wrap=True,
    )
    for name, slo in report["slos"].items():
        burn = slo["burn_rates"]
        rates = " ".join(f"{w}={burn[w]:g}x" for w in ("5m", "1h", "6h", "1d", "3d"))
        console.print(
            f"  {name:<13} [{STYLE[slo['status']]}]{slo['status']:<9}[/] "
            f"objective {slo['objective']:.3%}  events {slo['events']}  bad {slo['bad_events']}"
            f"  budget left {slo['error_budget_remaining']:.1%}  burn {rates}",
            soft_wrap=True,
            highlight=False,
        )
    hours = report.get("time_to_exhaustion_hours")
    if hours is not None:
        console.print(f"At the last hour's burn rate the budget runs out in {hours} hours.")


@app.command()
def check(
    url: str = typer.Option(
        DEFAULT_URL, "--url", envvar="ESTATECRM_URL", help="Base URL of the service"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the error-budget JSON"),
    alert: bool = typer.Option(
        False, "--alert", help="Post a firing alert to Alertmanager when not healthy"
    ),
    alertmanager_url: str | None = typer.Option(
        None, "--alertmanager-url", help="Alertmanager base URL (default: ALERTMANAGER_URL)"
    ),
    timeout: float = typer.Option(10.0, help="Seconds to wait for the service"),
) -> None:
    """Read /error-budget. Exit 0 healthy, 1 warning, 2 critical/exhausted, 3 unreachable."""
    try:
        report: dict[str, Any] | None = fetch(url, timeout)
        problem = ""
    except (httpx.HTTPError, ValueError) as exc:
        report, problem = None, f"{url}/error-budget: {exc.__class__.__name__}: {exc}"

    if report is None:
        if as_json:
            print(json.dumps({"status": "unreachable", "error": problem}))
        else:
            err_console.print(f"[red]Cannot read the error budget[/red] ({problem})")
        status, code = "unreachable", EXIT_UNREACHABLE
    else:
        status = report["status"]
        code = EXIT_CODES[status]
        if as_json:
            print(json.dumps(report, indent=2))
        else:
            _print_summary(url, report)

    if alert and status != "healthy":
        target = alertmanager_url or _alertmanager_default()
        if not target:
            err_console.print("[yellow]--alert given but ALERTMANAGER_URL is not set[/yellow]")
        else:
            try:
                send_alert(target, alert_payload(status, url, report, problem), timeout)
                err_console.print(f"Alert sent to {target} ({ALERT_NAMES[status][0]})")
            except httpx.HTTPError as exc:
                # The deploy gate still gets the budget's exit code, not the alert's.
                err_console.print(f"[red]Could not send the alert to {target}[/red]: {exc}")
    raise typer.Exit(code=code)


def main() -> None:
    """Entry point for scripts/check-slo.py: `python scripts/check-slo.py [--json] [--alert]`."""
    command = typer.main.get_command(app)
    sys.exit(command.main(args=["check", *sys.argv[1:]], prog_name="check-slo.py"))
