"""Who owns a running embedded cluster: the starter stops it, everyone else attaches and leaves it running.

Real clusters and real processes: the owner lock is a kernel ``flock``, so what matters is what processes see. A
second :class:`EmbeddedPostgres` of the same root in this process counts as another owner (the lock belongs to an
open file), which lets most tests run both sides here; the death of an owner needs a real process to kill.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import create_async_engine

from server.db.embedded import PORT, EmbeddedPostgres, EmbeddedPostgresError

pytestmark = pytest.mark.slow

FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
REPO = Path(__file__).resolve().parents[4]

# A supervisor in a process of its own: starts the cluster, says so, and stops it when its stdin closes.
OWNER_SCRIPT = """
import sys
from server.db.embedded import EmbeddedPostgres
pg = EmbeddedPostgres(sys.argv[1], extra_settings={"fsync": "off"}, system_dir=sys.argv[2])
pg.start()
print("ready", flush=True)
sys.stdin.read()
pg.stop()
"""
# An owner that forks a long-lived child (as a worker pool would), then stops its cluster and exits.
FORKING_OWNER_SCRIPT = """
import os, sys, time
from server.db.embedded import EmbeddedPostgres
pg = EmbeddedPostgres(sys.argv[1], extra_settings={"fsync": "off"}, system_dir=sys.argv[2])
pg.start()
child = os.fork()
if child == 0:
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)  # let the test read the parent's output to its end
    os.dup2(devnull, 2)
    time.sleep(60)
    os._exit(0)
pg.stop()
print(child, flush=True)
"""

Supervisor = Callable[[], EmbeddedPostgres]


@pytest.fixture(scope="module")
def system_dir() -> Iterator[Path]:
    """Where the binaries are copied in root mode: a dir ``techpal-pg`` can traverse, out of /var/lib."""
    base = Path(tempfile.mkdtemp(prefix="techpal-pgsys-", dir="/tmp"))
    base.chmod(0o711)
    try:
        yield base / "sys"
    finally:
        shutil.rmtree(base)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A fresh cluster root."""
    return tmp_path / "data" / "postgres"


@pytest.fixture
def supervisor(root: Path, system_dir: Path) -> Iterator[Supervisor]:
    """``supervisor()`` → a new :class:`EmbeddedPostgres` of ``root``; all are stopped and the root removed after."""
    made: list[EmbeddedPostgres] = []

    def make() -> EmbeddedPostgres:
        made.append(EmbeddedPostgres(root, extra_settings=FAST, system_dir=system_dir))
        return made[-1]

    try:
        yield make
    finally:
        for pg in sorted(made, key=lambda pg: not pg.attached):  # guests first, then the owner stops it
            pg.stop()
        EmbeddedPostgres(root, system_dir=system_dir).destroy()


async def _select_one(url: str) -> int:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(text("SELECT 1"))).scalar_one())
    finally:
        await engine.dispose()


def select_one(pg: EmbeddedPostgres) -> int:
    """``SELECT 1`` through ``pg``'s URL."""
    return asyncio.run(_select_one(pg.url))


def postmaster_pid(pg: EmbeddedPostgres) -> int:
    return int((pg.data_dir / "postmaster.pid").read_text().splitlines()[0])


def gone(pid: int) -> bool:
    """Exited (a zombie waiting for init to reap it counts: it runs nothing and holds nothing)."""
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def start_owner_process(root: Path, system_dir: Path) -> subprocess.Popen[str]:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER_SCRIPT, str(root), str(system_dir)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert owner.stdout is not None
    assert owner.stdout.readline().strip() == "ready"
    return owner


