"""`estatecrm db`: Alembic migrations, the same as running `alembic` from the repo root."""

from __future__ import annotations

import typer
from alembic import command
from alembic.config import Config

from estatecrm.cli.common import console, load_settings
from estatecrm.db import migrations

app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)


def alembic_config(database_url: str | None = None) -> Config:
    """Alembic's config, pointed at DATABASE_URL unless another database is given."""
    return migrations.alembic_config(database_url or load_settings().database_url)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply migrations up to REVISION (default: head)."""
    command.upgrade(alembic_config(), revision)
    console.print(f"[green]Database upgraded to {revision}[/green]")


@app.command()
def downgrade(
    revision: str = typer.Argument("-1", help="Target revision, e.g. -1 or base"),
) -> None:
    """Undo migrations down to REVISION (default: one step)."""
    command.downgrade(alembic_config(), revision)
    console.print(f"[yellow]Database downgraded to {revision}[/yellow]")


@app.command()
def current() -> None:
    """Show the revision the database is at."""
    command.current(alembic_config(), verbose=False)


@app.command()
def history() -> None:
    """List every migration."""
    command.history(alembic_config())


def command_upgrade_quiet(database_url: str) -> None:
    """Bring a database to head without Alembic's per-step log lines."""
    cfg = alembic_config(database_url)
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")
