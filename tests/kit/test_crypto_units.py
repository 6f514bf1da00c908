"""Field encryption without a database: keys, the key ring and the column type's conversions.

The database round trips are in test_crypto.py; these pure tests are the ones `make mutation`
runs against kit/crypto.py.
"""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.dialects import sqlite

from estatecrm.config import Settings
from estatecrm.kit import crypto

pytestmark = pytest.mark.mutation

SECRET = "Key safe 4417 behind the bins"  # pragma: allowlist secret
# HKDF-SHA256 of "a" x 40 with info "estatecrm field encryption v1": changing the derivation
# would make every development database unreadable.
DERIVED_A40 = "TO6FfXcZfKA03FYIRty1AkkBWCeira1MVuI7ZMP4zRk="  # pragma: allowlist secret


def test_generated_keys_are_fresh_fernet_keys() -> None:
    """44 URL-safe base64 characters, different every time."""
    one, two = crypto.generate_key(), crypto.generate_key()
    assert isinstance(one, str) and len(one) == 44 and one != two
    Fernet(one)


def test_derived_key_is_pinned() -> None:
    """The development key derivation never changes (HKDF-SHA256, 32 bytes, fixed info)."""
    assert crypto._DERIVE_INFO == b"estatecrm field encryption v1"
    assert crypto.derive_key("a" * 40) == DERIVED_A40
    assert crypto.derive_key("b" * 40) != DERIVED_A40


def test_fingerprint_is_12_hex_characters_of_sha256() -> None:
    """A key's printable name: the start of its SHA-256."""
    assert crypto.fingerprint(DERIVED_A40) == "e184e85821be"


def test_split_keys_drops_blanks_and_duplicates_keeping_order() -> None:
    """`FIELD_ENCRYPTION_KEYS` is comma-separated, newest first."""
    assert crypto.split_keys(" b , ,a,b,, c ") == ["b", "a", "c"]
    assert crypto.split_keys("") == []
    assert crypto.split_keys(" , ") == []


@pytest.mark.parametrize("bad", ["not-a-real-key-value", 123])
def test_a_bad_key_is_named_by_its_position(bad: object) -> None:
    """The message names the position (from 1) and never the key."""
    good = crypto.generate_key()
    crypto.check_keys([good])
    with pytest.raises(crypto.InvalidKey) as caught:
        crypto.check_keys([good, bad])  # type: ignore[list-item]
    assert str(caught.value) == (
        "FIELD_ENCRYPTION_KEYS: key #2 is not a Fernet key (32 bytes, URL-safe base64; "
        "generate one with `estatecrm secrets generate-key`)"
    )
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_keyring_needs_a_key_and_checks_them() -> None:
    """An empty ring is refused; so is a ring with a bad key."""
    with pytest.raises(crypto.InvalidKey, match=r"^at least one field-encryption key is needed$"):
        crypto.Keyring([])
    with pytest.raises(crypto.InvalidKey, match="key #1"):
        crypto.Keyring(["nope"])


def test_keyring_encrypts_with_the_newest_and_decrypts_with_any() -> None:
    """The first key encrypts; every key decrypts; rotation moves a value to the first."""
    old, new = crypto.generate_key(), crypto.generate_key()
    before = crypto.Keyring([old])
    token = before.encrypt(SECRET)
    assert isinstance(token, str) and SECRET not in token
    assert before.decrypt(token) == SECRET and before.is_current(token)
    after = crypto.Keyring([new, old])
    assert after.keys == (new, old)
    assert after.fingerprints == [crypto.fingerprint(new), crypto.fingerprint(old)]
    assert after.can_decrypt(token) and not after.is_current(token)
    assert after.decrypt(token) == SECRET
    fresh = after.encrypt(SECRET)
    assert after.is_current(fresh)
    assert Fernet(new).decrypt(fresh.encode()).decode() == SECRET
    rotated = after.rotate(token)
    assert isinstance(rotated, str) and after.is_current(rotated)
    assert Fernet(new).decrypt(rotated.encode()).decode() == SECRET
    assert after.decrypt(rotated) == SECRET


def test_unicode_round_trip() -> None:
    """Text is UTF-8 inside the token."""
    ring = crypto.Keyring([crypto.generate_key()])
    assert ring.decrypt(ring.encrypt("Café £5 ключ")) == "Café £5 ключ"


@pytest.mark.parametrize("token", ["garbage", "gAAAAAnot-a-token", "é-not-ascii"])
def test_undecryptable_values(token: str) -> None:
    """A value no key wrote (or not even ASCII) is refused without showing it."""
    ring = crypto.Keyring([crypto.generate_key()])
    foreign = crypto.Keyring([crypto.generate_key()]).encrypt(SECRET)
    for value in (token, foreign):
        assert not ring.can_decrypt(value)
        assert not ring.is_current(value)
        with pytest.raises(crypto.UndecryptableValue) as caught:
            ring.decrypt(value)
        assert str(caught.value) == (
            "an encrypted value cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS "
            "(was it written under a key that has since been removed?)"
        )
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
        with pytest.raises(crypto.UndecryptableValue) as caught:
            ring.rotate(value)
        assert str(caught.value) == (
            "an encrypted value cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS"
        )
        assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_keys_for_settings() -> None:
    """Explicit keys win; otherwise keys derived from SECRET_KEY then SECRET_KEY_PREVIOUS."""
    explicit_key = crypto.generate_key()
    explicit = Settings(field_encryption_keys=f" {explicit_key} , ,{explicit_key}")
    assert crypto.keys_for(explicit) == [explicit_key]
    dev = Settings(environment="development", secret_key="a" * 40, secret_key_previous="b" * 40)
    assert crypto.keys_for(dev) == [DERIVED_A40, crypto.derive_key("b" * 40)]
    alone = Settings(environment="development", secret_key="a" * 40, secret_key_previous="")
    assert crypto.keys_for(alone) == [DERIVED_A40]