def kill(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    end(process)


def end(process: subprocess.Popen[str]) -> None:
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
    process.wait(timeout=60)


# ------------------------------------------------------------------------------------------------ attaching
def test_a_second_supervisor_attaches_and_its_stop_leaves_the_cluster_running(supervisor: Supervisor) -> None:
    owner = supervisor()
    owner.start()
    pid = postmaster_pid(owner)
    # WHEN another supervisor of the same root starts (a CLI command beside a serving server)
    guest = supervisor()
    guest.start()
    # THEN it uses the running cluster, through the same socket and the same password file
    assert guest.attached
    assert not owner.attached
    assert postmaster_pid(guest) == pid
    assert guest.url == owner.url
    assert select_one(guest) == 1
    # AND its stop leaves the cluster running for the owner
    guest.stop()
    assert owner.is_running()
    assert postmaster_pid(owner) == pid
    assert select_one(owner) == 1
    # AND so does the stop (or destroy) of a supervisor that never started
    bystander = supervisor()
    bystander.stop()
    with pytest.raises(EmbeddedPostgresError, match=r"in use by process \d+"):
        bystander.destroy()
    assert postmaster_pid(owner) == pid
    assert owner.password_file.exists()
    # AND the owner's stop stops it
    owner.stop()
    assert gone(pid)
    assert not owner.is_running()


def test_an_owner_process_keeps_its_cluster_until_it_dies(supervisor: Supervisor, root: Path, system_dir: Path) -> None:
    process = start_owner_process(root, system_dir)
    try:
        guest = supervisor()
        guest.start()
        pid = postmaster_pid(guest)
        assert guest.attached
        guest.stop()
        assert not gone(pid)
        # WHEN the owner is killed, leaving its postmaster behind
        kill(process)
        assert not gone(pid)
        # THEN the next starter replaces that postmaster and owns the new one: it runs with the current settings
        successor = supervisor()
        successor.start()
        assert not successor.attached
        assert gone(pid)
        new_pid = postmaster_pid(successor)
        assert select_one(successor) == 1
        successor.stop()
        assert gone(new_pid)
    finally:
        kill(process)


def test_a_postmaster_left_by_a_killed_owner_can_be_stopped_by_anyone(
    supervisor: Supervisor, root: Path, system_dir: Path
) -> None:
    process = start_owner_process(root, system_dir)
    try:
        pid = postmaster_pid(supervisor())
        kill(process)
        supervisor().stop()  # e.g. a CLI cleaning up after a crash
        assert gone(pid)
    finally:
        kill(process)


def test_an_owner_that_stops_normally_stops_its_cluster_even_with_a_guest_attached(
    supervisor: Supervisor, root: Path, system_dir: Path
) -> None:
    process = start_owner_process(root, system_dir)
    guest = supervisor()
    try:
        guest.start()
        pid = postmaster_pid(guest)
    finally:
        end(process)  # the owner's stdin closes: it stops the cluster and exits
    assert process.returncode == 0
    assert gone(pid)
    assert not guest.is_running()
    guest.stop()  # the guest's exit afterwards is harmless


def test_concurrent_starters_start_one_cluster_and_the_later_one_attaches(supervisor: Supervisor, root: Path) -> None:
    starters = [supervisor() for _ in range(2)]
    barrier = threading.Barrier(len(starters))
    errors: list[BaseException] = []

    def start(pg: EmbeddedPostgres) -> None:
        try:
            barrier.wait()
            pg.start()
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(pg,)) for pg in starters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(pg.attached for pg in starters) == [False, True]
    owner = next(pg for pg in starters if not pg.attached)
    guest = next(pg for pg in starters if pg.attached)
    assert postmaster_pid(guest) == postmaster_pid(owner)
    assert [select_one(pg) for pg in starters] == [1, 1]
    assert not (root / "pgdata.initdb").exists()
    guest.stop()
    assert select_one(owner) == 1
    owner.stop()
    assert not owner.is_running()


# ------------------------------------------------------------------------------------------------ edge cases
def test_a_stale_pid_file_of_a_dead_process_is_started_over_normally(supervisor: Supervisor) -> None:
    first = supervisor()
    first.start()
    pid = postmaster_pid(first)
    pid_file = (first.data_dir / "postmaster.pid").read_text()
    first.stop()
    (first.data_dir / "postmaster.pid").write_text(pid_file)  # as a crash leaves it, naming a dead process
    assert gone(pid)
    starter = supervisor()
    starter.start()
    assert not starter.attached
    assert select_one(starter) == 1
    starter.stop()
    assert not starter.is_running()


def test_a_live_owner_whose_postmaster_died_is_reported_not_replaced(supervisor: Supervisor) -> None:
    owner = supervisor()
    owner.start()
    os.kill(postmaster_pid(owner), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while owner.is_running() and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(EmbeddedPostgresError, match=r"belongs to process \d+.*restart that process"):
        supervisor().start()
    owner.stop()


def test_a_forked_child_of_the_owner_does_not_inherit_the_ownership(
    supervisor: Supervisor, root: Path, system_dir: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", FORKING_OWNER_SCRIPT, str(root), str(system_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    child = psutil.Process(int(result.stdout))
    try:
        assert child.is_running()
        # The child outlives its parent, the owner, yet the cluster is free: the next starter owns it.
        starter = supervisor()
        starter.start()
        assert not starter.attached
    finally:
        child.kill()


def test_a_guest_refuses_a_socket_dir_that_is_not_private(supervisor: Supervisor) -> None:
    owner = supervisor()
    owner.start()
    socket_dir = owner.socket_dir
    socket_dir.chmod(0o755)
    try:
        with pytest.raises(EmbeddedPostgresError, match="not a private one"):
            supervisor().start()
    finally:
        socket_dir.chmod(0o700)
    owner.stop()


def test_the_owner_lock_is_private(supervisor: Supervisor, root: Path) -> None:
    owner = supervisor()
    owner.start()
    lock = root / "owner.lock"
    st = lock.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o600, os.geteuid())
    assert lock.read_text().strip() == str(os.getpid())
    assert (owner.socket_dir / f".s.PGSQL.{PORT}").exists()
    owner.stop()
    assert lock.read_text() == ""  # released: no owner named
