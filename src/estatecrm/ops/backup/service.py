"""Create, verify and restore backups of the configured database (PostgreSQL or SQLite)."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from estatecrm import __version__
from estatecrm.config import Settings
from estatecrm.db.base import all_tables
from estatecrm.kit import crypto
from estatecrm.ops.backup import postgres
from estatecrm.ops.backup import sqlite as sqlite_backup
from estatecrm.ops.backup.archive import read_archive, write_archive
from estatecrm.ops.backup.checksums import TableStat, quote_ident, sha256_file
from estatecrm.ops.backup.manifest import DUMP_FILES, BackupError, Kind, Manifest
from estatecrm.ops.backup.progress import Reporter


def kind_of(settings: Settings) -> Kind:
    """Which kind of database the settings point at."""
    return "sqlite" if settings.is_sqlite else "postgresql"


def describe(settings: Settings) -> str:
    """The configured database, for messages (no password)."""
    if settings.is_sqlite:
        return f"SQLite database {settings.sqlite_path}"
    return f"PostgreSQL database {postgres.Target.from_url(settings.database_url).display}"


def _sqlite_path(settings: Settings) -> Path:
    path = settings.sqlite_path
    if path is None:
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return path


def default_name(kind: Kind, when: datetime) -> str:
    """`estatecrm-<kind>-<UTC timestamp>.tar.gz`."""
    return f"estatecrm-{kind}-{when:%Y%m%dT%H%M%SZ}.tar.gz"


def resolve_output(
    settings: Settings, output: str | Path | None, kind: Kind, when: datetime
) -> Path:
    """Where a new backup goes: the given file, a default name in the given directory (an
    existing one, or a path ending in /), or BACKUP_DIR. An existing file is never
    overwritten."""
    if output is None or str(output) == "":
        path = settings.backup_dir / default_name(kind, when)
    elif Path(output).is_dir() or str(output).endswith(("/", "\\")):
        path = Path(output) / default_name(kind, when)
    else:
        path = Path(output)
    if path.exists():
        raise BackupError(f"{path} already exists; choose another --output")
    return path


def _revision_problem(revision: str | None) -> str | None:
    """Why a backup at this revision cannot be restored by this code, if it cannot."""
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    from estatecrm.db.migrations import alembic_config

    if revision is None:
        return (
            "the backup has no Alembic revision (no alembic_version table): it is not a backup "
            "of a migrated Estate Agent CRM database"
        )
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    try:
        known = script.get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        return (
            f"the backup is at schema revision {revision!r}, which this code does not know: it "
            f"was made by a newer version (this code's newest is {script.get_current_head()!r}). "
            "Deploy the version that made it, then restore"
        )
    return None


def _must_exist(path: Path) -> None:
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")


def head_revision() -> str | None:
    """The newest migration the code knows."""
    from estatecrm.db.migrations import head_revision as head

    return head()


# ------------------------------------------------------------------------------------------
# create


async def create_backup(
    settings: Settings, output: str | Path | None, reporter: Reporter
) -> tuple[Path, Manifest]:
    """Back up the configured database into a new archive; its path and manifest."""
    kind = kind_of(settings)
    now = datetime.now(UTC)
    path = resolve_output(settings, output, kind, now)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".estatecrm-backup-") as tmp:
        dump = Path(tmp) / DUMP_FILES[kind]
        if kind == "sqlite":
            database = _sqlite_path(settings)
            await asyncio.to_thread(sqlite_backup.snapshot, database, dump, reporter)
            stats = await asyncio.to_thread(sqlite_backup.table_stats, dump, reporter)
            revision = sqlite_backup.revision(dump)
            server_version = tool_version = f"SQLite {sqlite_backup.server_version()}"
        else:
            target = postgres.Target.from_url(settings.database_url)
            result = await postgres.dump(
                target, dump, postgres.Tools(settings.pg_bin_dir), reporter
            )
            stats, revision = result.stats, result.revision
            server_version, tool_version = result.server_version, result.tool_version
        task = reporter.task("Checksumming the dump")
        digest = await asyncio.to_thread(sha256_file, dump)
        task.done()
        manifest = Manifest(
            created_at=now.isoformat().replace("+00:00", "Z"),
            kind=kind,
            alembic_revision=revision,
            dump_file=dump.name,
            dump_sha256=digest,
            dump_bytes=dump.stat().st_size,
            tables=stats,
            app_version=__version__,
            server_version=server_version,
            tool_version=tool_version,
            encryption_key_fingerprints=crypto.keyring_for(settings).fingerprints,
        )
        await asyncio.to_thread(write_archive, path, manifest, dump, reporter)
    return path, manifest


# ------------------------------------------------------------------------------------------
# verify


@dataclass
class TableCheck:
    """One table: what the manifest promises and what the restored copy holds."""

    name: str
    expected: TableStat | None
    actual: TableStat | None

    @property
    def ok(self) -> bool:
        """Same rows and same content."""
        return self.expected is not None and self.expected == self.actual


@dataclass
class VerifyReport:
    """The outcome of verifying (or checking a restore of) a backup."""

    manifest: Manifest
    tables: list[TableCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Encrypted fields the configured keys cannot read (verify fails on these by default).
    unreadable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing is wrong."""
        return not self.problems


