"""Private directories and files, the socket directory, and what ``postmaster.pid`` tells about a postmaster."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

from server.db.embedded._common import PORT, EmbeddedPostgresError, _Account

if TYPE_CHECKING:
    from collections.abc import Mapping

# sun_path is 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH: Final = 107
_SOCKET_NAME: Final = f".s.PGSQL.{PORT}"
_FALLBACK_SOCKET_PREFIX: Final = "techpal-pg-"


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
