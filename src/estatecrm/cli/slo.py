"""`estatecrm slo check` (and `scripts/check-slo.py`): the error budget as a deploy gate.

The service's address: `--url`, else SLO_CHECK_URL, else PUBLIC_URL (read like the service
reads its settings: environment, `.env`, Vault), else http://127.0.0.1:8000.

Exit codes: 0 healthy; 1 warning (a slow burn, or less than SLO_CHECK_MIN_BUDGET — 20 % — of
some budget left); 2 critical, exhausted, or **unknown**: the gate fails closed, so a budget
that cannot be read (unreachable, 429, 5xx, not an error-budget document) blocks a deploy.
`--alert` posts a firing alert to Alertmanager's v2 API when the status is not healthy.
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

EXIT_CODES = {"healthy": 0, "warning": 1, "critical": 2, "exhausted": 2, "unknown": 2}
REPORT_STATUSES = ("healthy", "warning", "critical", "exhausted")
DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_MIN_BUDGET = 0.2
STYLE = {
    "healthy": "green",
    "warning": "yellow",
    "critical": "red",
    "exhausted": "red",
    "unknown": "red",
}
ALERT_NAMES = {
    "critical": ("ErrorBudgetBurnRateCritical", "critical"),
    "exhausted": ("ErrorBudgetExhausted", "critical"),
    "warning": ("ErrorBudgetBurnRateWarning", "warning"),
    "low": ("ErrorBudgetLow", "warning"),
    "unknown": ("ErrorBudgetCheckFailed", "critical"),
}


@app.callback()
def _group() -> None:
    """Service level objectives and the error budget."""


def _setting(name: str) -> str:
    """A setting as the service would read it; the environment alone if the config is broken."""
    try:
        return str(getattr(get_settings(), name.lower()) or "")
    except (ValidationError, RuntimeError, OSError):
        # A broken config (or unreachable Vault) must not stop the budget check itself.
        return os.environ.get(name, "")


def _alertmanager_default() -> str:
    return _setting("ALERTMANAGER_URL")


def service_url(explicit: str | None) -> str:
    """--url, else SLO_CHECK_URL, else PUBLIC_URL, else the local default."""
    for candidate in (explicit, _setting("SLO_CHECK_URL"), _setting("PUBLIC_URL")):
        if candidate and candidate.strip():
            return candidate.strip().rstrip("/")
    return DEFAULT_URL


def _min_budget_default() -> float:
    raw = _setting("SLO_CHECK_MIN_BUDGET")
    try:
        return float(raw) if raw else DEFAULT_MIN_BUDGET
    except ValueError:
        return DEFAULT_MIN_BUDGET


def fetch(url: str, timeout: float) -> dict[str, Any]:
    """The service's /error-budget document; raises httpx.HTTPError or ValueError."""
    response = httpx.get(url.rstrip("/") + "/error-budget", timeout=timeout)
    if response.status_code == 429:
        raise ValueError(f"rate limited (429, Retry-After {response.headers.get('retry-after')})")
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict) or body.get("status") not in REPORT_STATUSES:
        raise ValueError("the response is not an error-budget document")
    slos = body.get("slos")
    if not isinstance(slos, dict) or not slos:
        raise ValueError("the error-budget document names no SLO")
    for name, slo in slos.items():
        if not isinstance(slo, dict) or not isinstance(
            slo.get("error_budget_remaining"), int | float
        ):
            raise ValueError(f"the error-budget document has no budget for {name!r}")
    return body


def low_budgets(report: dict[str, Any], min_budget: float) -> list[str]:
    """The SLOs with less than `min_budget` of their error budget left (and some left)."""
    return [
        name
        for name, slo in report["slos"].items()
        if 0 < slo["error_budget_remaining"] < min_budget
    ]


def gate_status(report: dict[str, Any], min_budget: float) -> tuple[str, str]:
    """The gate's verdict (status, alert key): the service's status, or warning on low budget."""
    status = str(report["status"])
    if status == "healthy" and low_budgets(report, min_budget):
        return "warning", "low"
    return status, status


