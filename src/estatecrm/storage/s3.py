"""Storage in an S3-compatible bucket (AWS S3, MinIO, Ceph, Cloudflare R2, ...), via boto3.

boto3 is synchronous; each call runs in a worker thread so the event loop never blocks. One
client is made per backend (boto3 clients are thread-safe).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from estatecrm.storage.base import (
    StorageUnavailable,
    StoredObject,
    StoredObjectMissing,
    check_key,
    check_prefix,
)

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


class S3Storage:
    """Objects in one bucket, under an optional key prefix."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str = "",
        region: str = "",
        access_key_id: str = "",
        secret_access_key: str = "",
        prefix: str = "",
        verify: bool | str = True,
        client: S3Client | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("S3 storage needs a bucket (STORAGE_S3_BUCKET)")
        self.bucket = bucket
        self.prefix = check_prefix(prefix) if prefix else ""
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url or None,
                region_name=region or None,
                aws_access_key_id=access_key_id or None,
                aws_secret_access_key=secret_access_key or None,
                verify=verify,
                config=Config(
                    retries={"max_attempts": 3, "mode": "standard"},
                    connect_timeout=5,
                    read_timeout=30,
                    # Path-style works with every S3-compatible server (MinIO, moto, Ceph).
                    s3={"addressing_style": "path"} if endpoint_url else {},
                ),
            )
        self.client: S3Client = client

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    @staticmethod
    def _is_missing(exc: Exception) -> bool:
        response: Any = getattr(exc, "response", None) or {}
        return str(response.get("Error", {}).get("Code", "")) in _MISSING_CODES

    async def _call(self, what: str, fn: Any, /, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await asyncio.to_thread(fn, **kwargs)
        except ClientError as exc:
            if "Key" in kwargs and self._is_missing(exc):
                raise StoredObjectMissing(kwargs.get("Key", "")) from exc
            raise StorageUnavailable(f"S3 {what} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"S3 {what} failed: {exc}") from exc

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store the bytes under the key, replacing any object there (S3 puts are atomic)."""
        await self._call(
            "put",
            self.client.put_object,
            Bucket=self.bucket,
            Key=self._key(key),
            Body=data,
            ContentType=content_type,
        )

    async def get(self, key: str) -> StoredObject:
        """The object under the key; StoredObjectMissing if there is none."""
        try:
            response = await self._call(
                "get", self.client.get_object, Bucket=self.bucket, Key=self._key(key)
            )
        except StoredObjectMissing as exc:
            raise StoredObjectMissing(key) from exc
        body = await asyncio.to_thread(response["Body"].read)
        return StoredObject(
            key=key,
            data=body,
            content_type=response.get("ContentType") or "application/octet-stream",
        )

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under the key."""
        try:
            await self._call(
                "head", self.client.head_object, Bucket=self.bucket, Key=self._key(key)
            )
        except StoredObjectMissing:
            return False
        return True

    async def delete(self, key: str) -> None:
        """Remove the object; no error if it was already gone (S3 deletes are idempotent)."""
        await self._call(
            "delete", self.client.delete_object, Bucket=self.bucket, Key=self._key(key)
        )

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the prefix, a page of up to 1,000 keys per request."""
        full = self.prefix + check_prefix(prefix)
        removed = 0
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": full}
            if token:
                kwargs["ContinuationToken"] = token
            page = await self._call("list", self.client.list_objects_v2, **kwargs)
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                await self._call(
                    "delete",
                    self.client.delete_objects,
                    Bucket=self.bucket,
                    Delete={"Objects": keys, "Quiet": True},
                )
                removed += len(keys)
            if not page.get("IsTruncated"):
                return removed
            token = page.get("NextContinuationToken")

    async def check(self) -> None:
        """Raise StorageUnavailable unless the bucket can be reached."""
        await self._call("head bucket", self.client.head_bucket, Bucket=self.bucket)