def compare(
    manifest: Manifest, stats: dict[str, TableStat], revision: str | None, report: VerifyReport
) -> None:
    """Add every difference between the manifest and a restored database to the report."""
    for name in sorted(set(manifest.tables) | set(stats)):
        check = TableCheck(name, manifest.tables.get(name), stats.get(name))
        report.tables.append(check)
        if check.expected is None:
            report.problems.append(f"table {name} is in the dump but not in the manifest")
        elif check.actual is None:
            report.problems.append(f"table {name} is in the manifest but missing from the dump")
        elif check.expected.rows != check.actual.rows:
            report.problems.append(
                f"table {name}: {check.actual.rows} rows restored, manifest says "
                f"{check.expected.rows}"
            )
        elif check.expected.sha256 != check.actual.sha256:
            report.problems.append(f"table {name}: content checksum differs from the manifest")
    if revision != manifest.alembic_revision:
        report.problems.append(
            f"schema revision {revision!r} restored, manifest says {manifest.alembic_revision!r}"
        )


def _unreadable(settings: Settings, values: Iterable[tuple[str, str, Any]]) -> list[str]:
    keyring = crypto.keyring_for(settings)
    bad: dict[str, int] = {}
    for table, column, value in values:
        if value is not None and not keyring.can_decrypt(str(value)):
            key = f"{table}.{column}"
            bad[key] = bad.get(key, 0) + 1
    return [
        f"{count} encrypted value(s) in {where} cannot be read with the configured "
        "FIELD_ENCRYPTION_KEYS (add the key that was in use when the backup was made)"
        for where, count in sorted(bad.items())
    ]


def _encrypted_targets(tables: Iterable[str]) -> list[tuple[str, list[str]]]:
    present = set(tables)
    return [
        (t.name, cols) for t, cols in crypto.encrypted_columns(all_tables()) if t.name in present
    ]


def _sqlite_encrypted_values(path: Path, tables: Iterable[str]) -> list[tuple[str, str, Any]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out: list[tuple[str, str, Any]] = []
        for table, columns in _encrypted_targets(tables):
            existing = {r[1] for r in conn.execute(f"PRAGMA table_info({quote_ident(table)})")}
            for column in (c for c in columns if c in existing):
                sql = f"SELECT {quote_ident(column)} FROM {quote_ident(table)}"  # noqa: S608
                out += [(table, column, r[0]) for r in conn.execute(sql)]
        return out
    finally:
        conn.close()


async def _pg_encrypted_values(
    target: postgres.Target, tables: Iterable[str]
) -> list[tuple[str, str, Any]]:
    conn = await postgres.connect(target)
    try:
        out: list[tuple[str, str, Any]] = []
        for table, columns in _encrypted_targets(tables):
            for column in columns:
                exists = await conn.fetchval(
                    "SELECT 1 FROM information_schema.columns WHERE table_schema = "
                    "current_schema() AND table_name = $1 AND column_name = $2",
                    table,
                    column,
                )
                if exists:
                    sql = f"SELECT {quote_ident(column)} FROM {quote_ident(table)}"  # noqa: S608
                    out += [(table, column, r[0]) for r in await conn.fetch(sql)]
        return out
    finally:
        await conn.close()


async def verify_backup(
    settings: Settings, path: Path, reporter: Reporter, server_url: str | None = None
) -> VerifyReport:
    """Restore a backup into a scratch database and compare it with its manifest.

    SQLite restores into a temporary file; PostgreSQL into a temporary database created on
    the configured server (or `server_url`) and dropped afterwards.
    """
    _must_exist(path)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".estatecrm-verify-") as tmp:
        manifest, dump = await asyncio.to_thread(read_archive, path, Path(tmp), reporter)
        report = VerifyReport(manifest)
        task = reporter.task("Checksumming the dump")
        digest = await asyncio.to_thread(sha256_file, dump)
        task.done()
        if digest != manifest.dump_sha256:
            report.problems.append(
                "the dump's SHA-256 does not match the manifest: the archive was altered or "
                "damaged after it was made"
            )
        if dump.stat().st_size != manifest.dump_bytes:
            report.problems.append(
                f"the dump is {dump.stat().st_size} bytes, manifest says {manifest.dump_bytes}"
            )
        try:
            if manifest.kind == "sqlite":
                await _verify_sqlite(settings, dump, Path(tmp), report, reporter)
            else:
                await _verify_postgres(settings, dump, server_url, report, reporter)
        except BackupError as exc:
            report.problems.append(str(exc))
        except Exception as exc:
            # A damaged dump can fail anywhere while it is restored and read back (bad pages,
            # undecodable text); verification reports that instead of crashing.
            report.problems.append(
                f"the dump cannot be restored and read back: {exc.__class__.__name__}: {exc}"
            )
    return report


