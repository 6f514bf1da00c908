"""The `estatecrm` command line."""

from __future__ import annotations

import typer
from rich.table import Table

from estatecrm.cli import compliance as compliance_cli
from estatecrm.cli import db as db_cli
from estatecrm.cli import demo_data
from estatecrm.cli import users as users_cli
from estatecrm.cli.common import console, load_settings, run, session_scope

app = typer.Typer(
    help="Estate Agent CRM: serve, migrate, manage users and load demo data.", no_args_is_help=True
)
app.add_typer(db_cli.app, name="db")
app.add_typer(users_cli.app, name="users")
app.add_typer(compliance_cli.app, name="compliance")


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (HOST, default 127.0.0.1)"),
    port: int | None = typer.Option(None, help="Port (PORT, default 8000)"),
    reload: bool = typer.Option(False, help="Restart on code changes (development)"),
) -> None:
    """Serve the CRM with uvicorn."""
    import uvicorn

    settings = load_settings()
    uvicorn.run(
        "estatecrm.main:app",
        host=host or settings.host,
        port=port or settings.port,
        reload=reload,
        proxy_headers=True,
        log_level=settings.log_level.lower(),
    )


@app.command()
def demo(
    reset: bool = typer.Option(False, "--reset", help="Delete the demo agency and load it afresh"),
    properties: int = typer.Option(240, help="How many demo properties to create"),
    serve_after: bool = typer.Option(False, "--serve", help="Start the server afterwards"),
) -> None:
    """Migrate the database and load the demo agency (reused if it is already there)."""
    settings = load_settings()
    db_cli.command_upgrade_quiet(settings.database_url)

    async def body() -> tuple[bool, int]:
        async with session_scope(settings) as session:
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
