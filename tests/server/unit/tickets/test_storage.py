"""Content-addressed local blob storage: atomic, private, idempotent, and no key escapes its root."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from server.domain.tickets.storage import BlobStorage, LocalBlobStorage
from server.lib.exceptions import NotFound


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStorage:
    return LocalBlobStorage(tmp_path / "blobs")


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_put_returns_the_sha256_and_get_returns_the_bytes(blobs: LocalBlobStorage) -> None:
    data = b"\x89PNG fake but bytes are bytes"

    key = await blobs.put(data, media_type="image/png")

    assert key == hashlib.sha256(data).hexdigest()
    assert await blobs.get(key) == data
    assert await blobs.exists(key)
    assert isinstance(blobs, BlobStorage)


async def test_put_is_idempotent(blobs: LocalBlobStorage) -> None:
    first = await blobs.put(b"same", media_type="image/png")
    second = await blobs.put(b"same", media_type="image/jpeg")

    assert first == second
    assert len(_files(blobs.root)) == 1


async def test_files_are_sharded_and_private(blobs: LocalBlobStorage) -> None:
    key = await blobs.put(b"private screenshot", media_type="image/png")

    path = blobs.root / key[:2] / key[2:4] / key
    assert _files(blobs.root) == [path]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for directory in (blobs.root, path.parent.parent, path.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


async def test_missing_blob_is_not_found_and_delete_is_forgiving(blobs: LocalBlobStorage) -> None:
    key = await blobs.put(b"to delete", media_type="image/png")

    await blobs.delete(key)
    await blobs.delete(key)  # again: fine

    assert not await blobs.exists(key)
    with pytest.raises(NotFound):
        await blobs.get(key)
    assert _files(blobs.root) == []


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "..",
        "",
        "ab/../../" + "0" * 55,
        "A" * 64,  # upper case is not what put returns
        "0" * 63,
        "0" * 65,
        "0" * 62 + "/x",
        "0" * 63 + "\x00",
        "g" * 64,
    ],
)
async def test_keys_cannot_escape_the_root(tmp_path: Path, key: str) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"do not read or delete me")
    blobs = LocalBlobStorage(tmp_path / "blobs")

    with pytest.raises(NotFound):
        await blobs.get(key)
    assert not await blobs.exists(key)
    await blobs.delete(key)

    assert outside.read_bytes() == b"do not read or delete me"


async def test_a_failed_write_leaves_no_file_behind(blobs: LocalBlobStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)  # the storage module calls os.replace

    with pytest.raises(OSError, match="No space left"):
        await blobs.put(b"never half written", media_type="image/png")

    monkeypatch.undo()
    assert _files(blobs.root) == []  # neither the final name nor the temporary file
    assert not await blobs.exists(hashlib.sha256(b"never half written").hexdigest())


async def test_writes_go_through_a_temporary_file_renamed_into_place(
    blobs: LocalBlobStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str, bytes]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        # At the moment of the rename, the full content is already in the temporary file next to the target.
        seen.append((str(src), str(dst), Path(src).read_bytes()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    data = os.urandom(1 << 20)

    key = await blobs.put(data, media_type="image/png")

    [(src, dst, content)] = seen
    assert Path(src).parent == Path(dst).parent
    assert Path(dst).name == key
    assert content == data