async def _verify_sqlite(
    settings: Settings, dump: Path, tmp: Path, report: VerifyReport, reporter: Reporter
) -> None:
    scratch = tmp / "scratch.db"
    problem = sqlite_backup.integrity_problem(dump)
    if problem is not None:
        report.problems.append(f"SQLite integrity check failed: {problem}")
        return
    await asyncio.to_thread(
        sqlite_backup.restore, dump, scratch, reporter, "Restoring into a scratch file"
    )
    stats = await asyncio.to_thread(sqlite_backup.table_stats, scratch, reporter)
    compare(report.manifest, stats, sqlite_backup.revision(scratch), report)
    report.unreadable += _unreadable(settings, _sqlite_encrypted_values(scratch, stats))


async def _verify_postgres(
    settings: Settings,
    dump: Path,
    server_url: str | None,
    report: VerifyReport,
    reporter: Reporter,
) -> None:
    tools = postgres.Tools(settings.pg_bin_dir)
    await postgres.check_restore_tools(tools, report.manifest.tool_version)
    if server_url is None and settings.is_sqlite:
        raise BackupError(
            "verifying a PostgreSQL backup needs a PostgreSQL server: pass --server-url"
        )
    server = postgres.Target.from_url(server_url or settings.database_url)
    async with postgres.scratch_database(server) as scratch:
        task = reporter.task(f"Restoring into scratch database {scratch.name}")
        await postgres.restore_into_scratch(scratch, dump, tools)
        task.done()
        stats, revision = await postgres.stats_of(scratch, reporter)
        compare(report.manifest, stats, revision, report)
        report.unreadable += _unreadable(settings, await _pg_encrypted_values(scratch, stats))


# ------------------------------------------------------------------------------------------
# restore


@dataclass
class RestoreResult:
    """What a restore did."""

    manifest: Manifest
    report: VerifyReport
    safety_backup: Path | None
    head: str | None

    @property
    def needs_upgrade(self) -> bool:
        """Whether the restored schema is older than the code (run `estatecrm db upgrade`)."""
        return self.manifest.alembic_revision != self.head


async def _is_empty(settings: Settings) -> bool:
    if settings.is_sqlite:
        return sqlite_backup.is_empty(_sqlite_path(settings))
    try:
        return await postgres.is_empty(postgres.Target.from_url(settings.database_url))
    except BackupError:
        return False


async def restore_backup(
    settings: Settings,
    path: Path,
    reporter: Reporter,
    *,
    safety_dir: Path | None,
    confirm: Callable[[Manifest], None] | None = None,
) -> RestoreResult:
    """Replace the configured database's content with a backup's.

    Refuses a backup of the other kind of database, a damaged archive, and a schema this code
    does not know. Unless `safety_dir` is None, first backs up what is there now. Afterwards
    the restored tables are compared with the manifest.
    """
    kind = kind_of(settings)
    _must_exist(path)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".estatecrm-restore-") as tmp:
        manifest, dump = await asyncio.to_thread(read_archive, path, Path(tmp), reporter)
        if manifest.kind != kind:
            raise BackupError(
                f"this is a {manifest.kind} backup and the configured database is {kind}: "
                "restore it into a database of the same kind"
            )
        if await asyncio.to_thread(sha256_file, dump) != manifest.dump_sha256:
            raise BackupError("the dump's SHA-256 does not match the manifest: refusing to restore")
        problem = _revision_problem(manifest.alembic_revision)
        if problem is not None:
            raise BackupError(problem)
        if confirm is not None:
            confirm(manifest)
        tools = postgres.Tools(settings.pg_bin_dir)
        if kind == "postgresql":
            await postgres.check_restore_tools(tools, manifest.tool_version)
        safety: Path | None = None
        if safety_dir is not None and not await _is_empty(settings):
            reporter.note("Backing up the current database before replacing it")
            stamp = datetime.now(UTC)
            name = f"pre-restore-{default_name(kind, stamp)}"
            safety, _ = await create_backup(settings, safety_dir / name, reporter)
            reporter.note(f"Safety backup of the previous content: {safety}")
        report = VerifyReport(manifest)
        if kind == "sqlite":
            database = _sqlite_path(settings)
            await asyncio.to_thread(sqlite_backup.restore, dump, database, reporter)
            stats = await asyncio.to_thread(_live_sqlite_stats, database, Path(tmp), reporter)
            compare(manifest, stats, sqlite_backup.revision(Path(tmp) / "after.db"), report)
            report.warnings += _unreadable(
                settings, _sqlite_encrypted_values(Path(tmp) / "after.db", stats)
            )
        else:
            target = postgres.Target.from_url(settings.database_url)
            await postgres.restore_over(target, dump, tools, reporter)
            stats, revision = await postgres.stats_of(target, reporter)
            compare(manifest, stats, revision, report)
            report.warnings += _unreadable(settings, await _pg_encrypted_values(target, stats))
    return RestoreResult(manifest, report, safety, head_revision())


def _live_sqlite_stats(database: Path, tmp: Path, reporter: Reporter) -> dict[str, TableStat]:
    # Checksum a consistent copy of the restored file (the service may already be reading it).
    copy = tmp / "after.db"
    sqlite_backup.snapshot(database, copy, reporter)
    return sqlite_backup.table_stats(copy, reporter)
