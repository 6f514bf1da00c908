"""Field encryption: the key ring, the settings that configure it, and the column type on both
databases (ciphertext at rest, plain text in the application, never in logs or the audit)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from pydantic import ValidationError
from sqlalchemy import Text, select, type_coerce

from estatecrm.activity.models import Activity
from estatecrm.auth.models import Agency
from estatecrm.config import Settings
from estatecrm.db.session import create_engine, create_sessionmaker
from estatecrm.kit import crypto
from estatecrm.properties.models import Property
from tests.builders import make_property

SECRET = "Key safe 4417 behind the bins"


def test_keyring_encrypts_with_the_newest_and_decrypts_with_any() -> None:
    old, new = crypto.generate_key(), crypto.generate_key()
    before = crypto.Keyring([old])
    token = before.encrypt(SECRET)
    assert token != before.encrypt(SECRET)  # randomised
    assert SECRET not in token and before.decrypt(token) == SECRET
    after = crypto.Keyring([new, old])
    assert after.decrypt(token) == SECRET and not after.is_current(token)
    rotated = after.rotate(token)
    assert after.is_current(rotated) and after.decrypt(rotated) == SECRET
    with pytest.raises(InvalidToken):
        Fernet(old).decrypt(rotated.encode())
    with pytest.raises(crypto.UndecryptableValue) as caught:
        crypto.Keyring([crypto.generate_key()]).decrypt(token)
    assert token not in str(caught.value)


def test_derived_development_key_is_stable_and_per_secret() -> None:
    assert crypto.derive_key("a" * 40) == crypto.derive_key("a" * 40)
    assert crypto.derive_key("a" * 40) != crypto.derive_key("b" * 40)
    Fernet(crypto.derive_key("a" * 40))  # a valid Fernet key
    dev = Settings(environment="development", secret_key="a" * 40, secret_key_previous="b" * 40)
    assert crypto.keys_for(dev) == [crypto.derive_key("a" * 40), crypto.derive_key("b" * 40)]
    explicit = Settings(field_encryption_keys=" k1 , ,k1".replace("k1", crypto.derive_key("c")))
    assert crypto.keys_for(explicit) == [crypto.derive_key("c")]


def test_production_requires_field_encryption_keys() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(environment="production", secret_key="p" * 48)
    assert "FIELD_ENCRYPTION_KEYS must be set in production" in str(caught.value)
    ok = Settings(
        environment="production", secret_key="p" * 48, field_encryption_keys=crypto.generate_key()
    )
    assert ok.environment == "production"


def test_a_bad_key_is_named_by_position_never_shown() -> None:
    good = crypto.generate_key()
    with pytest.raises(ValidationError) as caught:
        Settings(field_encryption_keys=f"{good},not-a-real-key-value")
    assert "key #2 is not a Fernet key" in str(caught.value)
    assert "not-a-real-key-value" not in str(caught.value).split("input_value")[0]


async def _raw_code(session: Any, prop_id: int) -> str | None:
    return await session.scalar(
        select(type_coerce(Property.access_code, Text)).where(Property.id == prop_id)
    )


async def test_stored_encrypted_and_read_back_plain(
    session: Any, admin: Any, settings: Settings
) -> None:
    prop = await make_property(session, admin, access_code=SECRET)
    await session.commit()
    raw = await _raw_code(session, prop.id)
    assert raw is not None and raw.startswith("gAAAAA") and SECRET not in raw
    assert crypto.keyring_for(settings).decrypt(raw) == SECRET
    read = await session.scalar(select(Property.access_code).where(Property.id == prop.id))
    assert read == SECRET
    # The audit trail records that it changed, never what it is.
    created = await session.scalar(
        select(Activity).where(Activity.entity_id == prop.id, Activity.action == "created")
    )
    assert created.changes["access_code"] == ["***", "***"]


async def test_each_engine_uses_its_own_settings_keys(database_url: str, tmp_path: Any) -> None:
    one = Settings(database_url=database_url, field_encryption_keys=crypto.generate_key())
    engine = create_engine(one)
    try:
        async with engine.connect() as conn:
            keyring = crypto.keyring_of(conn.dialect)
            assert keyring.keys == tuple(crypto.keys_for(one))
    finally:
        await engine.dispose()


async def test_sql_echo_logs_ciphertext_never_the_value(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    echo = Settings(database_url=database_url, db_echo=True, secret_key="t" * 48)
    engine = create_engine(echo)
    try:
        factory = create_sessionmaker(engine)
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
            async with factory() as s, s.begin():
                agency = Agency(name="Echo Lettings")
                s.add(agency)
                await s.flush()
                s.add(
                    Property(
                        agency_id=agency.id,
                        reference="ECHO-1",
                        address_line1="1 Echo Road",
                        city="Bath",
                        postcode="BA1 1AA",
                        postcode_district="BA1",
                        property_type="flat",
                        marketing_type="letting",
                        status="available",
                        price_pence=100_000,
                        access_code=SECRET,
                    )
                )
                await s.flush()
                await s.rollback()
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "INSERT INTO property" in logged
        assert SECRET not in logged and "gAAAAA" in logged
    finally:
        await engine.dispose()


def test_an_engine_without_a_key_ring_is_refused() -> None:
    """Only engines built by db.session.create_engine carry keys; others are not guessed at."""
    from sqlalchemy.ext.asyncio import create_async_engine

    bare = create_async_engine("sqlite+aiosqlite://")
    with pytest.raises(RuntimeError, match="create_engine"):
        crypto.keyring_of(bare.dialect)
    with pytest.raises(RuntimeError, match="create_engine"):
        crypto.keyring_of(None)
