"""The process side of the supervisor: the lock, the log, initdb, pg_ctl, the bootstrap, attaching, the shutdown."""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from server.db.embedded._common import PORT, EmbeddedPostgresError, _Account, _Deadline, logger
from server.db.embedded._fs import (
    _FALLBACK_SOCKET_PREFIX,
    _ensure_dir,
    _fallback_socket_parents,
    _is_postmaster_of,
    _read_postmaster_pid,
    _remove_socket_files,
    _socket_dir_usable,
    _write_private_file,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from server.db.embedded._owner import _OwnerLock

_LOG_ROTATE_BYTES: Final = 8 * 1024 * 1024
# Run by psql as the superuser on every start; psql quotes the :dbname variable.
_BOOTSTRAP_SQL: Final = """\
SELECT format('CREATE DATABASE %I', :'dbname')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'dbname') \\gexec
\\connect :"dbname"
CREATE EXTENSION IF NOT EXISTS vector;
"""


class _Cluster:
    """The process side of :class:`~server.db.embedded.EmbeddedPostgres`, its base; the state is set up there."""

    _root: Path
    _database: str
    _user: str
    _extra_settings: dict[str, str]
    _socket_dir: Path | None
    _pid: int | None
    _started: bool
    _attached: bool
    _owner: _OwnerLock

    if TYPE_CHECKING:  # public members, defined by EmbeddedPostgres

        @property
        def log_file(self) -> Path: ...

        @property
        def data_dir(self) -> Path: ...

        @property
        def password(self) -> str: ...

        def is_running(self) -> bool: ...

        def _prepare_binaries(self, account: _Account | None, deadline: _Deadline) -> Path: ...

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

    def _attach(self, running: tuple[int, Path | None] | None, account: _Account | None, deadline: _Deadline) -> None:
        """Use the cluster another live process owns, through its socket and our password file; never stop it."""
        socket_dir = running[1] if running is not None else None
        if running is None or socket_dir is None:
            raise EmbeddedPostgresError(
                f"the embedded PostgreSQL in {self._root} belongs to {self._owner_name()}, which is running but its "
                "database is not: restart that process"
            )
        pid = running[0]
        st = os.lstat(socket_dir)
        owners = {os.geteuid(), account.uid if account else os.geteuid()}
        if not stat.S_ISDIR(st.st_mode) or stat.S_IMODE(st.st_mode) != 0o700 or st.st_uid not in owners:
            raise EmbeddedPostgresError(f"the socket directory {socket_dir} is not a private one of ours; not using it")
        password = self.password
        self._bootstrap(self._prepare_binaries(account, deadline), socket_dir, password, deadline)
        self._socket_dir, self._pid, self._started, self._attached = socket_dir, pid, True, True
        logger.info(
            "Attached to the embedded PostgreSQL of %s (pid %d, socket %s); it stays running when we stop",
            self._owner_name(),
            pid,
            socket_dir,
        )

    def _owner_name(self) -> str:
        holder = self._owner.holder()
        return f"process {holder}" if holder else "another process"

    def _forget_cluster(self) -> None:
        self._started = False
        self._attached = False
        self._socket_dir = None
        self._pid = None

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
        self._forget_cluster()

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
