"""Content-addressed blob storage for screenshots, behind a small interface an S3-compatible store can implement.

The key is the SHA-256 hex digest of the bytes, so storing the same screenshot twice keeps one copy and a key can be
verified against its content. :class:`LocalBlobStorage` keeps files under the data dir in two levels of 2-hex-digit
shards (``ab/cd/abcd…``) so no directory grows past a few thousand entries.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from server.lib.exceptions import NotFound

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["BlobStorage", "LocalBlobStorage", "blob_key"]

_KEY = re.compile(r"[0-9a-f]{64}")


def blob_key(data: bytes) -> str:
    """The key :meth:`BlobStorage.put` files ``data`` under."""
    return hashlib.sha256(data).hexdigest()


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


class LocalBlobStorage:
    """Blobs as files under ``root`` (``settings.data_dir / "blobs"``): files 0600, directories 0700.

    A write goes to a temporary file in the destination directory, is fsynced, then renamed over the final name,
    so a crash or a full disk never leaves half a file under a key. Keys are validated (64 lowercase hex digits)
    before they become paths, so no key can point outside ``root``. Disk IO runs in threads, off the event loop.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise NotFound("No such file.", code="blob_not_found")
        return self.root / key[:2] / key[2:4] / key

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
