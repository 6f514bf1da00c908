"""`estatecrm worker` and `estatecrm jobs`: run and inspect the background job queue."""

from __future__ import annotations

import asyncio
import json

import typer
from rich.table import Table

from estatecrm.cli.common import console, err_console, load_settings, run, session_scope
from estatecrm.db.session import create_engine, create_sessionmaker
from estatecrm.features import build_jobs, build_relations
from estatecrm.jobs import queue

app = typer.Typer(help="The background job queue.", no_args_is_help=True)


def worker(
    concurrency: int = typer.Option(4, min=1, help="Jobs run at the same time"),
    queues: str = typer.Option("", help="Comma-separated queues (default: all)"),
    once: bool = typer.Option(False, "--once", help="Run what is due, then exit"),
) -> None:
    """Run a worker: jobs and schedules (PostgreSQL; SQLite runs them inside `serve`)."""
    settings = load_settings()
    if settings.is_sqlite:
        err_console.print(
            "[yellow]SQLite runs background jobs inside `estatecrm serve`; a separate worker "
            "needs DATABASE_URL on PostgreSQL.[/yellow]"
        )
        raise typer.Exit(code=2)

    async def body() -> None:
        engine = create_engine(settings)
        runtime = build_jobs(settings).bind(create_sessionmaker(engine), build_relations())
        try:
            async with runtime.app.open_async():
                names = [q for q in queues.split(",") if q]
                if names:
                    await runtime.app.run_worker_async(
                        concurrency=concurrency, queues=names, wait=not once, name="estatecrm"
                    )
                else:
                    await runtime.app.run_worker_async(
                        concurrency=concurrency, wait=not once, name="estatecrm"
                    )
        finally:
            await engine.dispose()

    asyncio.run(body())


@app.command("list")
def list_jobs(
    failed: bool = typer.Option(False, "--failed", help="Only jobs that failed every attempt"),
    status: str | None = typer.Option(None, help="todo, doing, succeeded, failed, cancelled"),
    limit: int = typer.Option(50, min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """List jobs, newest first (exit 1 with --failed when any job has failed)."""
    settings = load_settings()
    wanted = "failed" if failed else status

    async def body() -> list[queue.JobRow]:
        async with session_scope(settings, cross_agency="jobs list: the whole queue") as session:
            return await queue.list_jobs(session, status=wanted, limit=limit)

    rows = run(body)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "task": r.task,
                        "status": r.status,
                        "attempts": r.attempts,
                        "queue": r.queue,
                        "args": r.args,
                        "deferred_at": r.deferred_at.isoformat() if r.deferred_at else None,
                        "scheduled_at": r.scheduled_at.isoformat() if r.scheduled_at else None,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
    else:
        if settings.is_sqlite:
            console.print("SQLite: jobs run inside the web process; its queue is not shared.")
        table = Table(title=f"Jobs ({wanted or 'all'})")
        for column in ("Id", "Task", "Status", "Attempts", "Agency", "Deferred"):
            table.add_column(column)
        for r in rows:
            table.add_row(
                str(r.id),
                r.task,
                r.status,
                str(r.attempts),
                str(r.agency_id or "—"),
                f"{r.deferred_at:%Y-%m-%d %H:%M:%S}" if r.deferred_at else "—",
            )
        console.print(table)
    raise typer.Exit(code=1 if failed and rows else 0)
