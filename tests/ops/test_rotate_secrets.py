"""Secret rotation: every encrypted value reads back unchanged under the new key, and no value
is left that only the old key can read — in-process on the test databases, and through the
real CLI (printed env lines, a .env file, Vault)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Text, insert, select, type_coerce

from estatecrm.config import Settings
from estatecrm.kit import crypto
from estatecrm.ops import secrets as ops
from estatecrm.ops.backup import NullReporter
from estatecrm.properties.models import Property
from tests.builders import make_property
from tests.ops.dr_support import cli, cli_env, ok, scratch_database_url
from tests.ops.fake_vault import FakeVault
from tests.services import run_coroutine, whole_database_engine

ROOT = Path(__file__).resolve().parents[2]


def _readable_only_by(token: str, key: str) -> bool:
    try:
        Fernet(key).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


async def _raw_tokens(session: Any) -> dict[int, str]:
    rows = await session.execute(
        select(Property.id, type_coerce(Property.access_code, Text)).where(
            Property.access_code.is_not(None)
        )
    )
    return {i: t for i, t in rows.all()}


async def test_reencrypt_moves_every_value_to_the_new_key_in_batches(
    session: Any, session_factory: Any, admin: Any, settings: Settings
) -> None:
    codes = {}
    for i in range(7):
        prop = await make_property(session, admin, access_code=f"Safe {i:04d}", reference=f"R-{i}")
        codes[prop.id] = f"Safe {i:04d}"
    await make_property(session, admin, reference="R-none")  # no code: left alone
    await session.commit()
    old_keys = crypto.keys_for(settings)
    before = await _raw_tokens(session)
    assert set(before) == set(codes)

    new_key = crypto.generate_key()
    ring = crypto.Keyring([new_key, *old_keys])
    results = await ops.reencrypt(session_factory, ring, NullReporter(), batch_size=3)
    # Every encrypted column is visited (found by its type); only access codes hold values here.
    by_name = {c.name: c for c in results}
    assert {"property.access_code", "contact.bank_account_number"} <= set(by_name)
    column = by_name["property.access_code"]
    assert all(c.examined == 0 for name, c in by_name.items() if name != column.name)
    assert (column.examined, column.rewritten, column.unreadable) == (7, 7, 0)

    after = await _raw_tokens(session)
    for prop_id, token in after.items():
        assert token != before[prop_id]
        # Reads back unchanged with the new key alone; the old key can no longer read it.
        assert crypto.Keyring([new_key]).decrypt(token) == codes[prop_id]
        assert not any(_readable_only_by(token, k) for k in old_keys)

    # Running it again finds nothing to do (an interrupted run just resumes).
    again = await ops.reencrypt(session_factory, ring, NullReporter(), batch_size=3)
    again_codes = next(c for c in again if c.name == "property.access_code")
    assert (again_codes.rewritten, again_codes.already_current) == (0, 7)
    usage = await ops.key_usage(session_factory, ring.keys)
    assert usage.per_key == [7] + [0] * len(old_keys) and usage.unreadable == 0


async def test_an_unreadable_value_is_reported_and_the_rest_rotated(
    session: Any, session_factory: Any, admin: Any, settings: Settings
) -> None:
    good = await make_property(session, admin, access_code="Safe 1", reference="U-1")
    stranger = crypto.Keyring([crypto.generate_key()]).encrypt("written under a lost key")
    await session.execute(
        insert(Property).values(
            agency_id=admin.agency_id,
            reference="U-2",
            address_line1="2 Lost Key Lane",
            city="York",
            postcode="YO1 7HH",
            postcode_district="YO1",
            property_type="flat",
            marketing_type="letting",
            status="available",
            price_pence=90_000,
            access_code=type_coerce(stranger, Text),
        )
    )
    await session.commit()
    new_key = crypto.generate_key()
    ring = crypto.Keyring([new_key, *crypto.keys_for(settings)])
    results = await ops.reencrypt(session_factory, ring, NullReporter(), batch_size=10)
    column = next(c for c in results if c.name == "property.access_code")
    assert (column.rewritten, column.unreadable) == (1, 1)
    tokens = await _raw_tokens(session)
    assert crypto.Keyring([new_key]).decrypt(tokens[good.id]) == "Safe 1"
    assert stranger in tokens.values()  # left exactly as it was


def test_plan_keeps_keys_in_use_and_retires_the_rest() -> None:
    first, second, third = (crypto.generate_key() for _ in range(3))
    settings = Settings(secret_key="s" * 40, field_encryption_keys=f"{first},{second},{third}")
    usage = ops.KeyUsage(["a", "b", "c"], per_key=[5, 0, 2])
    plan = ops.plan_rotation(settings, usage)
    assert plan.keys[1:] == [first, third] and plan.keys[0] not in (first, second, third)
    assert plan.retired == [crypto.fingerprint(second)]
    assert plan.secret_key_previous == "s" * 40 and plan.secret_key != "s" * 40
    assert len(plan.secret_key) >= 48
    values = plan.values()
    assert values["FIELD_ENCRYPTION_KEYS"] == ",".join(plan.keys)
    assert "s" * 40 not in repr(plan) and plan.keys[0] not in repr(plan)


def test_update_env_file_keeps_other_lines(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "# comment\nDATABASE_URL=sqlite:///x.db\nexport SECRET_KEY=old\nLOG_LEVEL=INFO\n"
    )
    ops.update_env_file(env, {"SECRET_KEY": "new", "SECRET_KEY_PREVIOUS": "old"})
    assert env.read_text().splitlines() == [
        "# comment",
        "DATABASE_URL=sqlite:///x.db",
        "SECRET_KEY=new",
        "LOG_LEVEL=INFO",
        "SECRET_KEY_PREVIOUS=old",
    ]
    assert env.stat().st_mode & 0o777 == 0o600


# ------------------------------------------------------------------------------------------
# through the CLI, on real databases


async def _codes(settings: Settings) -> dict[int, str]:
    engine = whole_database_engine(settings)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Property.id, Property.access_code).where(Property.access_code.is_not(None))
            )
            return {i: c for i, c in rows.all()}
    finally:
        await engine.dispose()


async def _tokens(url: str) -> list[str]:
    engine = whole_database_engine(Settings(database_url=url))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(type_coerce(Property.access_code, Text)).where(
                    Property.access_code.is_not(None)
                )
            )
            return [t for (t,) in rows.all()]
    finally:
        await engine.dispose()


def _settings(env: dict[str, str]) -> Settings:
    return Settings(
        database_url=env["DATABASE_URL"],
        secret_key=env["SECRET_KEY"],
        secret_key_previous=env.get("SECRET_KEY_PREVIOUS", ""),
        field_encryption_keys=env.get("FIELD_ENCRYPTION_KEYS", ""),
    )


def _parse_env_lines(stdout: str) -> dict[str, str]:
    lines = [ln for ln in stdout.splitlines() if "=" in ln]
    return dict(ln.split("=", 1) for ln in lines)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_rotate_via_the_cli_printing_env_lines(kind: str, tmp_path: Path) -> None:
    url = scratch_database_url(kind, tmp_path, "dr_rotate")
    env = cli_env(url, tmp_path)  # development: keys derived from SECRET_KEY
    ok(cli(env, "demo", "--properties", "60"))
    before = run_coroutine(_codes(_settings(env)))
    assert len(before) >= 10
    old_keys = crypto.keys_for(_settings(env))

    # --reencrypt: the one-step flow, for when no process is running.
    result = ok(
        cli(env, "secrets", "rotate", "--output", "env", "--reencrypt", "--batch-size", "7")
    )
    new = _parse_env_lines(result.stdout)
    assert set(new) == {"SECRET_KEY", "SECRET_KEY_PREVIOUS", "FIELD_ENCRYPTION_KEYS"}
    assert (
        new["SECRET_KEY_PREVIOUS"] == env["SECRET_KEY"] and new["SECRET_KEY"] != env["SECRET_KEY"]
    )
    keys = crypto.split_keys(new["FIELD_ENCRYPTION_KEYS"])
    assert keys[1:] == old_keys and keys[0] not in old_keys
    assert "Every encrypted field is now under the new key" in result.stderr
    assert not any(code in result.stdout + result.stderr for code in before.values())

    rotated = {**env, **new}
    assert run_coroutine(_codes(_settings(rotated))) == before  # every value reads back unchanged
    for token in run_coroutine(_tokens(url)):
        assert _readable_only_by(token, keys[0])
        assert not any(_readable_only_by(token, k) for k in old_keys)
    status = ok(cli(rotated, "secrets", "status"))
    assert "older key" not in status.stdout

    # A second rotation retires the key nothing needs any more (the dev key of the first).
    second = ok(cli(rotated, "secrets", "rotate", "--output", "env", "--reencrypt"))
    newer = _parse_env_lines(second.stdout)
    assert crypto.split_keys(newer["FIELD_ENCRYPTION_KEYS"])[1:] == [keys[0]]
    assert crypto.fingerprint(old_keys[0]) in second.stderr  # named as retired
    assert run_coroutine(_codes(_settings({**rotated, **newer}))) == before


def test_zero_downtime_rotation_then_reencrypt_with_an_env_file(tmp_path: Path) -> None:
    url = scratch_database_url("sqlite", tmp_path, "dr_rotate_env")
    first_key = crypto.generate_key()
    env = cli_env(url, tmp_path, FIELD_ENCRYPTION_KEYS=first_key)
    ok(cli(env, "demo", "--properties", "40"))
    before = run_coroutine(_codes(_settings(env)))
    env_file = tmp_path / "service.env"
    env_file.write_text("LOG_LEVEL=WARNING\n")

    ok(
        cli(
            env,
            "secrets",
            "rotate",
            "--no-reencrypt",
            "--env-file",
            str(env_file),
            "--output",
            "env",
        )
    )
    written = _parse_env_lines(env_file.read_text())
    keys = crypto.split_keys(written["FIELD_ENCRYPTION_KEYS"])
    assert keys[1:] == [first_key] and written["LOG_LEVEL"] == "WARNING"
    # Nothing re-encrypted yet: processes on the old settings can still read everything ...
    assert all(_readable_only_by(t, first_key) for t in run_coroutine(_tokens(url)))
    rolled = {**env, **written}
    status = ok(cli(rolled, "secrets", "status"))
    assert "under an older key" in status.stdout
    # ... and once every process has the new settings, re-encrypt.
    done = ok(cli(rolled, "secrets", "reencrypt"))
    assert crypto.fingerprint(keys[0]) in done.stdout
    assert all(not _readable_only_by(t, first_key) for t in run_coroutine(_tokens(url)))
    assert run_coroutine(_codes(_settings(rolled))) == before


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_rotate_writes_to_vault(kind: str, tmp_path: Path) -> None:
    url = scratch_database_url(kind, tmp_path, "dr_rotate_vault")
    vault = FakeVault().start()
    try:
        path = "estatecrm/prod"
        first_key = crypto.generate_key()
        vault.put(
            path,
            {
                "SECRET_KEY": "vault-secret-" + "k" * 40,
                "FIELD_ENCRYPTION_KEYS": first_key,
                "DATABASE_URL": url,
                "SOMETHING_ELSE": "kept",
            },
        )
        env = cli_env("sqlite:///not-used.db", tmp_path)
        env.update({"VAULT_ADDR": vault.url, "VAULT_TOKEN": vault.token, "VAULT_SECRET_PATH": path})
        ok(cli(env, "demo", "--properties", "40"))
        vault_settings = _settings({**vault.current(path)})
        before = run_coroutine(_codes(vault_settings))

        result = ok(cli(env, "secrets", "rotate"))
        assert "New secrets written to Vault secret/estatecrm/prod" in result.stderr
        assert "(version 2)" in result.stderr
        now = vault.current(path)
        assert now["SECRET_KEY_PREVIOUS"] == "vault-secret-" + "k" * 40
        assert now["SOMETHING_ELSE"] == "kept" and now["DATABASE_URL"] == url
        keys = crypto.split_keys(now["FIELD_ENCRYPTION_KEYS"])
        assert keys[1:] == [first_key]
        # Nothing secret is printed when Vault holds the values.
        assert result.stdout.strip() == ""
        assert now["SECRET_KEY"] not in result.stderr and keys[0] not in result.stderr
        assert run_coroutine(_codes(_settings(now))) == before
        # Two steps: nothing re-encrypted until every process reads the new keys from Vault.
        assert "Next steps" in result.stderr
        assert all(_readable_only_by(t, first_key) for t in run_coroutine(_tokens(url)))
        ok(cli(env, "secrets", "reencrypt"))
        assert all(not _readable_only_by(t, first_key) for t in run_coroutine(_tokens(url)))
        # The service reads the new values from Vault and finds nothing under older keys.
        assert "older key" not in ok(cli(env, "secrets", "status")).stdout
    finally:
        vault.stop()


def test_the_script_wraps_the_cli(tmp_path: Path) -> None:
    url = scratch_database_url("sqlite", tmp_path, "dr_script")
    env = cli_env(url, tmp_path)
    ok(cli(env, "demo", "--properties", "10"))
    before = run_coroutine(_codes(_settings(env)))
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "rotate-secrets.py"), "--output", "env"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    new = _parse_env_lines(result.stdout)
    assert run_coroutine(_codes(_settings({**env, **new}))) == before