def alert_payload(status: str, url: str, report: dict[str, Any] | None, reason: str = "") -> Any:
    """The Alertmanager v2 body (a list of one alert) for this status."""
    name, severity = ALERT_NAMES[status]
    now = datetime.now(UTC)
    if report is not None:
        failing = [
            f"{slo}: {data['status']}, {data['error_budget_remaining']:.1%} budget left, "
            f"1h burn {data['burn_rates']['1h']}x"
            for slo, data in report.get("slos", {}).items()
            if data.get("status") != "healthy" or status == "low"
        ]
        summary = f"Error budget {status} for Estate Agent CRM"
        description = "; ".join(failing) or summary
        hours = report.get("time_to_exhaustion_hours")
        if hours is not None:
            description += f". Budget exhausted in about {hours} h at the current burn rate."
    else:
        summary = "Estate Agent CRM error budget could not be read"
        description = reason
    if status == "low":
        summary = "Error budget running low for Estate Agent CRM"
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


def _print_summary(url: str, report: dict[str, Any], status: str, min_budget: float) -> None:
    # Plain aligned lines, not a table: this output often ends up in CI logs 80 columns wide.
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
    low = low_budgets(report, min_budget)
    if low:
        console.print(
            f"[yellow]Less than {min_budget:.0%} of the error budget left:[/] {', '.join(low)}",
            soft_wrap=True,
        )


@app.command()
def check(
    url: str | None = typer.Option(
        None,
        "--url",
        help="Base URL of the service (default: SLO_CHECK_URL, else PUBLIC_URL, else "
        f"{DEFAULT_URL})",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the error-budget JSON"),
    alert: bool = typer.Option(
        False, "--alert", help="Post a firing alert to Alertmanager when not healthy"
    ),
    alertmanager_url: str | None = typer.Option(
        None, "--alertmanager-url", help="Alertmanager base URL (default: ALERTMANAGER_URL)"
    ),
    min_budget: float | None = typer.Option(
        None,
        "--min-budget",
        min=0.0,
        max=1.0,
        help="Warn (exit 1) when less than this share of any budget is left "
        f"(default: SLO_CHECK_MIN_BUDGET, else {DEFAULT_MIN_BUDGET})",
    ),
    timeout: float = typer.Option(10.0, help="Seconds to wait for the service"),
) -> None:
    """Read /error-budget. Exit 0 healthy, 1 warning/low budget, 2 critical/exhausted/unknown."""
    base = service_url(url)
    floor = _min_budget_default() if min_budget is None else min_budget
    try:
        report: dict[str, Any] | None = fetch(base, timeout)
        problem = ""
    except (httpx.HTTPError, ValueError) as exc:
        report, problem = None, f"{base}/error-budget: {exc.__class__.__name__}: {exc}"

    if report is None:
        status = alert_key = "unknown"
        if as_json:
            print(json.dumps({"status": "unknown", "url": base, "error": problem}))
        else:
            err_console.print(
                f"[red]UNKNOWN: cannot read the error budget[/red] ({problem}). "
                "Failing closed: treat as critical.",
                soft_wrap=True,
            )
    else:
        status, alert_key = gate_status(report, floor)
        if as_json:
            print(json.dumps({**report, "status": status}, indent=2))
        else:
            _print_summary(base, report, status, floor)
    code = EXIT_CODES[status]

    if alert and status != "healthy":
        target = alertmanager_url or _alertmanager_default()
        if not target:
            err_console.print("[yellow]--alert given but ALERTMANAGER_URL is not set[/yellow]")
        else:
            try:
                send_alert(target, alert_payload(alert_key, base, report, problem), timeout)
                err_console.print(f"Alert sent to {target} ({ALERT_NAMES[alert_key][0]})")
            except httpx.HTTPError as exc:
                # The deploy gate still gets the budget's exit code, not the alert's.
                err_console.print(f"[red]Could not send the alert to {target}[/red]: {exc}")
    raise typer.Exit(code=code)


def main() -> None:
    """Entry point for scripts/check-slo.py: `python scripts/check-slo.py [--json] [--alert]`."""
    command = typer.main.get_command(app)
    sys.exit(command.main(args=["check", *sys.argv[1:]], prog_name="check-slo.py"))
