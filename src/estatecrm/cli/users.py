"""`estatecrm users`: create accounts from the command line."""

from __future__ import annotations

import typer

from estatecrm.auth import service as auth_service
from estatecrm.auth.models import Role
from estatecrm.cli.common import console, err_console, load_settings, run, session_scope
from estatecrm.db.scoping import as_agency
from estatecrm.errors import CRMError

app = typer.Typer(help="User accounts.", no_args_is_help=True)


@app.command()
def create(
    agency: str = typer.Option(..., help="Agency name (created if it does not exist)"),
    email: str = typer.Option(..., help="Sign-in e-mail"),
    password: str = typer.Option(..., help="At least 10 characters", prompt=True, hide_input=True),
    role: Role = typer.Option(Role.negotiator, help="admin, manager, negotiator or viewer"),
    name: str | None = typer.Option(None, help="Full name (defaults from the e-mail)"),
    office: str | None = typer.Option(None, help="Office name (created if it does not exist)"),
) -> None:
    """Create a user (and the agency and office if needed)."""
    settings = load_settings()

    async def body() -> int:
        reason = "users create: finds or creates the agency by name"
        async with session_scope(settings, cross_agency=reason) as session:
            agency_row = await auth_service.ensure_agency(session, agency)
            with as_agency(session, agency_row.id):
                office_row = (
                    await auth_service.ensure_office(session, agency_row, office)
                    if office
                    else None
                )
                user = await auth_service.create_user(
                    session,
                    agency_row,
                    email=email,
                    password=password,
                    role=role,
                    full_name=name,
                    office=office_row,
                )
            return user.id

    try:
        user_id = run(body)
    except CRMError as exc:
        err_console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(code=1) from None
    console.print(f"[green]Created user {email} (id {user_id}, {role.value}) in {agency}[/green]")
