"""PostgreSQL: pg_dump (custom format) from one snapshot, pg_restore, scratch databases."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from estatecrm.ops.backup.checksums import TableDigest, TableStat, quote_ident
from estatecrm.ops.backup.manifest import BackupError
from estatecrm.ops.backup.progress import Reporter

CONNECT_TIMEOUT_S = 10
FETCH_ROWS = 2000

# Empties the target's public schema inside the restore transaction: tables, views, sequences,
# types (composite ones too: the job queue's) and functions the backup does not have must go
# too (a newer migration's table left behind would break the next `alembic upgrade`).
# Extension members are left alone.
DROP_EVERYTHING = r"""
SET lock_timeout = '30s';
DO $estatecrm$
DECLARE
  stmt text;
  stmts text[];
BEGIN
  SELECT coalesce(array_agg(s ORDER BY ord, s), '{}') INTO stmts FROM (
    SELECT 1 AS ord, format('DROP %s IF EXISTS %I.%I CASCADE',
             CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                            WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
             n.nspname, c.relname) AS s
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
       AND NOT c.relispartition
    UNION ALL
    SELECT 2, format('DROP SEQUENCE IF EXISTS %I.%I CASCADE', n.nspname, c.relname)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'S'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
    UNION ALL
    SELECT 3, format('DROP ROUTINE IF EXISTS %I.%I(%s) CASCADE', n.nspname, p.proname,
                     pg_get_function_identity_arguments(p.oid))
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    SELECT 4, format('DROP TYPE IF EXISTS %I.%I CASCADE', n.nspname, t.typname)
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = 'public'
       AND (t.typtype IN ('e', 'd', 'r', 'm')
            -- a composite type of its own (CREATE TYPE ... AS), not a table's row type
            OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class r
                                             WHERE r.oid = t.typrelid AND r.relkind = 'c')))
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
  ) AS drops;
  FOREACH stmt IN ARRAY stmts LOOP
    EXECUTE stmt;
  END LOOP;
END
$estatecrm$;
"""


@dataclass(frozen=True)
class Target:
    """A PostgreSQL database: the DSN for asyncpg and how to hand it to libpq tools."""

    dsn: str
    libpq_dsn: str
    password: str | None
    name: str
    display: str

    @classmethod
    def from_url(cls, url: str) -> Target:
        """From DATABASE_URL (any postgres scheme); the password goes in PGPASSWORD, not argv."""
        parts = urlsplit(url)
        scheme = "postgresql"
        netloc = parts.netloc
        password = None
        display_netloc = netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            if ":" in userinfo:
                user, password = userinfo.split(":", 1)
                password = unquote(password)
                netloc = f"{user}@{host}"
                display_netloc = f"{user}:***@{host}"
        dsn = urlunsplit(parts._replace(scheme=scheme))
        libpq = urlunsplit(parts._replace(scheme=scheme, netloc=netloc))
        display = urlunsplit(parts._replace(scheme=scheme, netloc=display_netloc))
        name = unquote(parts.path.lstrip("/")) or "postgres"
        return cls(dsn=dsn, libpq_dsn=libpq, password=password, name=name, display=display)

    def with_database(self, name: str) -> Target:
        """The same server and credentials, another database."""
        parts = urlsplit(self.dsn)
        return Target.from_url(urlunsplit(parts._replace(path="/" + name)))

    def env(self) -> dict[str, str]:
        """Environment for libpq tools."""
        env = dict(os.environ)
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        env.setdefault("PGCONNECT_TIMEOUT", str(CONNECT_TIMEOUT_S))
        return env


@dataclass(frozen=True)
class Tools:
    """pg_dump, pg_restore and psql: from PG_BIN_DIR when set, else from PATH."""

    bin_dir: str = ""

    def path(self, tool: str) -> str:
        """The executable, or BackupError saying how to install it."""
        if self.bin_dir:
            candidate = Path(self.bin_dir) / tool
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
            raise BackupError(f"{tool} not found in PG_BIN_DIR={self.bin_dir}")
        found = shutil.which(tool)
        if found is None:
            raise BackupError(
                f"{tool} not found: install the PostgreSQL client tools matching your server "
                "(Debian: apt-get install postgresql-client) or set PG_BIN_DIR"
            )
        return found

    async def version(self, tool: str) -> tuple[int, str]:
        """The tool's major version and full version text."""
        proc = await asyncio.create_subprocess_exec(
            self.path(tool),
            "--version",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, _ = await proc.communicate()
        text = out.decode("utf-8", "replace").strip()
        match = re.search(r"(\d+)(?:\.(\d+))?", text)
        if proc.returncode != 0 or match is None:
            raise BackupError(f"cannot tell the version of {tool} ({text or 'no output'})")
        return int(match.group(1)), text


def _major_of(version_text: str) -> int | None:
    match = re.search(r"(\d+)", version_text)
    return int(match.group(1)) if match else None


async def connect(target: Target) -> Any:
    """An asyncpg connection, or BackupError naming the server (never the password)."""
    try:
        return await asyncpg.connect(target.dsn, timeout=CONNECT_TIMEOUT_S)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise BackupError(f"cannot connect to {target.display}: {exc}") from None


async def _tables(conn: Any) -> list[str]:
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
        "AND NOT c.relispartition ORDER BY c.relname"
    )
    return [r["relname"] for r in rows]


