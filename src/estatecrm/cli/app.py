"""The `estatecrm` command line."""

from __future__ import annotations

import typer
from rich.table import Table

from estatecrm import models  # noqa: F401  (an entry point loads every table: see all_tables())
from estatecrm.cli import backup as backup_cli
from estatecrm.cli import compliance as compliance_cli
from estatecrm.cli import db as db_cli
from estatecrm.cli import demo_data
from estatecrm.cli import jobs as jobs_cli
from estatecrm.cli import secrets as secrets_cli
from estatecrm.cli import slo as slo_cli
from estatecrm.cli import users as users_cli
from estatecrm.cli.common import console, err_console, load_settings, run, session_scope
from estatecrm.db.migrations import REPO_ROOT

app = typer.Typer(
    help="Estate Agent CRM: serve, migrate, manage users and load demo data.", no_args_is_help=True
)
app.add_typer(db_cli.app, name="db")
app.add_typer(users_cli.app, name="users")
app.add_typer(slo_cli.app, name="slo")
app.add_typer(backup_cli.app, name="backup")
app.add_typer(secrets_cli.app, name="secrets")
app.add_typer(compliance_cli.app, name="compliance")
app.add_typer(jobs_cli.app, name="jobs")
app.command("worker")(jobs_cli.worker)


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (HOST, default 127.0.0.1)"),
    port: int | None = typer.Option(None, help="Port (PORT, default 8000)"),
    reload: bool = typer.Option(False, help="Restart on code changes (development)"),
    workers: int = typer.Option(
        1, min=1, help="Worker processes; more than 1 runs gunicorn with deploy/gunicorn.conf.py"
    ),
) -> None:
    """Serve the CRM: one uvicorn process, or gunicorn with N uvicorn workers."""
    settings = load_settings()
    host = host or settings.host
    port = port or settings.port
    if workers > 1:
        _serve_gunicorn(host, port, workers, settings.prometheus_multiproc_dir)
        return
    import uvicorn

    uvicorn.run(
        "estatecrm.main:app",
        host=host,
        port=port,
        reload=reload,
        # The app resolves client addresses itself from TRUSTED_PROXIES.
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_config=None,
        log_level=settings.log_level.lower(),
    )


def _serve_gunicorn(host: str, port: int, workers: int, multiproc_dir: str) -> None:
    import os
    import sys

    config = REPO_ROOT / "deploy" / "gunicorn.conf.py"
    env = dict(os.environ, HOST=host, PORT=str(port), WEB_CONCURRENCY=str(workers))
    if multiproc_dir:
        env.setdefault("PROMETHEUS_MULTIPROC_DIR", multiproc_dir)
    args = [sys.executable, "-m", "gunicorn", "-c", str(config), "estatecrm.main:app"]
    # Replace this process, so signals from the supervisor reach gunicorn directly.
    os.execve(sys.executable, args, env)  # noqa: S606 - fixed argv, no shell


@app.command()
def demo(
    reset: bool = typer.Option(False, "--reset", help="Delete the demo agency and load it afresh"),
    properties: int = typer.Option(240, help="How many demo properties to create"),
    serve_after: bool = typer.Option(False, "--serve", help="Start the server afterwards"),
) -> None:
    """Migrate the database and load the demo agency (reused if it is already there).

    Refused with ENVIRONMENT=production: demo accounts have a published password.
    """
    settings = load_settings()
    if settings.environment == "production":
        err_console.print(
            "[red]Refused:[/red] ENVIRONMENT=production. The demo agency's accounts share a "
            "published password, so demo data must never reach a production database. Load it "
            "into a development or staging copy instead."
        )
        raise typer.Exit(code=2)
    db_cli.command_upgrade_quiet(settings.database_url)

    async def body() -> tuple[bool, int]:
        reason = "demo: finds, removes and loads the demo agency by name"
        async with session_scope(settings, cross_agency=reason) as session:
            if reset:
                await demo_data.reset(session)
            existed = await demo_data.demo_agency(session) is not None
            agency = await demo_data.load(session, properties=properties)
            return existed, await demo_data.property_count(session, agency.id)

    existed, count = run(body)
    verb = "Reusing" if existed else "Loaded"
    console.print(
        f"[green]{verb} demo agency '{demo_data.DEMO_AGENCY}' with {count} properties.[/green]"
    )
    table = Table(title="Demo sign-ins (password for all: " + demo_data.DEMO_PASSWORD + ")")
    table.add_column("Email")
    table.add_column("Role")
    for email, name, role, office in demo_data.DEMO_USERS:
        table.add_row(email, f"{role.value} ({name}, {office})")
    console.print(table)
    console.print(f"Open http://{settings.host}:{settings.port}/login")
    if serve_after:
        serve(host=None, port=None, reload=False)


def main() -> None:
    """Console-script entry point."""
    app()
