"""Rotation never breaks a running service: a value no configured key decrypts is served
withheld (and counted), backups that need such keys fail verification, and `rotate` refuses
to retire a key that backups in BACKUP_DIR list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Text, select, type_coerce, update

from estatecrm.kit import crypto
from estatecrm.properties.models import Property
from tests.builders import make_property
from tests.ops.conftest import sample
from tests.ops.dr_support import cli, cli_env, ok, scratch_database_url


async def test_a_value_under_a_key_the_process_lacks_is_withheld_not_a_500(
    session: Any, client: Any, admin: Any, headers: dict[str, str]
) -> None:
    prop = await make_property(session, admin, access_code="Safe 1234")
    # Written by a process already on the next key (this one has not been restarted yet).
    newer = crypto.Keyring([crypto.generate_key()]).encrypt("Safe 9876")
    await session.execute(
        update(Property).where(Property.id == prop.id).values(access_code=type_coerce(newer, Text))
    )
    await session.commit()
    session.expunge_all()
    before = sample("encrypted_values_withheld_total")
    r = await client.get(f"/api/v1/properties/{prop.id}", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["access_code"] == crypto.WITHHELD
    listing = await client.get("/api/v1/properties", headers=headers)
    assert listing.status_code == 200
    assert sample("encrypted_values_withheld_total") >= before + 1
    metrics = (await client.get("/metrics")).text
    assert "encrypted_values_withheld_total" in metrics


def test_the_withheld_marker_is_never_written_back() -> None:
    column = crypto.EncryptedString()
    try:
        column.process_bind_param(crypto.WITHHELD, None)  # type: ignore[arg-type]
    except crypto.UndecryptableValue:
        return
    raise AssertionError("the marker would have replaced the real value")


def test_backup_verify_fails_on_encrypted_fields_the_keys_cannot_read(tmp_path: Path) -> None:
    url = scratch_database_url("sqlite", tmp_path, "unreadable")
    env = cli_env(url, tmp_path, FIELD_ENCRYPTION_KEYS=crypto.generate_key())
    ok(cli(env, "demo", "--properties", "20"))
    archive = tmp_path / "b.tar.gz"
    ok(cli(env, "backup", "create", "--output", str(archive)))
    assert ok(cli(env, "backup", "verify", str(archive))).returncode == 0
    other = {**env, "FIELD_ENCRYPTION_KEYS": crypto.generate_key()}
    failed = cli(other, "backup", "verify", str(archive))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "UNREADABLE" in failed.stderr and "FAILED verification" in failed.stderr
    allowed = ok(cli(other, "backup", "verify", str(archive), "--allow-unreadable-fields"))
    assert "Warning (allowed)" in allowed.stdout


def test_rotate_is_two_step_and_refuses_to_retire_a_key_backups_need(tmp_path: Path) -> None:
    url = scratch_database_url("sqlite", tmp_path, "retire")
    first = crypto.generate_key()
    env = cli_env(url, tmp_path, FIELD_ENCRYPTION_KEYS=first)
    ok(cli(env, "demo", "--properties", "20"))
    ok(cli(env, "backup", "create"))  # into BACKUP_DIR, under the first key
    env_file = tmp_path / "service.env"

    # Default: new keys written, nothing re-encrypted, the operator told what comes next.
    step = ok(cli(env, "secrets", "rotate", "--output", "env", "--env-file", str(env_file)))
    assert "Next steps" in step.stderr and "estatecrm secrets reencrypt" in step.stderr
    rolled = {**env, **dict(ln.split("=", 1) for ln in env_file.read_text().split())}
    assert "under an older key" in ok(cli(rolled, "secrets", "status")).stdout
    ok(cli(rolled, "secrets", "reencrypt"))

    # Now nothing stored needs the first key, but the backup does.
    written = env_file.read_text()
    refused = cli(rolled, "secrets", "rotate", "--output", "env", "--env-file", str(env_file))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert crypto.fingerprint(first) in refused.stderr
    assert "estatecrm-sqlite-" in refused.stderr and "Refusing without --yes" in refused.stderr
    assert env_file.read_text() == written  # nothing changed
    ok(cli(rolled, "secrets", "rotate", "--output", "env", "--env-file", str(env_file), "--yes"))
    assert first not in env_file.read_text()


async def test_a_record_with_a_withheld_field_can_still_be_edited(
    session: Any, client: Any, admin: Any, headers: dict[str, str]
) -> None:
    prop = await make_property(session, admin, access_code="Safe 1234")
    newer = crypto.Keyring([crypto.generate_key()]).encrypt("Safe 9876")
    await session.execute(
        update(Property).where(Property.id == prop.id).values(access_code=type_coerce(newer, Text))
    )
    await session.commit()
    session.expunge_all()
    # An edit form sends every field back, the withheld marker included: no error, and the
    # stored value (readable once the key is back) is left exactly as it was.
    r = await client.patch(
        f"/api/v1/properties/{prop.id}",
        json={"description": "Now with a new kitchen", "access_code": crypto.WITHHELD},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["description"] == "Now with a new kitchen"
    stored = await session.scalar(
        select(type_coerce(Property.access_code, Text)).where(Property.id == prop.id)
    )
    assert stored == newer
