"""POSIX access ACLs as the ``system.posix_acl_access`` xattr: encoding, traversability, the traverse-only grant."""

from __future__ import annotations

import errno
import os
import stat
import struct
from pathlib import Path
from typing import Final, NamedTuple

from server.db.embedded._common import EmbeddedPostgresError, _Account, logger

# POSIX ACLs as Linux stores them in the system.posix_acl_access xattr (linux/posix_acl_xattr.h): a little-endian
# header (u32 version) and entries (u16 tag, u16 perm, u32 id), sorted by tag, then id.
_ACL_XATTR: Final = "system.posix_acl_access"
_ACL_VERSION: Final = 2
_ACL_HEADER: Final = struct.Struct("<I")
_ACL_ENTRY: Final = struct.Struct("<HHI")
_ACL_USER_OBJ: Final = 0x01
_ACL_USER: Final = 0x02
_ACL_GROUP_OBJ: Final = 0x04
_ACL_GROUP: Final = 0x08
_ACL_MASK: Final = 0x10
_ACL_OTHER: Final = 0x20
_ACL_UNDEFINED_ID: Final = 0xFFFFFFFF
_ACL_EXECUTE: Final = 1
_ACL_NOT_SUPPORTED: Final = frozenset({errno.ENOTSUP, errno.EOPNOTSUPP})


class _AclEntry(NamedTuple):
    """One entry of a POSIX ACL; tuples sort in the order the kernel wants them (by tag, then id)."""

    tag: int
    id: int
    perm: int


def _decode_acl(blob: bytes, path: Path) -> list[_AclEntry]:
    """Parse a ``system.posix_acl_access`` value."""
    body = blob[_ACL_HEADER.size :]
    if len(blob) < _ACL_HEADER.size or len(body) % _ACL_ENTRY.size:
        raise EmbeddedPostgresError(f"the ACL of {path} has an unexpected size ({len(blob)} bytes)")
    (version,) = _ACL_HEADER.unpack_from(blob)
    if version != _ACL_VERSION:
        raise EmbeddedPostgresError(f"the ACL of {path} has an unknown version ({version})")
    return [_AclEntry(tag, id_, perm) for tag, perm, id_ in _ACL_ENTRY.iter_unpack(body)]


def _encode_acl(entries: list[_AclEntry]) -> bytes:
    """The ``system.posix_acl_access`` value for ``entries``."""
    packed = (_ACL_ENTRY.pack(entry.tag, entry.perm, entry.id) for entry in sorted(entries))
    return _ACL_HEADER.pack(_ACL_VERSION) + b"".join(packed)


def _read_acl(path: Path) -> list[_AclEntry] | None:
    """The access ACL of ``path``, or ``None`` when it has none beyond its mode bits (or its filesystem has none)."""
    try:
        blob = os.getxattr(path, _ACL_XATTR, follow_symlinks=False)
    except OSError as exc:
        if exc.errno == errno.ENODATA or exc.errno in _ACL_NOT_SUPPORTED:
            return None
        raise
    return _decode_acl(blob, path)


def _acl_from_mode(mode: int) -> list[_AclEntry]:
    """The minimal ACL equivalent to ``mode``'s permission bits."""
    return [
        _AclEntry(_ACL_USER_OBJ, _ACL_UNDEFINED_ID, (mode >> 6) & 0o7),
        _AclEntry(_ACL_GROUP_OBJ, _ACL_UNDEFINED_ID, (mode >> 3) & 0o7),
        _AclEntry(_ACL_OTHER, _ACL_UNDEFINED_ID, mode & 0o7),
    ]


def _can_traverse(st: os.stat_result, acl: list[_AclEntry] | None, uid: int, gids: frozenset[int]) -> bool:
    """Whether an unprivileged process with ``uid`` and groups ``gids`` may search a directory, as Linux decides.

    The owner gets the owner bits; else a named user entry, limited by the mask; else, if any of the owning group
    or the named group entries matches, whether one of those grants it (limited by the mask); else the other bits.
    """
    if uid == st.st_uid:
        return bool(st.st_mode & stat.S_IXUSR)
    entries = acl if acl is not None else _acl_from_mode(st.st_mode)
    mask = next((entry.perm for entry in entries if entry.tag == _ACL_MASK), 0o7)
    for entry in entries:
        if entry.tag == _ACL_USER and entry.id == uid:
            return bool(entry.perm & mask & _ACL_EXECUTE)
    in_a_group = False
    for entry in entries:
        gid = st.st_gid if entry.tag == _ACL_GROUP_OBJ else entry.id if entry.tag == _ACL_GROUP else None
        if gid is not None and gid in gids:
            if entry.perm & mask & _ACL_EXECUTE:
                return True
            in_a_group = True
    return not in_a_group and bool(st.st_mode & stat.S_IXOTH)


