"""`estatecrm compliance report`: what is expired, expiring or missing, for a cron job.

Exit codes: 0 nothing overdue (things may be expiring soon), 1 something is overdue (expired,
missing, an EPC below the letting minimum, or an overdue duty another feature reports),
2 the command could not run (unknown agency, bad configuration).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import typer
from rich.table import Table

from estatecrm.auth.models import Agency
from estatecrm.cli.common import console, err_console, load_settings, run, session_scope
from estatecrm.compliance import rules
from estatecrm.compliance import service as compliance_service
from estatecrm.db.scoping import as_agency
from estatecrm.kit.clock import today_london

app = typer.Typer(help="Compliance certificates and duties.", no_args_is_help=True)


def _parse_date(value: str | None) -> date:
    if value is None:
        return today_london()
    try:
        return date.fromisoformat(value)
    except ValueError:
        err_console.print(f"[red]--date must be YYYY-MM-DD, not {value!r}[/red]")
        raise typer.Exit(code=2) from None


def _as_json(report: compliance_service.Report) -> dict[str, Any]:
    return {
        "agency": report.agency,
        "date": report.date.isoformat(),
        "overdue": report.overdue,
        "summary": report.summary.model_dump(mode="json"),
        "items": {
            urgency: [item.model_dump(mode="json") for item in items]
            for urgency, items in report.items.items()
        },
        "epc_below_minimum": [p.model_dump(mode="json") for p in report.epc_below_minimum],
        "extra": [
            {
                "key": s.key,
                "title": s.title,
                "overdue": s.overdue,
                "total": s.total,
                "rows": [
                    {
                        "label": r.label,
                        "detail": r.detail,
                        "due_date": r.due_date.isoformat() if r.due_date else None,
                    }
                    for r in s.rows
                ],
            }
            for s in report.extra
        ],
    }


def _print(report: compliance_service.Report) -> None:
    verdict = "[red]OVERDUE[/red]" if report.overdue else "[green]nothing overdue[/green]"
    console.print(f"[bold]{report.agency}[/bold] · compliance on {report.date:%d %b %Y}: {verdict}")
    for urgency, items in report.items.items():
        if not items:
            continue
        table = Table(title=f"{compliance_service.URGENCY_TITLES[urgency]} ({len(items)})")
        for column in ("Property", "Reference", "Certificate", "Expiry", "Days"):
            table.add_column(column)
        for item in items:
            table.add_row(
                item.property_address,
                item.property_reference,
                rules.label(item.type),
                item.expiry_date.isoformat() if item.expiry_date else "—",
                str(item.days_to_expiry) if item.days_to_expiry is not None else "—",
            )
        console.print(table)
    if report.epc_below_minimum:
        table = Table(title=f"EPC below E, no exemption ({len(report.epc_below_minimum)})")
        table.add_column("Property")
        table.add_column("Reference")
        table.add_column("Rating")
        for p in report.epc_below_minimum:
            table.add_row(p.property_address, p.property_reference, p.rating)
        console.print(table)
    for section in report.extra:
        table = Table(title=f"{section.title} ({section.total})")
        table.add_column("Record")
        table.add_column("What is due")
        table.add_column("Due")
        for row in section.rows:
            table.add_row(row.label, row.detail, row.due_date.isoformat() if row.due_date else "—")
        console.print(table)
    counts = report.summary.by_urgency
    console.print(
        f"Expired {counts['expired']} · expiring ≤7 days {counts['due_7']} · "
        f"≤30 days {counts['due_30']} · missing {counts['missing']} · "
        f"EPC below E {report.summary.epc_below_minimum}"
    )


@app.command()
def report(
    agency: str | None = typer.Option(None, help="Agency name (default: every agency)"),
    on: str | None = typer.Option(None, "--date", help="Judge on this day, YYYY-MM-DD (today)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables"),
) -> None:
    """Print what is expired, expiring or missing; exit 1 when anything is overdue."""
    settings = load_settings()
    on_date = _parse_date(on)

    async def body() -> list[compliance_service.Report] | None:
        reason = "compliance report: one report per agency of the installation"
        async with session_scope(settings, cross_agency=reason) as session:
            agencies: list[Agency] = await compliance_service.agencies_named(session, agency)
            if agency is not None and not agencies:
                return None
            reports = []
            for a in agencies:
                with as_agency(session, a.id):
                    reports.append(await compliance_service.report(session, a.id, a.name, on_date))
            return reports

    reports = run(body)
    if reports is None:
        err_console.print(f"[red]No agency named {agency!r}[/red]")
        raise typer.Exit(code=2)
    if as_json:
        overdue = any(r.overdue for r in reports)
        payload = {
            "date": on_date.isoformat(),
            "overdue": overdue,
            "agencies": [_as_json(r) for r in reports],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        if not reports:
            console.print("No agencies yet.")
        for r in reports:
            _print(r)
    raise typer.Exit(code=1 if any(r.overdue for r in reports) else 0)
