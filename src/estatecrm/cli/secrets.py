"""`estatecrm secrets`: rotate SECRET_KEY and the field-encryption key, re-encrypt, inspect."""

from __future__ import annotations

import enum
import sys
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from estatecrm.cli.common import console, err_console, load_settings, run
from estatecrm.cli.progress import rich_progress
from estatecrm.config import Settings
from estatecrm.db.session import create_engine, create_sessionmaker
from estatecrm.kit import crypto
from estatecrm.kit.vault import VaultError, write_secret
from estatecrm.ops import secrets as ops

app = typer.Typer(help="Secrets: rotation, re-encryption of encrypted fields, key status.")


class Output(enum.StrEnum):
    """Where `rotate` puts the new values."""

    env = "env"
    vault = "vault"


def _results_table(results: list[ops.ColumnResult]) -> Table:
    table = Table(title="Encrypted columns")
    for name in ("Column", "Values", "Re-encrypted", "Already current", "Changed meanwhile"):
        table.add_column(name, justify="left" if name == "Column" else "right")
    table.add_column("Unreadable", justify="right")
    for r in results:
        table.add_row(
            r.name,
            str(r.examined),
            str(r.rewritten),
            str(r.already_current),
            str(r.changed_meanwhile),
            f"[red]{r.unreadable}[/red]" if r.unreadable else "0",
        )
    return table


async def _usage(settings: Settings, keys: list[str]) -> ops.KeyUsage:
    engine = create_engine(settings)
    try:
        return await ops.key_usage(create_sessionmaker(engine), keys)
    finally:
        await engine.dispose()


async def _reencrypt(
    settings: Settings, keyring: crypto.Keyring, batch_size: int
) -> list[ops.ColumnResult]:
    engine = create_engine(settings)
    try:
        with rich_progress() as reporter:
            return await ops.reencrypt(
                create_sessionmaker(engine), keyring, reporter, batch_size=batch_size
            )
    finally:
        await engine.dispose()


def _finish(results: list[ops.ColumnResult]) -> None:
    err_console.print(_results_table(results))
    unreadable = sum(r.unreadable for r in results)
    if unreadable:
        err_console.print(
            f"[red]{unreadable} value(s) cannot be decrypted with any configured key and were "
            "left as they are.[/red] Add the missing key to FIELD_ENCRYPTION_KEYS and run "
            "`estatecrm secrets reencrypt`."
        )
        raise typer.Exit(code=1)
    if any(r.changed_meanwhile for r in results):
        err_console.print(
            "[yellow]Some values were changed by the service during the run; run "
            "`estatecrm secrets reencrypt` again once every process has the new keys.[/yellow]"
        )