def _with_traverse_entry(entries: list[_AclEntry], uid: int) -> list[_AclEntry]:
    """``entries`` plus ``user:<uid>:--x`` (execute added to ``uid``'s entry if it has one); the mask recomputed.

    The mask becomes the union of the group class (owning group, named users, named groups), as setfacl makes it.
    Where an old mask was narrower that would widen the others' effective rights, so each of them is first cut to
    what the old mask let through: every other entry keeps exactly the effective rights it had.
    """
    group_class = {_ACL_USER, _ACL_GROUP_OBJ, _ACL_GROUP}
    old_mask = next((entry.perm for entry in entries if entry.tag == _ACL_MASK), None)
    granted = _AclEntry(_ACL_USER, uid, _ACL_EXECUTE)
    kept: list[_AclEntry] = []
    for entry in entries:
        if entry.tag == _ACL_MASK:
            continue
        effective = entry._replace(perm=entry.perm & old_mask) if old_mask is not None else entry
        if entry.tag == _ACL_USER and entry.id == uid:
            granted = effective._replace(perm=effective.perm | _ACL_EXECUTE)
        else:
            kept.append(effective if entry.tag in group_class else entry)
    kept.append(granted)
    mask = 0
    for entry in kept:
        if entry.tag in group_class:
            mask |= entry.perm
    return sorted([*kept, _AclEntry(_ACL_MASK, _ACL_UNDEFINED_ID, mask)])


def _lookup_dirs(path: Path) -> list[Path]:
    """The directories a lookup of ``path`` searches, top down.

    They are its parents and, where one is a symlink, the directories its target leads through.
    """
    dirs: dict[Path, None] = {}
    for prefix in reversed(path.parents):
        real = Path(os.path.realpath(prefix))
        for directory in [*reversed(real.parents), real]:
            dirs.setdefault(directory, None)
    return list(dirs)


def _grant_traverse(path: Path, account: _Account) -> None:
    """Let ``account`` reach ``path``: each parent it cannot search gets the ACL entry ``user:<account>:--x``.

    Nothing else changes on those directories: owner, group and every other entry's effective rights stay (see
    :func:`_with_traverse_entry`).
    """
    gids = frozenset({account.gid})  # its processes run without supplementary groups (see EmbeddedPostgres._run)
    for directory in _lookup_dirs(path):
        st = os.stat(directory)
        acl = _read_acl(directory)
        if _can_traverse(st, acl, account.uid, gids):
            continue
        if st.st_uid == account.uid:
            raise EmbeddedPostgresError(f"{directory} belongs to {account.name}, which may not search it: chmod u+x it")
        entries = _with_traverse_entry(acl if acl is not None else _acl_from_mode(st.st_mode), account.uid)
        try:
            os.setxattr(directory, _ACL_XATTR, _encode_acl(entries), follow_symlinks=False)
        except OSError as exc:
            if exc.errno in _ACL_NOT_SUPPORTED:
                raise EmbeddedPostgresError(
                    f"the database user {account.name} must be able to traverse {directory}, but its filesystem "
                    "has no POSIX ACLs to grant that with: put the data directory (TECHPAL_DATA_DIR) on a filesystem "
                    "with POSIX ACLs, or somewhere every user can traverse (o+x on every parent)"
                ) from None
            raise EmbeddedPostgresError(
                f"could not give {account.name} traverse-only access to {directory}: {exc.strerror}"
            ) from None
        logger.info(
            "Granted %s traverse-only access to %s (ACL entry user:%s:--x)", account.name, directory, account.name
        )
        if not _can_traverse(os.stat(directory), _read_acl(directory), account.uid, gids):
            raise EmbeddedPostgresError(f"{account.name} still cannot traverse {directory} after the ACL grant")