async def table_stats(conn: Any, reporter: Reporter) -> dict[str, TableStat]:
    """Row count and checksum of every table, read inside the connection's transaction."""
    tables = await _tables(conn)
    task = reporter.task("Counting and checksumming tables", total=len(tables))
    stats: dict[str, TableStat] = {}
    for table in tables:
        qualified = quote_ident(table)
        columns = [
            r["attname"]
            for r in await conn.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass "
                "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                qualified,
            )
        ]
        pk = [
            r["attname"]
            for r in await conn.fetch(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = $1::regclass AND i.indisprimary "
                "ORDER BY array_position(i.indkey::int2[], a.attnum)",
                qualified,
            )
        ]
        select = ", ".join(quote_ident(c) for c in columns)
        order = ", ".join(quote_ident(c) for c in pk) if pk else "t::text"
        digest = TableDigest(columns)
        query = f"SELECT {select} FROM {qualified} AS t ORDER BY {order}"  # noqa: S608
        async for row in conn.cursor(query, prefetch=FETCH_ROWS):
            digest.add(tuple(row))
        stats[table] = digest.result()
        task.advance()
    task.done()
    return stats


async def _revision(conn: Any) -> str | None:
    if await conn.fetchval("SELECT to_regclass('alembic_version')") is None:
        return None
    value = await conn.fetchval("SELECT version_num FROM alembic_version LIMIT 1")
    return None if value is None else str(value)


async def _server_version(conn: Any) -> tuple[int, str]:
    num = int(await conn.fetchval("SHOW server_version_num"))
    text = str(await conn.fetchval("SHOW server_version"))
    return num // 10000, text


async def _watch(proc: Any, path: Path, reporter: Reporter, description: str) -> bytes:
    """Wait for a tool, showing the bytes it has written so far; its stderr."""
    task = reporter.task(description, unit="bytes")
    assert proc.stderr is not None
    stderr_task = asyncio.ensure_future(proc.stderr.read())
    waiter = asyncio.ensure_future(proc.wait())
    while not waiter.done():
        await asyncio.wait({waiter}, timeout=0.25)
        with suppress(OSError):
            task.set(os.stat(path).st_size)
    task.done()
    return await stderr_task


@dataclass
class DumpResult:
    """What a dump produced besides the file."""

    stats: dict[str, TableStat]
    revision: str | None
    server_version: str
    tool_version: str


async def dump(target: Target, output: Path, tools: Tools, reporter: Reporter) -> DumpResult:
    """pg_dump the database into `output`, and count and checksum the very same snapshot.

    A repeatable-read transaction exports its snapshot; pg_dump runs inside that snapshot
    while this connection checksums the tables in it, so the manifest describes exactly the
    data in the dump however many writes the service commits meanwhile.
    """
    dump_major, dump_text = await tools.version("pg_dump")
    conn = await connect(target)
    try:
        server_major, server_text = await _server_version(conn)
        if server_major > dump_major:
            raise BackupError(
                f"pg_dump {dump_major} cannot dump a PostgreSQL {server_major} server: install "
                f"postgresql-client-{server_major} or point PG_BIN_DIR at its bin directory"
            )
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            proc = await asyncio.create_subprocess_exec(
                tools.path("pg_dump"),
                "--format=custom",
                "--compress=0",  # the archive compresses once, as a whole
                f"--snapshot={snapshot}",
                f"--file={output}",
                f"--dbname={target.libpq_dsn}",
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=target.env(),
            )
            try:
                stats = await table_stats(conn, reporter)
                revision = await _revision(conn)
                stderr = await _watch(proc, output, reporter, "Dumping with pg_dump")
            except BaseException:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
                raise
    finally:
        await conn.close()
    if proc.returncode != 0:
        raise BackupError(f"pg_dump failed: {_last_lines(stderr)}")
    return DumpResult(stats, revision, server_text, dump_text)


