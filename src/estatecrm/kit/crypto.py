"""Field encryption at rest: a key ring of Fernet keys and the `EncryptedString` column type.

Any column declared `mapped_column(EncryptedString())` is encrypted on the way into the
database and decrypted on the way out, under the keys in `FIELD_ENCRYPTION_KEYS` (newest
first: the first key encrypts, every key decrypts). `estatecrm secrets rotate` finds every such
column of every table by its type, so a new sensitive field needs nothing but the type.

A stored value no configured key can decrypt (written under a key this process does not
have yet, or one since removed) is never an error for the reader: it reads back as
`WITHHELD`, and every such read is reported to the hooks ops registers (a metric and an
alert rule count them). Writing `WITHHELD` back is refused, so the marker never replaces
the real value.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Dialect, Text
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from sqlalchemy import MetaData, Table

# Where an engine carries the key ring of the settings it was built from (see db/session.py).
DIALECT_ATTR = "estatecrm_keyring"
_DERIVE_INFO = b"estatecrm field encryption v1"

# What an encrypted field reads as when no configured key decrypts it.
WITHHELD = "[withheld: encrypted under a key this service does not have]"
_unreadable_hooks: list[Callable[[], None]] = []
log = logging.getLogger("estatecrm.crypto")


def on_unreadable(hook: Callable[[], None]) -> None:
    """Call `hook` whenever a stored value is withheld because no key decrypts it."""
    if hook not in _unreadable_hooks:
        _unreadable_hooks.append(hook)


class KeySettings(Protocol):
    """The settings the key ring is made from (config.Settings has them; kit cannot import it)."""

    @property
    def field_encryption_keys(self) -> str: ...
    @property
    def secret_key(self) -> str: ...
    @property
    def secret_key_previous(self) -> str: ...


class InvalidKey(ValueError):
    """A configured key is not a Fernet key (the message never contains the key)."""


class UndecryptableValue(RuntimeError):
    """A stored value cannot be decrypted with any configured key."""


def generate_key() -> str:
    """A new random Fernet key (44 URL-safe base64 characters)."""
    return Fernet.generate_key().decode("ascii")


def derive_key(secret: str) -> str:
    """A Fernet key derived from a secret (HKDF-SHA256); the development default."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DERIVE_INFO).derive(
        secret.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw).decode("ascii")


def fingerprint(key: str) -> str:
    """A short, non-secret name for a key, safe to print and log."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()[:12]


def split_keys(value: str) -> list[str]:
    """`FIELD_ENCRYPTION_KEYS` as a list: comma-separated, blanks and duplicates dropped."""
    keys: list[str] = []
    for part in value.split(","):
        key = part.strip()
        if key and key not in keys:
            keys.append(key)
    return keys


def check_keys(keys: Iterable[str]) -> None:
    """Raise InvalidKey naming the position of any key that is not a Fernet key."""
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise InvalidKey(
                f"FIELD_ENCRYPTION_KEYS: key #{position} is not a Fernet key (32 bytes, URL-safe "
                "base64; generate one with `estatecrm secrets generate-key`)"
            ) from None


class Keyring:
    """Fernet keys, newest first: the first encrypts, all decrypt."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise InvalidKey("at least one field-encryption key is needed")
        check_keys(keys)
        self.keys: tuple[str, ...] = tuple(keys)
        self._primary = Fernet(self.keys[0])
        self._multi = MultiFernet([Fernet(k) for k in self.keys])

    @property
    def fingerprints(self) -> list[str]:
        """Printable names of the keys, newest first."""
        return [fingerprint(k) for k in self.keys]

    def encrypt(self, plaintext: str) -> str:
        """Encrypt under the newest key."""
        return self._multi.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt with whichever key wrote the value."""
        try:
            return self._multi.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise UndecryptableValue(
                "an encrypted value cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS "
                "(was it written under a key that has since been removed?)"
            ) from None

    def can_decrypt(self, token: str) -> bool:
        """Whether some key of the ring decrypts the value."""
        try:
            self._multi.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def is_current(self, token: str) -> bool:
        """Whether the value is already encrypted under the newest key."""
        try:
            self._primary.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def rotate(self, token: str) -> str:
        """Re-encrypt a value under the newest key (MultiFernet.rotate)."""
        try:
            return self._multi.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise UndecryptableValue(
                "an encrypted value cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS"
            ) from None


@lru_cache(maxsize=16)
def _keyring(keys: tuple[str, ...]) -> Keyring:
    return Keyring(keys)


def keys_for(settings: KeySettings) -> list[str]:
    """The field-encryption keys the settings give, newest first.

    `FIELD_ENCRYPTION_KEYS` when set; otherwise (never in production) a key derived from
    SECRET_KEY, then one derived from SECRET_KEY_PREVIOUS so a development copy survives a
    secret-key change.
    """
    explicit = split_keys(settings.field_encryption_keys)
    if explicit:
        return explicit
    keys = [derive_key(settings.secret_key)]
    if settings.secret_key_previous:
        keys.append(derive_key(settings.secret_key_previous))
    return keys


def keyring_for(settings: KeySettings) -> Keyring:
    """The key ring of these settings (cached per set of keys)."""
    return _keyring(tuple(keys_for(settings)))


def attach(dialect: Dialect, keyring: Keyring) -> None:
    """Make an engine's dialect carry its key ring, so every engine uses its own settings."""
    setattr(dialect, DIALECT_ATTR, keyring)


def keyring_of(dialect: Dialect | None) -> Keyring:
    """The key ring an engine carries (db.session.create_engine attaches its settings' ring).

    An engine built any other way has none: refused, never guessed from the process settings.
    """
    keyring = getattr(dialect, DIALECT_ATTR, None) if dialect is not None else None
    if isinstance(keyring, Keyring):
        return keyring
    raise RuntimeError(
        "this engine carries no field-encryption key ring: build it with "
        "estatecrm.db.session.create_engine"
    )


class EncryptedString(TypeDecorator[str]):
    """A string stored encrypted (Fernet token in a TEXT column); reads back as plain text.

    Encryption is randomised, so the column cannot be searched, sorted or made unique.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if value == WITHHELD:
            raise UndecryptableValue(
                "a withheld encrypted value cannot be saved: restore the key it was written "
                "under to FIELD_ENCRYPTION_KEYS"
            )
        return keyring_of(dialect).encrypt(str(value))

    def process_literal_param(self, value: str | None, dialect: Dialect) -> str:
        encrypted = self.process_bind_param(value, dialect)
        return "NULL" if encrypted is None else "'" + encrypted + "'"

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        keyring = keyring_of(dialect)
        try:
            return keyring.decrypt(str(value))
        except UndecryptableValue:
            # Serve the record without this field rather than fail the whole request.
            log.warning(
                "encrypted value withheld: no configured key decrypts it",
                extra={"keys": keyring.fingerprints},
            )
            for hook in _unreadable_hooks:
                hook()
            return WITHHELD

    @property
    def python_type(self) -> type[str]:
        return str


def encrypted_columns(metadata: MetaData) -> list[tuple[Table, list[str]]]:
    """Every table with encrypted columns, and those columns' names."""
    found: list[tuple[Table, list[str]]] = []
    for table in metadata.sorted_tables:
        names = [c.name for c in table.columns if isinstance(c.type, EncryptedString)]
        if names:
            found.append((table, names))
    return found
