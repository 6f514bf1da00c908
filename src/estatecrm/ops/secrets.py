"""Secret rotation: new SECRET_KEY and field-encryption key, re-encryption of every encrypted
column, and the new values written to Vault or a `.env` file, or printed for the operator."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Table, Text, literal, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from estatecrm.config import Settings, generate_secret_key
from estatecrm.db.base import all_tables
from estatecrm.db.scoping import cross_agency_session
from estatecrm.kit import crypto
from estatecrm.ops.backup.progress import Reporter


class RotationError(RuntimeError):
    """Rotation cannot go ahead; the message says why."""


def _targets() -> list[tuple[Table, str]]:
    """Every (table, encrypted column) the code declares, via the EncryptedString type."""
    targets: list[tuple[Table, str]] = []
    for table, columns in crypto.encrypted_columns(all_tables()):
        if len(table.primary_key.columns) != 1:
            raise RotationError(f"table {table.name} needs a single-column primary key")
        targets += [(table, c) for c in columns]
    return targets


def _raw(table: Table, column: str) -> Any:
    # The stored Fernet token as plain text (no decryption on the way out).
    return type_coerce(table.c[column], Text)


# ------------------------------------------------------------------------------------------
# which key encrypts what


@dataclass
class KeyUsage:
    """How many stored values each key decrypts (first match, newest key first)."""

    fingerprints: list[str]
    per_key: list[int]
    unreadable: int = 0
    per_column: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Encrypted values stored (not null)."""
        return sum(self.per_key) + self.unreadable

    def in_use(self, position: int) -> bool:
        """Whether some value still needs the key at this position."""
        return self.per_key[position] > 0


ROTATION = "key rotation reads and rewrites the encrypted values of every agency"


async def key_usage(
    factory: async_sessionmaker[AsyncSession],
    keys: Sequence[str],
    *,
    batch_size: int = 1000,
) -> KeyUsage:
    """Scan every encrypted value and note which key decrypts it."""
    fernets = [Fernet(k) for k in keys]
    usage = KeyUsage([crypto.fingerprint(k) for k in keys], [0] * len(keys))
    for table, column in _targets():
        pk = next(iter(table.primary_key.columns))
        seen = 0
        last: Any = None
        while True:
            async with factory() as session, session.begin():
                cross_agency_session(session, ROTATION)
                stmt = select(pk, _raw(table, column)).where(table.c[column].is_not(None))
                if last is not None:
                    stmt = stmt.where(pk > last)
                rows = (await session.execute(stmt.order_by(pk).limit(batch_size))).all()
            for row_id, token in rows:
                seen += 1
                for position, fernet in enumerate(fernets):
                    try:
                        fernet.decrypt(str(token).encode("ascii"))
                    except (InvalidToken, UnicodeError):
                        continue
                    usage.per_key[position] += 1
                    break
                else:
                    usage.unreadable += 1
                last = row_id
            if len(rows) < batch_size:
                break
        usage.per_column[f"{table.name}.{column}"] = seen
    return usage


# ------------------------------------------------------------------------------------------
# re-encryption


@dataclass
class ColumnResult:
    """What re-encryption did to one column."""

    name: str
    examined: int = 0
    rewritten: int = 0
    already_current: int = 0
    changed_meanwhile: int = 0
    unreadable: int = 0


async def reencrypt(
    factory: async_sessionmaker[AsyncSession],
    keyring: crypto.Keyring,
    reporter: Reporter,
    *,
    batch_size: int = 500,
) -> list[ColumnResult]:
    """Re-encrypt every encrypted value under the keyring's newest key (MultiFernet.rotate).

    Batches of `batch_size` rows, one transaction per batch, walked by primary key. A row is
    only rewritten if it still holds the token that was read (a value the service changed in
    the meantime is left alone and counted). Values already under the newest key are skipped,
    so running it again resumes an interrupted run. Values are never logged.
    """
    results: list[ColumnResult] = []
    for table, column in _targets():
        pk = next(iter(table.primary_key.columns))
        result = ColumnResult(f"{table.name}.{column}")
        task = reporter.task(f"Re-encrypting {result.name}")
        last: Any = None
        while True:
            async with factory() as session, session.begin():
                cross_agency_session(session, ROTATION)
                stmt = select(pk, _raw(table, column)).where(table.c[column].is_not(None))
                if last is not None:
                    stmt = stmt.where(pk > last)
                rows = (await session.execute(stmt.order_by(pk).limit(batch_size))).all()
                for row_id, token in rows:
                    last = row_id
                    result.examined += 1
                    token = str(token)
                    if keyring.is_current(token):
                        result.already_current += 1
                        continue
                    try:
                        fresh = keyring.rotate(token)
                    except crypto.UndecryptableValue:
                        result.unreadable += 1
                        continue
                    changed = await session.execute(
                        update(table)
                        .where(pk == row_id, _raw(table, column) == token)
                        .values({column: literal(fresh, Text)})
                    )
                    if getattr(changed, "rowcount", 1) == 1:
                        result.rewritten += 1
                    else:
                        result.changed_meanwhile += 1
            task.advance(len(rows))
            if len(rows) < batch_size:
                break
        task.done()
        results.append(result)
    return results


