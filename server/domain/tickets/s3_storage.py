"""Blobs in an S3-compatible bucket (``TECHPAL_BLOB_URL=s3://bucket/prefix``), through obstore.

Every server process and worker on any machine reads and writes the same objects, so screenshots no longer tie the
server to one disk. Credentials and the region come from the standard AWS variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``…) or the instance's role; ``TECHPAL_S3_ENDPOINT_URL``
points at another S3-compatible service (MinIO, Ceph, R2, moto in the tests). Objects are written whole (an S3 PUT
is atomic: nobody reads half an object) with their media type, and are never rewritten: the key is their digest.
obstore (Rust's ``object_store``) rather than boto3: it is async without a thread per call, and retries with backoff.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import obstore
from obstore.store import S3Store

from server.domain.tickets.storage import blob_key, blob_path, is_blob_key
from server.lib.exceptions import NotFound

if TYPE_CHECKING:
    import datetime

__all__ = ["S3BlobStorage"]


def _not_found() -> NotFound:
    return NotFound("No such file.", code="blob_not_found")


class S3BlobStorage:
    """Blobs as objects ``<prefix>/ab/cd/abcd…`` in one bucket."""

    def __init__(self, url: str, *, endpoint_url: str | None = None) -> None:
        options = {"allow_http": True} if endpoint_url and endpoint_url.startswith("http://") else None
        config = {"endpoint": endpoint_url} if endpoint_url else {}
        self._store = S3Store.from_url(url, config=config, client_options=options)  # type: ignore[arg-type]

    async def put(self, data: bytes, *, media_type: str) -> str:
        """Stores ``data`` under its digest with its media type (the same bytes again write the same object)."""
        key = blob_key(data)
        await obstore.put_async(self._store, blob_path(key), data, attributes={"Content-Type": media_type})
        return key

    async def get(self, key: str) -> bytes:
        """The stored bytes; ``NotFound`` for an unknown or malformed key."""
        if not is_blob_key(key):
            raise _not_found()
        try:
            result = await obstore.get_async(self._store, blob_path(key))
            return bytes(await result.bytes_async())
        except FileNotFoundError:  # obstore's "not found" for a missing object
            raise _not_found() from None

    async def exists(self, key: str) -> bool:
        """Whether the object is stored (a malformed key never is)."""
        if not is_blob_key(key):
            return False
        try:
            await obstore.head_async(self._store, blob_path(key))
        except FileNotFoundError:  # obstore's "not found" for a missing object
            return False
        return True

    async def delete(self, key: str) -> None:
        """Removes the object if present (S3 deletes of a missing object succeed)."""
        if is_blob_key(key):
            await obstore.delete_async(self._store, blob_path(key))

    async def stored_before(self, cutoff: datetime.datetime) -> set[str]:
        """The keys of objects last written at or before ``cutoff``."""
        keys: set[str] = set()
        async for batch in obstore.list(self._store, chunk_size=1000):
            for meta in batch:
                name = meta["path"].rpartition("/")[2]
                if is_blob_key(name) and meta["last_modified"] <= cutoff:
                    keys.add(name)
        return keys
