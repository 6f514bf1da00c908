"""`estatecrm db`: Alembic migrations, the same as running `alembic` from the repo root."""

from __future__ import annotations

from pathlib import Path

import typer
from alembic import command
from alembic.config import Config

from estatecrm.cli.common import console, load_settings

app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)

REPO_ROOT = Path(__file__).resolve().parents[3]


def alembic_config(database_url: str | None = None) -> Config:
    """Alembic's config for this project, pointed at a database."""
    ini = REPO_ROOT / "alembic.ini"
    cfg = Config(str(ini)) if ini.exists() else Config()
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url or load_settings().database_url
    return cfg


def head_revision() -> str | None:
    """The newest migration the code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


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