def test_keyring_for_settings_is_cached_per_set_of_keys() -> None:
    """The same keys give the same ring object; other keys another."""
    one = Settings(environment="development", secret_key="a" * 40, secret_key_previous="")
    same = Settings(environment="development", secret_key="a" * 40, secret_key_previous="")
    other = Settings(environment="development", secret_key="c" * 40, secret_key_previous="")
    ring = crypto.keyring_for(one)
    assert ring.keys == (DERIVED_A40,)
    assert crypto.keyring_for(same) is ring
    assert crypto.keyring_for(other) is not ring


def test_each_dialect_carries_its_own_keyring() -> None:
    """An engine's dialect names its ring; without one (or with something else) it is refused."""
    dialect = sqlite.dialect()
    message = (
        r"^this engine carries no field-encryption key ring: build it with "
        r"estatecrm\.db\.session\.create_engine$"
    )
    for carrier in (None, dialect):
        with pytest.raises(RuntimeError, match=message):
            crypto.keyring_of(carrier)
    setattr(dialect, crypto.DIALECT_ATTR, "not a keyring")
    with pytest.raises(RuntimeError, match=message):
        crypto.keyring_of(dialect)
    ring = crypto.Keyring([crypto.generate_key()])
    crypto.attach(dialect, ring)
    assert vars(dialect)["estatecrm_keyring"] is ring
    assert crypto.keyring_of(dialect) is ring


def test_encrypted_string_conversions() -> None:
    """Bound values become tokens of the dialect's ring; results come back as text; NULL stays."""
    dialect = sqlite.dialect()
    ring = crypto.Keyring([crypto.generate_key()])
    crypto.attach(dialect, ring)
    column = crypto.EncryptedString()
    assert column.process_bind_param(None, dialect) is None
    token = column.process_bind_param(SECRET, dialect)
    assert token is not None and ring.decrypt(token) == SECRET
    assert ring.decrypt(column.process_bind_param(4417, dialect)) == "4417"  # type: ignore[arg-type]
    assert column.process_result_value(None, dialect) is None
    assert column.process_result_value(token, dialect) == SECRET
    assert column.process_literal_param(None, dialect) == "NULL"
    literal = column.process_literal_param(SECRET, dialect)
    assert literal.startswith("'gAAAAA") and literal.endswith("'")
    assert ring.decrypt(literal[1:-1]) == SECRET
    assert column.python_type is str
    assert column.cache_ok is True


def test_a_value_no_key_decrypts_is_withheld_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The record is served with the field withheld; the log names the keys tried, never the
    value; every registered hook is told once per value; the withheld text cannot be saved."""
    assert crypto.WITHHELD == "[withheld: encrypted under a key this service does not have]"
    dialect = sqlite.dialect()
    ring = crypto.Keyring([crypto.generate_key()])
    crypto.attach(dialect, ring)
    foreign = crypto.Keyring([crypto.generate_key()]).encrypt(SECRET)
    calls: list[str] = []

    def hook() -> None:
        calls.append("withheld")

    crypto.on_unreadable(hook)
    crypto.on_unreadable(hook)  # registered once
    column = crypto.EncryptedString()
    try:
        with caplog.at_level("WARNING", logger="estatecrm.crypto"):
            assert column.process_result_value(foreign, dialect) == crypto.WITHHELD
    finally:
        crypto._unreadable_hooks.remove(hook)
    assert calls == ["withheld"]
    [record] = [r for r in caplog.records if r.name == "estatecrm.crypto"]
    assert record.getMessage() == "encrypted value withheld: no configured key decrypts it"
    assert record.levelname == "WARNING"
    assert vars(record)["keys"] == ring.fingerprints
    assert SECRET not in caplog.text and foreign not in caplog.text
    with pytest.raises(crypto.UndecryptableValue) as caught:
        column.process_bind_param(crypto.WITHHELD, dialect)
    assert str(caught.value) == (
        "a withheld encrypted value cannot be saved: restore the key it was written "
        "under to FIELD_ENCRYPTION_KEYS"
    )


def test_encrypted_columns_are_found_by_type() -> None:
    """Every table with EncryptedString columns, and only those columns, in table order."""
    metadata = MetaData()
    Table("plain", metadata, Column("id", Integer, primary_key=True), Column("name", String))
    secrets_table = Table(
        "vault",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("code", crypto.EncryptedString()),
        Column("label", String),
        Column("pin", crypto.EncryptedString()),
    )
    assert crypto.encrypted_columns(metadata) == [(secrets_table, ["code", "pin"])]
    assert crypto.encrypted_columns(MetaData()) == []
