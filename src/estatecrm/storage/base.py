"""The storage interface every backend implements, and the rules for object keys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# Keys are relative, slash-separated paths of plain segments: no "..", no leading slash, no
# backslash or control characters, so a key can never escape a local directory and means the
# same thing on every backend.
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_KEY_LENGTH = 512


class InvalidKey(ValueError):
    """A key that is not a plain relative path (a programming error, never user input)."""


class StoredObjectMissing(LookupError):
    """No object is stored under the key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no stored object {key!r}")
        self.key = key


class StorageUnavailable(RuntimeError):
    """The backend could not be reached or refused the operation."""


@dataclass(frozen=True)
class StoredObject:
    """An object's bytes with what was said about them when they were stored."""

    key: str
    data: bytes
    content_type: str

    @property
    def size(self) -> int:
        """The size in bytes."""
        return len(self.data)


def check_key(key: str) -> str:
    """The key, if it is a plain relative path of safe segments; InvalidKey otherwise."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"storage key must be 1-{MAX_KEY_LENGTH} characters: {key!r}")
    for segment in key.split("/"):
        if not _SEGMENT.match(segment) or segment.strip(".") == "":
            raise InvalidKey(f"storage key segment {segment!r} is not allowed in {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A prefix is a key followed by a slash ("agency/1/media/7/")."""
    if not prefix.endswith("/"):
        raise InvalidKey(f"storage prefix must end with '/': {prefix!r}")
    check_key(prefix[:-1])
    return prefix


@runtime_checkable
class Storage(Protocol):
    """Object storage: bytes under keys, with a content type. All methods are async."""

    name: str

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store the bytes under the key (replacing any object there), all or nothing."""

    async def get(self, key: str) -> StoredObject:
        """The object under the key; StoredObjectMissing if there is none."""

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under the key."""

    async def delete(self, key: str) -> None:
        """Remove the object; no error if it was already gone."""

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with the prefix; how many were removed."""

    async def check(self) -> None:
        """Raise StorageUnavailable unless the backend can be written and read."""
