"""The manifest stored beside the dump in every backup archive."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from estatecrm.ops.backup.checksums import TableStat

FORMAT = "estatecrm-backup"
FORMAT_VERSION = 1
DUMP_FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}

Kind = Literal["postgresql", "sqlite"]


class BackupError(Exception):
    """A backup cannot be made, read, verified or restored; the message says why."""


@dataclass
class Manifest:
    """What a backup holds and how to check it."""

    created_at: str
    kind: Kind
    alembic_revision: str | None
    dump_file: str
    dump_sha256: str
    dump_bytes: int
    tables: dict[str, TableStat]
    app_version: str = ""
    server_version: str = ""
    tool_version: str = ""
    # Fingerprints (not the keys) of the field-encryption keys configured when it was made:
    # encrypted columns in the dump need one of them to be read after a restore.
    encryption_key_fingerprints: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """The manifest file's text."""
        body: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": self.created_at,
            "app_version": self.app_version,
            "database": {
                "kind": self.kind,
                "server_version": self.server_version,
                "tool_version": self.tool_version,
            },
            "alembic_revision": self.alembic_revision,
            "dump": {"file": self.dump_file, "sha256": self.dump_sha256, "bytes": self.dump_bytes},
            "tables": {
                name: {"rows": stat.rows, "sha256": stat.sha256}
                for name, stat in sorted(self.tables.items())
            },
            "encryption_key_fingerprints": self.encryption_key_fingerprints,
        }
        return json.dumps(body, indent=2) + "\n"

    @property
    def total_rows(self) -> int:
        """Rows in every table."""
        return sum(s.rows for s in self.tables.values())

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse a manifest; BackupError when it is not one this code can read."""
        try:
            body = json.loads(text)
        except ValueError:
            raise BackupError("manifest.json is not valid JSON") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise BackupError("manifest.json is not an Estate Agent CRM backup manifest")
        if body.get("format_version") != FORMAT_VERSION:
            raise BackupError(
                f"backup format version {body.get('format_version')!r} is not supported by this "
                f"version of the code (it reads version {FORMAT_VERSION})"
            )
        try:
            database = body["database"]
            kind = database["kind"]
            if kind not in DUMP_FILES:
                raise BackupError(f"unknown database kind {kind!r} in manifest")
            dump = body["dump"]
            tables = {
                str(name): TableStat(rows=int(t["rows"]), sha256=str(t["sha256"]))
                for name, t in body["tables"].items()
            }
            return cls(
                created_at=str(body["created_at"]),
                kind=kind,
                alembic_revision=body.get("alembic_revision"),
                dump_file=str(dump["file"]),
                dump_sha256=str(dump["sha256"]),
                dump_bytes=int(dump["bytes"]),
                tables=tables,
                app_version=str(body.get("app_version", "")),
                server_version=str(database.get("server_version", "")),
                tool_version=str(database.get("tool_version", "")),
                encryption_key_fingerprints=[
                    str(f) for f in body.get("encryption_key_fingerprints", [])
                ],
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BackupError(f"manifest.json is incomplete or malformed ({exc!r})") from None
