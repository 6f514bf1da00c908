"""Storage in a local directory (the default: `var/media`, so a developer's copy needs nothing).

Each object is a file at `<root>/<key>`; its content type is kept beside it under
`<root>/.types/<key>` (a key segment cannot start with a dot, so no key can reach it). Writes go
to a temporary file that is renamed into place, so a reader never sees half an object.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

from estatecrm.storage.base import (
    StorageUnavailable,
    StoredObject,
    StoredObjectMissing,
    check_key,
    check_prefix,
)

TYPES_DIR = ".types"
DEFAULT_CONTENT_TYPE = "application/octet-stream"


class LocalStorage:
    """Objects as files under one directory."""

    name = "local"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _type_path(self, key: str) -> Path:
        return self.root / TYPES_DIR / check_key(key)

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self._write(self._type_path(key), content_type.encode())
            self._write(self._path(key), data)
        except OSError as exc:
            raise StorageUnavailable(f"cannot write {key!r} under {self.root}: {exc}") from exc

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store the bytes under the key, replacing any object there."""
        await asyncio.to_thread(self._put, key, data, content_type)

    def _get(self, key: str) -> StoredObject:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise StoredObjectMissing(key) from exc
        except OSError as exc:
            raise StorageUnavailable(f"cannot read {key!r} under {self.root}: {exc}") from exc
        try:
            content_type = self._type_path(key).read_text().strip() or DEFAULT_CONTENT_TYPE
        except OSError:
            content_type = DEFAULT_CONTENT_TYPE
        return StoredObject(key=key, data=data, content_type=content_type)

    async def get(self, key: str) -> StoredObject:
        """The object under the key; StoredObjectMissing if there is none."""
        return await asyncio.to_thread(self._get, key)

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under the key."""
        return await asyncio.to_thread(self._path(key).is_file)

    def _delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
        self._type_path(key).unlink(missing_ok=True)

    async def delete(self, key: str) -> None:
        """Remove the object; no error if it was already gone."""
        await asyncio.to_thread(self._delete, key)

    def _delete_prefix(self, prefix: str) -> int:
        folder = self.root / check_prefix(prefix)[:-1]
        if not folder.is_dir():
            return 0
        removed = sum(1 for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(self.root / TYPES_DIR / prefix[:-1], ignore_errors=True)
        return removed

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the prefix; how many were removed."""
        return await asyncio.to_thread(self._delete_prefix, prefix)

    def _check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".check-")
            os.close(fd)
            Path(tmp).unlink()
        except OSError as exc:
            raise StorageUnavailable(f"{self.root} is not writable: {exc}") from exc

    async def check(self) -> None:
        """Raise StorageUnavailable unless the directory can be written."""
        await asyncio.to_thread(self._check)