# ------------------------------------------------------------------------------------------
# the rotation plan and where the new values go


@dataclass
class RotationPlan:
    """The new secrets, and the keys kept and retired."""

    secret_key: str = field(repr=False)
    secret_key_previous: str = field(repr=False)
    keys: list[str] = field(repr=False)
    retired: list[str] = field(default_factory=list)

    @property
    def keyring(self) -> crypto.Keyring:
        """The new key ring (new key first)."""
        return crypto.Keyring(self.keys)

    def values(self) -> dict[str, str]:
        """The settings to write, as environment variable names."""
        return {
            "SECRET_KEY": self.secret_key,
            "SECRET_KEY_PREVIOUS": self.secret_key_previous,
            "FIELD_ENCRYPTION_KEYS": ",".join(self.keys),
        }


def plan_rotation(settings: Settings, usage: KeyUsage | None) -> RotationPlan:
    """New SECRET_KEY (the current one becomes SECRET_KEY_PREVIOUS) and a new newest key.

    The current newest key is always kept (processes still running on the old settings keep
    writing with it during the grace period). Older keys are kept while any stored value
    needs them and retired otherwise (`usage` from `key_usage`; None keeps them all).
    """
    current = crypto.keys_for(settings)
    kept = [current[0]]
    retired: list[str] = []
    for position, key in enumerate(current[1:], start=1):
        if usage is None or usage.in_use(position):
            kept.append(key)
        else:
            retired.append(crypto.fingerprint(key))
    return RotationPlan(
        secret_key=generate_secret_key(),
        secret_key_previous=settings.secret_key,
        keys=[crypto.generate_key(), *kept],
        retired=retired,
    )


@dataclass
class BackupNeed:
    """A backup in BACKUP_DIR that may need a key a rotation would retire."""

    path: Path
    created_at: str
    keys: list[str]


def backups_needing(backup_dir: Path, retired: Sequence[str]) -> list[BackupNeed]:
    """Backups whose manifest lists a retired key (fingerprints): reading their encrypted
    fields after a restore may need it. Files that are not backups are skipped."""
    from estatecrm.ops.backup.archive import read_manifest
    from estatecrm.ops.backup.manifest import BackupError

    if not retired or not backup_dir.is_dir():
        return []
    found: list[BackupNeed] = []
    for path in sorted(backup_dir.glob("*.tar.gz")):
        try:
            manifest = read_manifest(path)
        except BackupError:
            continue
        needed = [fp for fp in manifest.encryption_key_fingerprints if fp in retired]
        if needed:
            found.append(BackupNeed(path, manifest.created_at, needed))
    return found


def env_lines(values: Mapping[str, str]) -> list[str]:
    """`NAME=value` lines for a shell or a `.env` file."""
    return [f"{name}={value}" for name, value in values.items()]


_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def update_env_file(path: Path, values: Mapping[str, str]) -> None:
    """Set the values in a `.env` file in place (other lines kept), atomically, mode 0600."""
    lines = path.read_text().splitlines() if path.exists() else []
    wanted = {k.upper(): k for k in values}
    done: set[str] = set()
    out: list[str] = []
    for line in lines:
        match = _ENV_LINE.match(line)
        name = match.group(1).upper() if match else None
        if name in wanted:
            if name not in done:
                out.append(f"{wanted[name]}={values[wanted[name]]}")
                done.add(name)
            continue
        out.append(line)
    out += [f"{k}={v}" for k, v in values.items() if k.upper() not in done]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".env-rotate-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(out) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def vault_config(settings: Settings) -> Any:
    """The Vault location the settings were read from."""
    from estatecrm.kit.vault import VaultConfig

    return VaultConfig(
        addr=settings.vault_addr,
        secret_path=settings.vault_secret_path.strip("/"),
        token=settings.vault_token,
        mount=settings.vault_mount.strip("/") or "secret",
        timeout=settings.vault_timeout,
        cacert=settings.vault_cacert,
    )
