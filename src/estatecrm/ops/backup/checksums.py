"""Row counts and content checksums per table, computed the same way on every database.

A table's checksum is the SHA-256 of its column names followed by every row, in primary-key
order, each row written as canonical JSON. Two databases of the same kind holding the same
data give the same checksums, so `verify` can prove a restored copy matches the manifest.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class TableStat:
    """What the manifest records about one table."""

    rows: int
    sha256: str


def canonical(value: Any) -> Any:
    """A JSON-safe form of a value that is the same for equal values."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in sorted(value.items())}
    return str(value)


class TableDigest:
    """Accumulates a table's row count and checksum."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.rows = 0
        self._hash = hashlib.sha256()
        self._hash.update(json.dumps(list(columns)).encode("utf-8") + b"\n")

    def add(self, row: Sequence[Any]) -> None:
        """Add one row (values in column order)."""
        self.rows += 1
        line = json.dumps([canonical(v) for v in row], ensure_ascii=False, separators=(",", ":"))
        self._hash.update(line.encode("utf-8") + b"\n")

    def result(self) -> TableStat:
        """The count and checksum."""
        return TableStat(rows=self.rows, sha256=self._hash.hexdigest())


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier (SQLite and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def sha256_file(path: Any, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
