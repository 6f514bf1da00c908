"""`estatecrm backup create | verify | restore` on real SQLite files and PostgreSQL databases,
through the real CLI, while a real server keeps taking writes."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from estatecrm.config import Settings
from estatecrm.db.migrations import head_revision
from tests.ops.dr_support import (
    DEMO_ADMIN,
    Writer,
    api_token,
    cli,
    cli_env,
    live_server,
    ok,
    read_manifest,
    rewrite_archive,
    scratch_database_url,
)
from tests.services import run_coroutine, whole_database_engine

KINDS = ["sqlite", "postgresql"]


async def _query(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = whole_database_engine(Settings(database_url=url))
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(text(sql))).all()]
    finally:
        await engine.dispose()


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query against a database, outside any test transaction."""
    return run_coroutine(_query(url, sql))


def counts(url: str, tables: list[str]) -> dict[str, int]:
    """Row count per table."""
    return {t: int(query(url, f'SELECT count(*) FROM "{t}"')[0][0]) for t in tables}


@pytest.fixture(scope="session", params=KINDS)
def golden(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, str], Path]:
    """A demo database of each kind and a good backup of it, shared by the tests that only
    read them (each leaves the database as it found it)."""
    tmp_path = tmp_path_factory.mktemp(f"golden-{request.param}")
    url = scratch_database_url(request.param, tmp_path, "dr_golden")
    env = cli_env(url, tmp_path)
    ok(cli(env, "demo", "--properties", "120"))
    archive = tmp_path / "good.tar.gz"
    ok(cli(env, "backup", "create", "-o", str(archive)))
    return url, env, archive


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_while_the_service_takes_writes(kind: str, tmp_path: Path) -> None:
    url = scratch_database_url(kind, tmp_path, "dr_roundtrip")
    env = cli_env(url, tmp_path)
    ok(cli(env, "demo"))
    archive = tmp_path / "out" / "live.tar.gz"

    with live_server(env, tmp_path) as base:
        writer = Writer(base, api_token(base, *DEMO_ADMIN))
        writer.start()
        try:
            writer.wait_for(10)
            before_backup = set(writer.acknowledged())
            started = time.monotonic()
            created = cli(env, "backup", "create", "--output", str(archive))
            elapsed = time.monotonic() - started
            during_backup = set(writer.acknowledged()) - before_backup
            writer.wait_for(len(before_backup) + len(during_backup) + 5)
        finally:
            writer.stop()
        ok(created)
        # The service kept answering while the backup ran, and never failed a write.
        assert writer.failures == []
        assert during_backup, f"no write was acknowledged during the {elapsed:.1f}s backup"
        assert "Backup written" in created.stdout
        ok(cli(env, "backup", "verify", str(archive)))

    manifest = read_manifest(archive)
    assert manifest["database"]["kind"] == kind
    assert manifest["alembic_revision"] == head_revision()
    tables = sorted(manifest["tables"])
    assert {"agency", "user_account", "property", "alembic_version"} <= set(tables)
    everything_acked = set(writer.acknowledged())
    live_counts = counts(url, tables)
    # Writes continued after the snapshot, so the live database has moved on.
    assert live_counts["property"] > manifest["tables"]["property"]["rows"]

    restored = ok(cli(env, "backup", "restore", str(archive), "--yes"))
    assert "every table matches the manifest" in restored.stdout
    assert "previous content is saved in" in restored.stdout

    # Counts identical to the manifest, table by table.
    assert counts(url, tables) == {t: manifest["tables"][t]["rows"] for t in tables}
    # Nothing lost: every property acknowledged before the backup began is there, and
    # nothing appears that the service never acknowledged.
    live_ids = {r[0] for r in query(url, "SELECT id FROM property WHERE reference LIKE 'LIVE-%'")}
    assert before_backup <= live_ids <= everything_acked
    demo = query(url, "SELECT count(*) FROM property WHERE reference NOT LIKE 'LIVE-%'")
    assert demo[0][0] == 240
    # The restored copy is a working database: the service starts and serves it.
    with live_server(env, tmp_path) as base:
        token = api_token(base, *DEMO_ADMIN)
        import httpx

        r = httpx.get(
            f"{base}/api/v1/properties?limit=1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert r.status_code == 200 and r.json()["total"] == manifest["tables"]["property"]["rows"]
    # ... and the safety backup taken before the restore holds the newer writes.
    safety = next((tmp_path / "backups").glob("pre-restore-*.tar.gz"))
    assert read_manifest(safety)["tables"]["property"]["rows"] == live_counts["property"]


def test_verify_fails_on_a_tampered_dump(
    golden: tuple[str, dict[str, str], Path], tmp_path: Path
) -> None:
    _url, env, archive = golden

    def flip_a_byte(work: Path) -> None:
        dump = next(p for p in work.iterdir() if p.name.startswith("database."))
        data = bytearray(dump.read_bytes())
        data[len(data) // 2] ^= 0xFF
        dump.write_bytes(bytes(data))

    tampered = tmp_path / "tampered.tar.gz"
    rewrite_archive(archive, tampered, flip_a_byte)
    result = cli(env, "backup", "verify", str(tampered))
    assert result.returncode == 1
    assert "SHA-256 does not match" in result.stderr
    assert "FAILED verification" in result.stderr
    # Restore refuses it outright.
    refused = cli(env, "backup", "restore", str(tampered), "--yes")
    assert refused.returncode == 1 and "refusing to restore" in refused.stderr


def test_verify_fails_when_counts_disagree_with_the_manifest(
    golden: tuple[str, dict[str, str], Path], tmp_path: Path
) -> None:
    _url, env, archive = golden

    def claim_more_rows(work: Path) -> None:
        manifest = json.loads((work / "manifest.json").read_text())
        manifest["tables"]["property"]["rows"] += 1
        (work / "manifest.json").write_text(json.dumps(manifest))

    tampered = tmp_path / "lying-manifest.tar.gz"
    rewrite_archive(archive, tampered, claim_more_rows)
    result = cli(env, "backup", "verify", str(tampered))
    assert result.returncode == 1, result.stdout
    assert "table property: 120 rows restored, manifest says 121" in result.stderr
    assert "DIFFERENT" in result.stdout


def test_verify_fails_when_table_content_differs(tmp_path: Path) -> None:
    # A dump whose data was changed and whose dump checksum was forged to match: only the
    # per-table content checksums can tell.
    url = scratch_database_url("sqlite", tmp_path, "dr_content")
    env = cli_env(url, tmp_path)
    ok(cli(env, "demo", "--properties", "30"))
    archive = tmp_path / "good.tar.gz"
    ok(cli(env, "backup", "create", "-o", str(archive)))

    def change_a_price(work: Path) -> None:
        db = work / "database.sqlite3"
        conn = sqlite3.connect(db)
        conn.execute("UPDATE property SET price_pence = price_pence + 1 WHERE id = 1")
        conn.commit()
        conn.close()
        manifest = json.loads((work / "manifest.json").read_text())
        manifest["dump"]["sha256"] = hashlib.sha256(db.read_bytes()).hexdigest()
        manifest["dump"]["bytes"] = db.stat().st_size
        (work / "manifest.json").write_text(json.dumps(manifest))

    forged = tmp_path / "forged.tar.gz"
    rewrite_archive(archive, forged, change_a_price)
    result = cli(env, "backup", "verify", str(forged))
    assert result.returncode == 1
    assert "table property: content checksum differs" in result.stderr
    assert "SHA-256" not in result.stderr


def test_restore_refuses_without_yes(golden: tuple[str, dict[str, str], Path]) -> None:
    url, env, archive = golden
    before = counts(url, ["property", "user_account", "agency"])
    result = cli(env, "backup", "restore", str(archive))
    assert result.returncode == 2
    assert "Refusing to restore without --yes" in result.stderr
    assert counts(url, ["property", "user_account", "agency"]) == before


def test_restore_refuses_a_schema_newer_than_the_code(
    golden: tuple[str, dict[str, str], Path], tmp_path: Path
) -> None:
    url, env, archive = golden

    def from_the_future(work: Path) -> None:
        manifest = json.loads((work / "manifest.json").read_text())
        manifest["alembic_revision"] = "0099_from_the_future"
        (work / "manifest.json").write_text(json.dumps(manifest))

    future = tmp_path / "future.tar.gz"
    rewrite_archive(archive, future, from_the_future)
    before = counts(url, ["property", "user_account"])
    env = {**env, "BACKUP_DIR": str(tmp_path / "backups")}
    result = cli(env, "backup", "restore", str(future), "--yes")
    assert result.returncode == 1
    assert "0099_from_the_future" in result.stderr and "newer version" in result.stderr
    assert counts(url, ["property", "user_account"]) == before
    assert not (tmp_path / "backups").exists()  # refused before even the safety backup


def test_restore_refuses_a_backup_of_the_other_kind(tmp_path: Path) -> None:
    sqlite_url = scratch_database_url("sqlite", tmp_path, "dr_kind")
    sqlite_env = cli_env(sqlite_url, tmp_path)
    ok(cli(sqlite_env, "db", "upgrade"))
    archive = tmp_path / "sqlite.tar.gz"
    ok(cli(sqlite_env, "backup", "create", "-o", str(archive)))
    pg_url = scratch_database_url("postgresql", tmp_path, "dr_kind")
    result = cli(cli_env(pg_url, tmp_path), "backup", "restore", str(archive), "--yes")
    assert result.returncode == 1
    assert "sqlite backup and the configured database is postgresql" in result.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_restore_of_an_older_schema_replaces_everything_and_asks_for_upgrade(
    kind: str, tmp_path: Path
) -> None:
    url = scratch_database_url(kind, tmp_path, "dr_older")
    env = cli_env(url, tmp_path)
    ok(cli(env, "db", "upgrade", "0001_foundation"))
    ok(
        cli(
            env,
            "users",
            "create",
            "--agency",
            "Old Agency",
            "--email",
            "old@x.test",
            "--password",
            "long-enough-pw",
            "--role",
            "admin",
        )
    )
    archive = tmp_path / "old.tar.gz"
    ok(cli(env, "backup", "create", "-o", str(archive)))
    assert read_manifest(archive)["alembic_revision"] == "0001_foundation"

    ok(cli(env, "db", "upgrade"))
    ok(cli(env, "demo", "--properties", "10"))
    result = ok(cli(env, "backup", "restore", str(archive), "--yes"))
    assert "Run `estatecrm db upgrade`" in result.stdout
    assert query(url, "SELECT version_num FROM alembic_version") == [("0001_foundation",)]
    assert query(url, "SELECT email FROM user_account") == [("old@x.test",)]
    assert query(url, "SELECT count(*) FROM property")[0][0] == 0
    # The column added by the newer migration is gone, so upgrading works again.
    ok(cli(env, "db", "upgrade"))
    assert query(url, "SELECT version_num FROM alembic_version") == [(head_revision(),)]


def test_a_broken_postgresql_dump_is_rolled_back(tmp_path: Path) -> None:
    url = scratch_database_url("postgresql", tmp_path, "dr_atomic")
    env = cli_env(url, tmp_path)
    ok(cli(env, "demo", "--properties", "60"))
    archive = tmp_path / "b.tar.gz"
    ok(cli(env, "backup", "create", "-o", str(archive)))

    def truncate(work: Path) -> None:
        dump = work / "database.dump"
        data = dump.read_bytes()[: int(dump.stat().st_size * 0.8)]
        dump.write_bytes(data)
        manifest = json.loads((work / "manifest.json").read_text())
        manifest["dump"]["sha256"] = hashlib.sha256(data).hexdigest()
        manifest["dump"]["bytes"] = len(data)
        (work / "manifest.json").write_text(json.dumps(manifest))

    broken = tmp_path / "broken.tar.gz"
    rewrite_archive(archive, broken, truncate)
    ok(
        cli(
            env,
            "users",
            "create",
            "--agency",
            "Survivor",
            "--email",
            "survivor@x.test",
            "--password",
            "long-enough-pw",
        )
    )
    result = cli(env, "backup", "restore", str(broken), "--yes", "--no-safety-backup")
    assert result.returncode == 1
    assert "rolled back" in result.stderr
    # The database is exactly as it was, including what was added after the backup.
    assert query(url, "SELECT count(*) FROM property")[0][0] == 60
    assert (
        query(url, "SELECT count(*) FROM user_account WHERE email = 'survivor@x.test'")[0][0] == 1
    )
    # verify says the same about the archive, and leaves no scratch database behind.
    assert cli(env, "backup", "verify", str(broken)).returncode == 1
    leftovers = query(url, "SELECT datname FROM pg_database WHERE datname LIKE '%\\_verify\\_%'")
    assert leftovers == []


def test_create_never_overwrites_and_files_are_private(tmp_path: Path) -> None:
    url = scratch_database_url("sqlite", tmp_path, "dr_files")
    env = cli_env(url, tmp_path)
    ok(cli(env, "db", "upgrade"))
    first = ok(cli(env, "backup", "create"))
    made = list((tmp_path / "backups").glob("estatecrm-sqlite-*.tar.gz"))
    assert len(made) == 1 and str(made[0].name) in first.stdout
    assert made[0].stat().st_mode & 0o777 == 0o600
    again = cli(env, "backup", "create", "-o", str(made[0]))
    assert again.returncode == 1 and "already exists" in again.stderr
    missing = cli(env, "backup", "verify", str(tmp_path / "nope.tar.gz"))
    assert missing.returncode == 1 and "no backup file" in missing.stderr
    not_ours = tmp_path / "not-a-backup.tar.gz"
    not_ours.write_bytes(b"hello")
    junk = cli(env, "backup", "verify", str(not_ours))
    assert junk.returncode == 1 and "damaged or not a backup" in junk.stderr
    assert "Traceback" not in junk.stderr
