"""Building the configured backend, and handing it to routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from estatecrm.config import Settings
from estatecrm.storage.base import Storage
from estatecrm.storage.local import LocalStorage
from estatecrm.storage.s3 import S3Storage


def storage_from_settings(settings: Settings) -> Storage:
    """The backend STORAGE_BACKEND names: `local` (STORAGE_LOCAL_DIR) or `s3` (STORAGE_S3_*)."""
    if settings.storage_backend == "s3":
        return S3Storage(
            settings.storage_s3_bucket,
            endpoint_url=settings.storage_s3_endpoint_url,
            region=settings.storage_s3_region,
            access_key_id=settings.storage_s3_access_key_id,
            secret_access_key=settings.storage_s3_secret_access_key,
            prefix=settings.storage_s3_prefix,
            verify=settings.storage_s3_ca_bundle or True,
        )
    return LocalStorage(settings.storage_local_dir)


def get_storage(app: Any) -> Storage:
    """The app's backend (made on first use from its settings, then kept)."""
    storage: Storage | None = getattr(app.state, "storage", None)
    if storage is None:
        storage = storage_from_settings(app.state.settings)
        app.state.storage = storage
    return storage


def _request_storage(request: Request) -> Storage:
    return get_storage(request.app)


StorageDep = Annotated[Storage, Depends(_request_storage)]
