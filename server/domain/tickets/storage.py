"""Content-addressed blob storage for screenshots: a directory (the default) or an S3-compatible bucket.

The key is the SHA-256 hex digest of the bytes, so storing the same screenshot twice keeps one copy and a key can be
verified against its content. Both stores name a blob ``ab/cd/abcd…`` (two levels of 2-hex-digit shards, so no
directory grows past a few thousand entries): :class:`LocalBlobStorage` as files under the data dir,
:mod:`server.domain.tickets.s3_storage` as objects under ``TECHPAL_BLOB_URL``'s prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from server.lib.exceptions import NotFound

if TYPE_CHECKING:
    import datetime

__all__ = ["BlobStorage", "LocalBlobStorage", "blob_key", "blob_path", "build_blob_storage", "is_blob_key"]

_KEY = re.compile(r"[0-9a-f]{64}")


def blob_key(data: bytes) -> str:
    """The key :meth:`BlobStorage.put` files ``data`` under."""
    return hashlib.sha256(data).hexdigest()


def is_blob_key(key: object) -> bool:
    """Whether ``key`` is a key at all (64 lowercase hex digits): nothing else may become a path."""
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def blob_path(key: str) -> str:
    """Where a store keeps ``key``: ``ab/cd/abcd…``."""
    return f"{key[:2]}/{key[2:4]}/{key}"


@runtime_checkable
class BlobStorage(Protocol):
    """Immutable blobs addressed by the SHA-256 of their content."""

    async def put(self, data: bytes, *, media_type: str) -> str:
        """Stores ``data`` and returns its key (sha256 hex); storing the same bytes again is a no-op."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes under ``key``; raises ``NotFound`` when there are none."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        ...

    async def delete(self, key: str) -> None:
        """Removes ``key``; a missing key is fine."""
        ...

    async def stored_before(self, cutoff: datetime.datetime) -> set[str]:
        """The keys of blobs written at or before ``cutoff`` (candidates for the orphan rule)."""
        ...


class LocalBlobStorage:
    """Blobs as files under ``root`` (``settings.data_dir / "blobs"``): files 0600, directories 0700.

    A write goes to a temporary file in the destination directory, is fsynced, then renamed over the final name,
    so a crash or a full disk never leaves half a file under a key. Keys are validated (64 lowercase hex digits)
    before they become paths, so no key can point outside ``root``. Disk IO runs in threads, off the event loop.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not is_blob_key(key):
            raise NotFound("No such file.", code="blob_not_found")
        return self.root / blob_path(key)

    async def put(self, data: bytes, *, media_type: str) -> str:
        """Stores ``data`` atomically; ``media_type`` is for stores that keep it (the local one does not need it)."""
        key = blob_key(data)
        await asyncio.to_thread(self._write, self._path(key), data)
        return key

    def _write(self, path: Path, data: bytes) -> None:
        if path.exists():  # content-addressed: same name, same bytes
            return
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)  # the data dir itself is made private at startup
        for directory in (path.parent.parent, path.parent):
            directory.mkdir(mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(path.parent)

    async def get(self, key: str) -> bytes:
        """The stored bytes; ``NotFound`` for an unknown or malformed key."""
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise NotFound("No such file.", code="blob_not_found") from None

    async def exists(self, key: str) -> bool:
        """Whether the blob is stored (a malformed key never is)."""
        try:
            path = self._path(key)
        except NotFound:
            return False
        return await asyncio.to_thread(path.is_file)

    async def delete(self, key: str) -> None:
        """Removes the blob if present."""
        try:
            path = self._path(key)
        except NotFound:
            return
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def stored_before(self, cutoff: datetime.datetime) -> set[str]:
        """The keys of files last written at or before ``cutoff``."""
        return await asyncio.to_thread(self._stored_before, cutoff.timestamp())

    def _stored_before(self, limit: float) -> set[str]:
        if not self.root.is_dir():
            return set()
        keys: set[str] = set()
        for directory, _dirs, files in os.walk(self.root):
            for name in files:
                if is_blob_key(name) and os.stat(os.path.join(directory, name)).st_mtime <= limit:
                    keys.add(name)
        return keys


def build_blob_storage(blob_url: str | None, default_root: Path, *, s3_endpoint_url: str | None = None) -> BlobStorage:
    """The store ``TECHPAL_BLOB_URL`` names: ``s3://bucket/prefix``, a directory, or (``None``) ``default_root``."""
    if blob_url is not None and blob_url.startswith("s3://"):
        from server.domain.tickets.s3_storage import S3BlobStorage  # noqa: PLC0415 - obstore loads only when used

        return S3BlobStorage(blob_url, endpoint_url=s3_endpoint_url)
    return LocalBlobStorage(Path(blob_url) if blob_url is not None else default_root)


def _fsync_dir(directory: Path) -> None:
    """Makes the rename durable; not every platform can open a directory (Windows), which is fine there."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