def _last_lines(stderr: bytes, count: int = 6) -> str:
    lines = [ln for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return " | ".join(lines[-count:]) or "no error output"


async def check_restore_tools(tools: Tools, dump_tool_version: str) -> None:
    """pg_restore reads archives from its own major version or older, never newer."""
    restore_major, _ = await tools.version("pg_restore")
    made_by = _major_of(dump_tool_version)
    if made_by is not None and made_by > restore_major:
        raise BackupError(
            f"the backup was made by pg_dump {made_by}; pg_restore {restore_major} cannot read "
            f"it: install postgresql-client-{made_by} or set PG_BIN_DIR"
        )


async def stats_of(target: Target, reporter: Reporter) -> tuple[dict[str, TableStat], str | None]:
    """Counts, checksums and Alembic revision of a database, from one snapshot."""
    conn = await connect(target)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            return await table_stats(conn, reporter), await _revision(conn)
    finally:
        await conn.close()


async def is_empty(target: Target) -> bool:
    """Whether the database has no tables (nothing worth a safety copy)."""
    conn = await connect(target)
    try:
        return not await _tables(conn)
    finally:
        await conn.close()


async def restore_into_scratch(target: Target, dump_file: Path, tools: Tools) -> None:
    """pg_restore into an empty scratch database, all or nothing."""
    proc = await asyncio.create_subprocess_exec(
        tools.path("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={target.libpq_dsn}",
        str(dump_file),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=target.env(),
    )
    _, stderr = await proc.communicate()
    if proc.returncode != 0:
        raise BackupError(f"pg_restore into the scratch database failed: {_last_lines(stderr)}")


async def restore_over(target: Target, dump_file: Path, tools: Tools, reporter: Reporter) -> None:
    """Replace the database's content with the dump in ONE transaction (all or nothing).

    pg_restore turns the archive into SQL, which is relayed into psql after a prologue that
    opens a transaction and empties the public schema. COMMIT is sent only once pg_restore has
    finished successfully; on any error psql's connection closes with the transaction open,
    so PostgreSQL rolls everything back and the database is left as it was.
    """
    task = reporter.task("Restoring with pg_restore | psql", unit="bytes")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("BEGIN;\n" + DROP_EVERYTHING)
        prologue = f.name
    try:
        producer, consumer = await _restore_pipe(target, dump_file, tools, prologue)
        produced_err_task = asyncio.ensure_future(_read_all(producer.stderr))
        consumed_err_task = asyncio.ensure_future(_read_all(consumer.stderr))
        relayed = await _relay(producer, consumer, task)
        produced = await producer.wait()
        if relayed and produced == 0:
            assert consumer.stdin is not None
            with suppress(OSError):
                consumer.stdin.write(b"\nCOMMIT;\n")
                await consumer.stdin.drain()
        if consumer.stdin is not None:
            consumer.stdin.close()
        consumed = await consumer.wait()
        produced_err, consumed_err = await produced_err_task, await consumed_err_task
    finally:
        with suppress(FileNotFoundError):
            os.unlink(prologue)
    if produced != 0:
        raise BackupError(
            "pg_restore could not read the dump; the restore was rolled back and the database "
            f"is unchanged: {_last_lines(produced_err)}"
        )
    if consumed != 0 or not relayed:
        raise BackupError(
            "restore failed and was rolled back (the database is unchanged): "
            f"{_last_lines(consumed_err)}"
        )
    task.done()


async def _restore_pipe(
    target: Target, dump_file: Path, tools: Tools, prologue: str
) -> tuple[asyncio.subprocess.Process, asyncio.subprocess.Process]:
    """pg_restore writing the dump as SQL, and psql reading the prologue then that SQL."""
    producer = await asyncio.create_subprocess_exec(
        tools.path("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--file=-",
        str(dump_file),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    consumer = await asyncio.create_subprocess_exec(
        tools.path("psql"),
        "--no-psqlrc",
        "--quiet",
        "--set=ON_ERROR_STOP=1",
        f"--file={prologue}",
        "--file=-",
        f"--dbname={target.libpq_dsn}",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=target.env(),
    )
    return producer, consumer


async def _read_all(stream: asyncio.StreamReader | None) -> bytes:
    return b"" if stream is None else await stream.read()


async def _relay(producer: Any, consumer: Any, task: Any) -> bool:
    """Copy pg_restore's SQL into psql; False when psql stopped reading (it failed)."""
    assert producer.stdout is not None and consumer.stdin is not None
    while chunk := await producer.stdout.read(1 << 20):
        try:
            consumer.stdin.write(chunk)
            await consumer.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            if producer.returncode is None:
                producer.kill()
            return False
        task.advance(len(chunk))
    return True


def scratch_name(base: str) -> str:
    """A unique database name for a verification restore (<= 63 bytes)."""
    clean = re.sub(r"[^a-z0-9_]", "_", base.lower())[:40] or "estatecrm"
    return f"{clean}_verify_{secrets.token_hex(4)}"


@asynccontextmanager
async def scratch_database(server: Target) -> AsyncIterator[Target]:
    """A new empty database on the server, dropped afterwards whatever happens."""
    name = scratch_name(server.name)
    conn = await connect(server)
    try:
        try:
            await conn.execute(f"CREATE DATABASE {quote_ident(name)} TEMPLATE template0")
        except asyncpg.PostgresError as exc:
            raise BackupError(
                f"cannot create a scratch database on {server.display} ({exc}); the role needs "
                "CREATEDB, or pass --server-url for a server where it has it"
            ) from None
    finally:
        await conn.close()
    try:
        yield server.with_database(name)
    finally:
        conn = await connect(server)
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        finally:
            await conn.close()
