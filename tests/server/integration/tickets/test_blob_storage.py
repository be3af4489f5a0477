"""Both blob stores keep the same promises: a directory and an S3 bucket (a real S3 server: moto in server mode)."""

from __future__ import annotations

import datetime
import hashlib
from typing import TYPE_CHECKING

import pytest

from server.domain.tickets.storage import BlobStorage, build_blob_storage
from server.lib.exceptions import NotFound
from tests.fixtures.images import png_bytes

if TYPE_CHECKING:
    from pathlib import Path

    from tests.fixtures.s3 import S3Bucket


@pytest.fixture(params=["directory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStorage:
    """Each store built the way the server builds it from ``TECHPAL_BLOB_URL``."""
    if request.param == "directory":
        return build_blob_storage(str(tmp_path / "elsewhere"), tmp_path / "default")
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    return build_blob_storage(bucket.url, tmp_path / "default", s3_endpoint_url=bucket.endpoint)


async def test_a_blob_is_kept_under_its_digest_and_read_back(store: BlobStorage) -> None:
    data = png_bytes(32, 24)
    key = await store.put(data, media_type="image/png")

    assert key == hashlib.sha256(data).hexdigest()
    assert await store.get(key) == data
    assert await store.exists(key)
    assert await store.put(data, media_type="image/png") == key  # the same bytes again: the same blob


async def test_unknown_and_malformed_keys_are_not_found_and_never_a_path(store: BlobStorage) -> None:
    for key in ("0" * 64, "../../etc/passwd", "AB" * 32, ""):
        with pytest.raises(NotFound):
            await store.get(key)
        assert not await store.exists(key)
        await store.delete(key)  # nothing to remove: fine


async def test_a_deleted_blob_is_gone(store: BlobStorage) -> None:
    key = await store.put(b"some bytes", media_type="application/octet-stream")
    await store.delete(key)
    assert not await store.exists(key)
    with pytest.raises(NotFound):
        await store.get(key)


async def test_stored_before_lists_what_was_written_by_then(store: BlobStorage) -> None:
    key = await store.put(b"an old blob", media_type="application/octet-stream")
    now = datetime.datetime.now(datetime.UTC)

    assert key in await store.stored_before(now + datetime.timedelta(minutes=1))
    assert key not in await store.stored_before(now - datetime.timedelta(minutes=1))


async def test_the_bucket_holds_the_sharded_objects_with_their_media_type(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    store = build_blob_storage(s3_bucket.url, tmp_path / "default", s3_endpoint_url=s3_bucket.endpoint)
    data = png_bytes(16, 16)
    key = await store.put(data, media_type="image/png")

    path = f"screenshots/{key[:2]}/{key[2:4]}/{key}"
    assert s3_bucket.object_keys() == [path]
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=path)  # type: ignore[attr-defined]
    assert head["ContentType"] == "image/png"
    assert not (tmp_path / "default").exists()
