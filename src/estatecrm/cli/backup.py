"""`estatecrm backup`: create, verify and restore backups of the configured database."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from estatecrm.cli.common import console, err_console, load_settings, run
from estatecrm.cli.progress import rich_progress
from estatecrm.ops.backup import (
    BackupError,
    Manifest,
    VerifyReport,
    create_backup,
    describe,
    restore_backup,
    verify_backup,
)

app = typer.Typer(
    help="Back up, verify and restore the database (PostgreSQL via pg_dump, SQLite online).",
    no_args_is_help=True,
)


def _fail(exc: BackupError) -> typer.Exit:
    err_console.print(f"[red]Backup error:[/red] {exc}")
    return typer.Exit(code=1)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def _report_table(report: VerifyReport) -> Table:
    table = Table(title="Tables: manifest vs restored copy")
    table.add_column("Table")
    table.add_column("Rows (manifest)", justify="right")
    table.add_column("Rows (restored)", justify="right")
    table.add_column("Content")
    for check in report.tables:
        expected = str(check.expected.rows) if check.expected else "—"
        actual = str(check.actual.rows) if check.actual else "—"
        status = "[green]identical[/green]" if check.ok else "[red]DIFFERENT[/red]"
        table.add_row(check.name, expected, actual, status)
    return table


def _describe_manifest(manifest: Manifest) -> str:
    return (
        f"{manifest.kind} backup made {manifest.created_at} at schema revision "
        f"{manifest.alembic_revision}, {len(manifest.tables)} tables, {manifest.total_rows} rows"
    )


@app.command()
def create(
    output: str | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Archive file or directory (default: BACKUP_DIR/estatecrm-<kind>-<time>.tar.gz)",
    ),
) -> None:
    """Back up the configured database into a compressed archive with a manifest."""
    settings = load_settings()
    err_console.print(f"Backing up {describe(settings)}")
    try:
        with rich_progress() as reporter:
            path, manifest = run(lambda: create_backup(settings, output, reporter))
    except BackupError as exc:
        raise _fail(exc) from None
    console.print(
        f"[green]Backup written:[/green] {path} ({_size(path.stat().st_size)}; "
        f"{_describe_manifest(manifest)})",
        soft_wrap=True,
    )


@app.command()
def verify(
    path: Path = typer.Argument(..., help="The backup archive"),
    server_url: str | None = typer.Option(
        None,
        "--server-url",
        help="PostgreSQL server for the scratch database (default: DATABASE_URL's server)",
    ),
    allow_unreadable_fields: bool = typer.Option(
        False,
        "--allow-unreadable-fields",
        help="Pass even when encrypted fields cannot be read with FIELD_ENCRYPTION_KEYS",
    ),
) -> None:
    """Restore a backup into a scratch database and check it against its manifest.

    Exit code 0 when every table's row count and checksum match and every encrypted field
    can be read with the configured keys, 1 otherwise.
    """
    settings = load_settings()
    try:
        with rich_progress() as reporter:
            report = run(lambda: verify_backup(settings, path, reporter, server_url))
    except BackupError as exc:
        raise _fail(exc) from None
    console.print(_describe_manifest(report.manifest))
    if report.tables:
        console.print(_report_table(report))
    for warning in report.warnings:
        console.print(f"[yellow]Warning:[/yellow] {warning}")
    for unreadable in report.unreadable:
        if allow_unreadable_fields:
            console.print(f"[yellow]Warning (allowed):[/yellow] {unreadable}")
        else:
            err_console.print(f"[red]UNREADABLE:[/red] {unreadable}")
    if not report.ok or (report.unreadable and not allow_unreadable_fields):
        for problem in report.problems:
            err_console.print(f"[red]MISMATCH:[/red] {problem}")
        err_console.print(f"[red]Backup {path} FAILED verification.[/red]")
        raise typer.Exit(code=1)
    console.print(f"[green]Backup verified:[/green] {path} restores to identical data.")


@app.command()
def restore(
    path: Path = typer.Argument(..., help="The backup archive"),
    yes: bool = typer.Option(
        False, "--yes", help="Really replace every row of the configured database"
    ),
    safety_backup: bool = typer.Option(
        True,
        "--safety-backup/--no-safety-backup",
        help="First back up what the database holds now (into BACKUP_DIR)",
    ),
) -> None:
    """Replace the configured database's content with a backup (stop the service first)."""
    settings = load_settings()
    target = describe(settings)
    if not yes:
        err_console.print(
            f"[red]Refusing to restore without --yes:[/red] this replaces every row of {target} "
            f"with the content of {path}. Stop the service first, then run again with --yes."
        )
        raise typer.Exit(code=2)
    err_console.print(f"Restoring {path} over {target}")
    try:
        with rich_progress() as reporter:
            result = run(
                lambda: restore_backup(
                    settings,
                    path,
                    reporter,
                    safety_dir=settings.backup_dir if safety_backup else None,
                    confirm=lambda m: reporter.note(_describe_manifest(m)),
                )
            )
    except BackupError as exc:
        raise _fail(exc) from None
    report = result.report
    for warning in report.warnings:
        console.print(f"[yellow]Warning:[/yellow] {warning}")
    if not report.ok:
        console.print(_report_table(report))
        for problem in report.problems:
            err_console.print(f"[red]MISMATCH:[/red] {problem}")
        err_console.print(
            "[red]The restored database does not match the backup's manifest.[/red] Was the "
            "service still writing to it?"
        )
        raise typer.Exit(code=1)
    console.print(
        f"[green]Restored[/green] {result.manifest.total_rows} rows in "
        f"{len(result.manifest.tables)} tables into {target}; every table matches the manifest."
    )
    if result.safety_backup is not None:
        console.print(f"The previous content is saved in {result.safety_backup}")
    if result.needs_upgrade:
        console.print(
            f"[yellow]The database is at schema revision {result.manifest.alembic_revision}; "
            f"this code's newest is {result.head}. Run `estatecrm db upgrade` before starting "
            "the service.[/yellow]"
        )