@app.command()
def rotate(
    output: Output | None = typer.Option(
        None, help="vault: write to Vault (default when VAULT_ADDR is set); env: print or update"
    ),
    env_file: Path | None = typer.Option(
        None, "--env-file", help="With --output env: update this .env file instead of printing"
    ),
    reencrypt: bool = typer.Option(
        False,
        "--reencrypt/--no-reencrypt",
        help="Re-encrypt every field now, while processes on the old keys may still run "
        "(only when nothing is running); default: later, with `estatecrm secrets reencrypt`, "
        "once every process runs with the new keys",
    ),
    yes: bool = typer.Option(
        False, "--yes", help="Retire keys even though backups in BACKUP_DIR list them"
    ),
    batch_size: int = typer.Option(500, min=1, max=100_000, help="Rows per transaction"),
) -> None:
    """Generate a new SECRET_KEY and field-encryption key, keep the previous ones valid and
    write the new values to Vault or the environment; re-encrypt as a second step."""
    settings = load_settings()
    target = output or (Output.vault if settings.vault_addr else Output.env)
    if target == Output.vault and not settings.vault_addr:
        err_console.print("[red]--output vault needs VAULT_ADDR (and VAULT_SECRET_PATH)[/red]")
        raise typer.Exit(code=2)
    if env_file is not None and target != Output.env:
        err_console.print("[red]--env-file goes with --output env[/red]")
        raise typer.Exit(code=2)

    try:
        usage = run(lambda: _usage(settings, crypto.keys_for(settings)))
    except (SQLAlchemyError, OSError, ops.RotationError) as exc:
        err_console.print(f"[red]Cannot read the encrypted fields:[/red] {str(exc)[:300]}")
        raise typer.Exit(code=1) from None
    plan = ops.plan_rotation(settings, usage)
    needs = ops.backups_needing(settings.backup_dir, plan.retired)
    if needs:
        err_console.print(
            f"This rotation retires key(s) {', '.join(plan.retired)}, which no stored value "
            f"needs any more but {len(needs)} backup(s) in {settings.backup_dir} list:"
        )
        for need in needs:
            err_console.print(
                f"  {need.path}  (made {need.created_at}; key {', '.join(need.keys)})"
            )
        if not yes:
            err_console.print(
                "[red]Refusing without --yes:[/red] after this rotation those backups' encrypted "
                "fields can only be read if you keep the retired key(s) somewhere safe. Nothing "
                "was changed."
            )
            raise typer.Exit(code=2)
    values = plan.values()

    # The new keys are stored BEFORE any value is encrypted under them.
    if target == Output.vault:
        cfg = ops.vault_config(settings)
        try:
            version = write_secret(cfg, values)
        except VaultError as exc:
            err_console.print(f"[red]Vault:[/red] {exc}. Nothing was changed.")
            raise typer.Exit(code=1) from None
        err_console.print(
            f"[green]New secrets written to Vault[/green] {cfg.describe()} (version {version})."
        )
    elif env_file is not None:
        ops.update_env_file(env_file, values)
        err_console.print(f"[green]New secrets written to {env_file}[/green] (mode 0600).")
    else:
        sys.stdout.write("\n".join(ops.env_lines(values)) + "\n")
        sys.stdout.flush()
        err_console.print(
            "[green]New secrets printed above[/green]: put them in the service's environment "
            "now — encrypted fields will only be readable with them."
        )
    fingerprints = ", ".join(crypto.fingerprint(k) for k in plan.keys)
    err_console.print(
        f"Field-encryption keys, newest first: {fingerprints} (new: {fingerprints.split(',')[0]})."
        " SECRET_KEY_PREVIOUS now holds the old SECRET_KEY."
    )
    if plan.retired:
        err_console.print(
            f"Retired keys no stored value needs: {', '.join(plan.retired)} (keep them only to "
            "read backups made before they were retired)."
        )
    if not reencrypt:
        where = "from Vault" if target == Output.vault else "from the new values"
        err_console.print(
            "[bold]Next steps[/bold] (nothing is re-encrypted yet, so every running process "
            "still reads every value):\n"
            f"  1. Restart every process (one at a time) so it reads the new keys {where}; "
            "a process still on the old keys serves values written under the new key as "
            "withheld (counted by encrypted_values_withheld_total), never as an error.\n"
            "  2. When every process runs with the new keys: estatecrm secrets reencrypt\n"
            "  3. Check: estatecrm secrets status (every value under the newest key)."
        )
        return
    results = run(lambda: _reencrypt(settings, plan.keyring, batch_size))
    _finish(results)
    err_console.print(
        "[green]Every encrypted field is now under the new key.[/green] Restart every process "
        "with the new values (processes still on the old settings cannot read re-encrypted "
        "fields; for zero downtime use --no-reencrypt, roll out, then `secrets reencrypt`)."
    )


@app.command("reencrypt")
def reencrypt_command(
    batch_size: int = typer.Option(500, min=1, max=100_000, help="Rows per transaction"),
) -> None:
    """Re-encrypt every encrypted field under the newest key in FIELD_ENCRYPTION_KEYS."""
    settings = load_settings()
    keyring = crypto.keyring_for(settings)
    results = run(lambda: _reencrypt(settings, keyring, batch_size))
    _finish(results)
    console.print(f"Every encrypted field is under key {keyring.fingerprints[0]}.")


@app.command()
def status() -> None:
    """Show the field-encryption keys and how many stored values each one decrypts."""
    settings = load_settings()
    keys = crypto.keys_for(settings)
    usage = run(lambda: _usage(settings, keys))
    derived = not crypto.split_keys(settings.field_encryption_keys)
    table = Table(title="Field-encryption keys (newest first)")
    table.add_column("#", justify="right")
    table.add_column("Fingerprint")
    table.add_column("Values it decrypts", justify="right")
    for position, (fp, count) in enumerate(zip(usage.fingerprints, usage.per_key, strict=True)):
        table.add_row(
            str(position + 1), fp + (" (derived from SECRET_KEY)" if derived else ""), str(count)
        )
    console.print(table)
    for column, count in usage.per_column.items():
        console.print(f"{column}: {count} encrypted value(s)")
    if usage.unreadable:
        console.print(f"[red]{usage.unreadable} value(s) no configured key can decrypt[/red]")
        raise typer.Exit(code=1)
    older = sum(usage.per_key[1:])
    if older:
        console.print(
            f"[yellow]{older} value(s) are under an older key: run `estatecrm secrets "
            "reencrypt`[/yellow]"
        )


@app.command("generate-key")
def generate_key() -> None:
    """Print a new Fernet key for FIELD_ENCRYPTION_KEYS."""
    console.print(crypto.generate_key(), soft_wrap=True)
