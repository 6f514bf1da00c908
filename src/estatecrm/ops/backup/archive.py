"""The archive: one gzip-compressed tar holding manifest.json and the dump, nothing else."""

from __future__ import annotations

import io
import os
import tarfile
import time
import zlib
from pathlib import Path
from typing import IO, cast

from estatecrm.ops.backup.manifest import DUMP_FILES, BackupError, Manifest
from estatecrm.ops.backup.progress import Reporter, Task

MANIFEST = "manifest.json"
CHUNK = 1 << 20


class _Counting:
    """A file wrapper that reports bytes read to a progress task."""

    def __init__(self, f: IO[bytes], task: Task) -> None:
        self._f = f
        self._task = task

    def read(self, size: int = -1) -> bytes:
        data = self._f.read(size)
        self._task.advance(len(data))
        return data


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(time.time())
    return info


def write_archive(output: Path, manifest: Manifest, dump: Path, reporter: Reporter) -> None:
    """Write the archive next to its final name, then rename it into place (never half-written).

    The file is readable by its owner only: it holds every row of the database.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    manifest_bytes = manifest.to_json().encode("utf-8")
    task = reporter.task("Compressing", total=dump.stat().st_size, unit="bytes")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar,
        ):
            tar.addfile(_info(MANIFEST, len(manifest_bytes)), io.BytesIO(manifest_bytes))
            with dump.open("rb") as f:
                counted = cast(IO[bytes], _Counting(f, task))
                tar.addfile(_info(manifest.dump_file, dump.stat().st_size), counted)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    task.done()


def read_archive(path: Path, workdir: Path, reporter: Reporter) -> tuple[Manifest, Path]:
    """Unpack a backup into `workdir`: its manifest and the dump file's path there.

    Only the two expected regular files are accepted; anything else means it is not ours.
    """
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    task = reporter.task("Unpacking", total=path.stat().st_size, unit="bytes")
    try:
        with path.open("rb") as raw, tarfile.open(fileobj=raw, mode="r:gz") as tar:
            members = tar.getmembers()
            names = [m.name for m in members]
            if MANIFEST not in names:
                raise BackupError(f"{path} has no manifest.json: not an Estate Agent CRM backup")
            allowed = {MANIFEST, *DUMP_FILES.values()}
            for member in members:
                if (
                    member.name not in allowed
                    or not member.isfile()
                    or names.count(member.name) > 1
                ):
                    raise BackupError(f"{path} holds an unexpected entry {member.name!r}")
            manifest_file = tar.extractfile(MANIFEST)
            assert manifest_file is not None
            manifest = Manifest.from_json(manifest_file.read().decode("utf-8", "replace"))
            if manifest.dump_file != DUMP_FILES[manifest.kind] or manifest.dump_file not in names:
                raise BackupError(f"{path} does not hold the dump its manifest names")
            source = tar.extractfile(manifest.dump_file)
            assert source is not None
            target = workdir / manifest.dump_file
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                while block := source.read(CHUNK):
                    out.write(block)
                    task.set(raw.tell())
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupError(f"{path} is damaged or not a backup archive ({exc})") from None
    task.done()
    return manifest, target


def read_manifest(path: Path) -> Manifest:
    """Only the manifest of a backup (nothing is unpacked); BackupError if it is not one."""
    try:
        with path.open("rb") as raw, tarfile.open(fileobj=raw, mode="r:gz") as tar:
            member = tar.next()  # write_archive puts the manifest first
            while member is not None and member.name != MANIFEST:
                member = tar.next()
            if member is None or not member.isfile():
                raise BackupError(f"{path} has no manifest.json: not an Estate Agent CRM backup")
            manifest_file = tar.extractfile(member)
            assert manifest_file is not None
            return Manifest.from_json(manifest_file.read().decode("utf-8", "replace"))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupError(f"{path} is damaged or not a backup archive ({exc})") from None
