"""SQLite: the online backup API (consistent while the service keeps writing), both ways."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from estatecrm.ops.backup.checksums import TableDigest, TableStat, quote_ident
from estatecrm.ops.backup.manifest import BackupError
from estatecrm.ops.backup.progress import Reporter

BUSY_TIMEOUT_S = 30.0
ATTEMPTS = 5


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    return conn


def _copy(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    # One step (pages=-1): the whole copy is a single read of one consistent snapshot. In WAL
    # mode that read does not block the service's writers; a stepwise copy would restart
    # every time they commit.
    for attempt in range(1, ATTEMPTS + 1):
        try:
            source.backup(target, pages=-1)
            return
        except sqlite3.OperationalError as exc:
            retryable = "locked" in str(exc) or "busy" in str(exc)
            if not retryable or attempt == ATTEMPTS:
                raise BackupError(f"SQLite backup failed: {exc}") from None
            time.sleep(0.2 * attempt)


def server_version() -> str:
    """The SQLite library version."""
    return sqlite3.sqlite_version


def snapshot(database: Path, copy: Path, reporter: Reporter) -> None:
    """Copy a live database file into `copy` (a self-contained file, no -wal/-shm needed)."""
    if not database.is_file():
        raise BackupError(f"no SQLite database at {database}")
    task = reporter.task("Copying the database (online backup)")
    source = _connect(database)
    target = sqlite3.connect(str(copy), isolation_level=None)
    try:
        _copy(source, target)
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
        source.close()
    task.done()


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    )
    return [r[0] for r in rows]


def table_stats(path: Path, reporter: Reporter) -> dict[str, TableStat]:
    """Row count and checksum of every table of a database file."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        tables = _tables(conn)
        task = reporter.task("Counting and checksumming tables", total=len(tables))
        stats: dict[str, TableStat] = {}
        for table in tables:
            info = list(conn.execute(f"PRAGMA table_info({quote_ident(table)})"))
            columns = [r[1] for r in info]
            pk = [r[1] for r in sorted((r for r in info if r[5] > 0), key=lambda r: r[5])]
            order = ", ".join(quote_ident(c) for c in (pk or columns))
            select = ", ".join(quote_ident(c) for c in columns)
            digest = TableDigest(columns)
            for row in conn.execute(f"SELECT {select} FROM {quote_ident(table)} ORDER BY {order}"):  # noqa: S608
                digest.add(row)
            stats[table] = digest.result()
            task.advance()
        task.done()
        return stats
    finally:
        conn.close()


def revision(path: Path) -> str | None:
    """The Alembic revision a database file is at (None without an alembic_version table)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        if "alembic_version" not in _tables(conn):
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else None
    finally:
        conn.close()


def integrity_problem(path: Path) -> str | None:
    """SQLite's own integrity check of a file; None when it is sound."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()
    return None if result == ["ok"] else "; ".join(result[:5])


def restore(
    copy: Path, database: Path, reporter: Reporter, description: str = "Restoring the database"
) -> None:
    """Replace the database's whole content with the copy, in one write transaction."""
    task = reporter.task(description)
    database.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True, isolation_level=None)
    target = _connect(database)
    try:
        _copy(source, target)
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()
        source.close()
    task.done()


def is_empty(database: Path) -> bool:
    """Whether there is nothing worth a safety copy (no file, or no tables)."""
    if not database.is_file() or database.stat().st_size == 0:
        return True
    conn = _connect(database)
    try:
        return not _tables(conn)
    finally:
        conn.close()
