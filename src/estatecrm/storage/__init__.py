"""Where files live: one interface, a local directory (default) or S3-compatible storage.

A foundation package: features (media, inspections, ...) import it; it imports no feature.

```python
from estatecrm.storage import StorageDep

async def upload(storage: StorageDep, ...) -> ...:
    await storage.put("agency/1/media/abc/large.jpg", data, "image/jpeg")
```

`create_app()` builds the backend once from the settings (`storage_from_settings`) and keeps it
on `app.state.storage`; `StorageDep` hands it to a route, `get_storage(app)` to anything else
holding the app (the CLI builds its own with `storage_from_settings`).
"""

from __future__ import annotations

from estatecrm.storage.base import (
    InvalidKey,
    Storage,
    StorageUnavailable,
    StoredObject,
    StoredObjectMissing,
    check_key,
)
from estatecrm.storage.deps import StorageDep, get_storage, storage_from_settings
from estatecrm.storage.local import LocalStorage
from estatecrm.storage.s3 import S3Storage

__all__ = [
    "InvalidKey",
    "LocalStorage",
    "S3Storage",
    "Storage",
    "StorageDep",
    "StorageUnavailable",
    "StoredObject",
    "StoredObjectMissing",
    "check_key",
    "get_storage",
    "storage_from_settings",
]
