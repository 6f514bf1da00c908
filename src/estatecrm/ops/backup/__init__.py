"""Backups of the configured database: create, verify (in a scratch database), restore."""

from estatecrm.ops.backup.manifest import BackupError, Manifest
from estatecrm.ops.backup.progress import NullReporter, Reporter
from estatecrm.ops.backup.service import (
    RestoreResult,
    VerifyReport,
    create_backup,
    describe,
    restore_backup,
    verify_backup,
)

__all__ = [
    "BackupError",
    "Manifest",
    "NullReporter",
    "Reporter",
    "RestoreResult",
    "VerifyReport",
    "create_backup",
    "describe",
    "restore_backup",
    "verify_backup",
]
