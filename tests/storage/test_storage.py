"""The storage interface: the same contract on a local directory and on a real S3 server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from estatecrm.config import Settings
from estatecrm.storage import (
    InvalidKey,
    LocalStorage,
    S3Storage,
    Storage,
    StorageUnavailable,
    StoredObjectMissing,
    check_key,
    get_storage,
    storage_from_settings,
)
from tests.s3server import S3Server


@pytest.fixture(params=["local", "s3"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path, s3_server: S3Server
) -> AsyncIterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "media")
        return
    bucket = f"media-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(  # type: ignore[attr-defined]
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": s3_server.region}
    )
    yield S3Storage(
        bucket,
        endpoint_url=s3_server.endpoint_url,
        region=s3_server.region,
        access_key_id=s3_server.access_key_id,
        secret_access_key=s3_server.secret_access_key,
        prefix="crm/",
    )


async def test_put_then_get_returns_the_bytes_and_type(storage: Storage) -> None:
    data = bytes(range(256)) * 40
    await storage.put("agency/1/media/7/large.jpg", data, "image/jpeg")
    stored = await storage.get("agency/1/media/7/large.jpg")
    assert stored.data == data
    assert stored.content_type == "image/jpeg"
    assert stored.size == len(data)
    assert stored.key == "agency/1/media/7/large.jpg"
    assert await storage.exists("agency/1/media/7/large.jpg")


async def test_put_replaces_an_object(storage: Storage) -> None:
    await storage.put("a/b.txt", b"first", "text/plain")
    await storage.put("a/b.txt", b"second", "application/pdf")
    stored = await storage.get("a/b.txt")
    assert (stored.data, stored.content_type) == (b"second", "application/pdf")


async def test_empty_object_round_trips(storage: Storage) -> None:
    await storage.put("empty.bin", b"", "application/octet-stream")
    assert (await storage.get("empty.bin")).data == b""


async def test_missing_object(storage: Storage) -> None:
    with pytest.raises(StoredObjectMissing) as caught:
        await storage.get("agency/1/nothing.jpg")
    assert caught.value.key == "agency/1/nothing.jpg"
    assert not await storage.exists("agency/1/nothing.jpg")


async def test_delete_is_idempotent(storage: Storage) -> None:
    await storage.put("x/y.pdf", b"%PDF-1.7", "application/pdf")
    await storage.delete("x/y.pdf")
    assert not await storage.exists("x/y.pdf")
    await storage.delete("x/y.pdf")  # already gone: no error
    with pytest.raises(StoredObjectMissing):
        await storage.get("x/y.pdf")


async def test_delete_prefix_removes_only_that_prefix(storage: Storage) -> None:
    for name in ("thumb.jpg", "medium.jpg", "large.jpg"):
        await storage.put(f"agency/1/media/7/{name}", b"x", "image/jpeg")
    await storage.put("agency/1/media/70/large.jpg", b"y", "image/jpeg")
    await storage.put("agency/2/media/7/large.jpg", b"z", "image/jpeg")
    assert await storage.delete_prefix("agency/1/media/7/") == 3
    assert not await storage.exists("agency/1/media/7/large.jpg")
    assert await storage.exists("agency/1/media/70/large.jpg")
    assert await storage.exists("agency/2/media/7/large.jpg")
    assert await storage.delete_prefix("agency/1/media/7/") == 0


async def test_check_passes_on_a_working_backend(storage: Storage) -> None:
    await storage.check()


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../outside",
        "a/../../b",
        "a//b",
        "a/./b",
        "a\\b",
        ".types/a",
        "a/b/",
        "a b",
        "a/\x00",
        "x" * 513,
    ],
)
async def test_unsafe_keys_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidKey):
        await storage.put(key, b"x", "text/plain")
    with pytest.raises(InvalidKey):
        await storage.get(key)


def test_check_key_accepts_plain_paths() -> None:
    assert check_key("agency/12/media/ab-c_d.e/thumb.webp") == "agency/12/media/ab-c_d.e/thumb.webp"


async def test_delete_prefix_needs_a_trailing_slash(storage: Storage) -> None:
    with pytest.raises(InvalidKey):
        await storage.delete_prefix("agency/1")


async def test_local_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    local = LocalStorage(tmp_path)
    await local.put("p/q.jpg", b"data", "image/jpeg")
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == [".types/p/q.jpg", "p/q.jpg"]


async def test_local_unwritable_directory_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    local = LocalStorage(blocker / "media")
    with pytest.raises(StorageUnavailable):
        await local.check()
    with pytest.raises(StorageUnavailable):
        await local.put("a.jpg", b"x", "image/jpeg")


async def test_s3_missing_bucket_is_unavailable(s3_server: S3Server) -> None:
    s3 = S3Storage(
        "no-such-bucket",
        endpoint_url=s3_server.endpoint_url,
        region=s3_server.region,
        access_key_id=s3_server.access_key_id,
        secret_access_key=s3_server.secret_access_key,
    )
    with pytest.raises(StorageUnavailable):
        await s3.check()
    with pytest.raises(StorageUnavailable):
        await s3.put("a.jpg", b"x", "image/jpeg")


async def test_s3_unreachable_endpoint_is_unavailable() -> None:
    s3 = S3Storage(
        "bucket",
        endpoint_url="http://127.0.0.1:9",
        region="eu-west-2",
        access_key_id="k",
        secret_access_key="s",  # pragma: allowlist secret
    )
    with pytest.raises(StorageUnavailable):
        await s3.check()


async def test_s3_prefix_is_applied_in_the_bucket(s3_server: S3Server) -> None:
    bucket = f"media-{uuid.uuid4().hex[:12]}"
    raw: Any = s3_server.client()
    raw.create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": s3_server.region}
    )
    s3 = S3Storage(
        bucket,
        endpoint_url=s3_server.endpoint_url,
        region=s3_server.region,
        access_key_id=s3_server.access_key_id,
        secret_access_key=s3_server.secret_access_key,
        prefix="crm/",
    )
    await s3.put("agency/1/a.jpg", b"x", "image/jpeg")
    listed = raw.list_objects_v2(Bucket=bucket)["Contents"]
    assert [item["Key"] for item in listed] == ["crm/agency/1/a.jpg"]


def test_settings_choose_the_backend(tmp_path: Path, s3_server: S3Server) -> None:
    local = storage_from_settings(Settings(storage_local_dir=tmp_path))
    assert isinstance(local, LocalStorage) and local.root == tmp_path
    s3 = storage_from_settings(
        Settings(
            storage_backend="s3",
            storage_s3_bucket="b",
            storage_s3_endpoint_url=s3_server.endpoint_url,
            storage_s3_region="eu-west-2",
        )
    )
    assert isinstance(s3, S3Storage) and s3.bucket == "b"


def test_s3_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="STORAGE_S3_BUCKET"):
        Settings(storage_backend="s3")
    with pytest.raises(ValueError, match="STORAGE_S3_PREFIX"):
        Settings(storage_backend="s3", storage_s3_bucket="b", storage_s3_prefix="crm")


def test_the_app_keeps_one_backend(app: Any, settings: Settings) -> None:
    first = get_storage(app)
    assert first is get_storage(app)
    assert isinstance(first, LocalStorage)
    assert first.root == settings.storage_local_dir
