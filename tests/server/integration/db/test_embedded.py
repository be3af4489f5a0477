"""The embedded PostgreSQL supervisor, judged by what a user or an attacker on the machine would see.

One cluster is shared by the module (most tests leave it running); tests that need their own make it and destroy it.
As root (here and in CI) the cluster runs as ``techpal-pg`` and lives under its root like any other; the root's 0700
parents (``/tmp/pytest-of-root``, the test's ``tmp_path``) get a traverse-only ACL entry for that user. The private
copy of the binaries goes to a ``system_dir`` this module makes under /tmp, so a test run leaves nothing in /var/lib.

``setfacl`` and ``getfacl`` need not be installed: ACLs are read back from the ``system.posix_acl_access`` xattr by a
small parser of this module's own, independent of the code under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import grp
import os
import pwd
import re
import shutil
import socket
import stat
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import psutil
import pytest
from sqlalchemy import pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from server.db.embedded import DB_SYSTEM_USER, PORT, EmbeddedPostgres, EmbeddedPostgresError
from server.db.embedded._acl import _AclEntry, _can_traverse, _with_traverse_entry
from server.db.embedded._binaries import _pginstall_dir
from server.db.embedded._fs import _fallback_socket_parents, _socket_dir_usable
from server.db.embedded._supervisor import _db_user_for

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow

FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
IS_ROOT = os.geteuid() == 0
root_only = pytest.mark.skipif(not IS_ROOT, reason="root mode only")


# ------------------------------------------------------------------------------------------------ ACLs, read back
# system.posix_acl_access as Linux stores it: u32 version (2), then entries (u16 tag, u16 perm, u32 id).
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
NO_ID = 0xFFFFFFFF
GROUP_CLASS = frozenset({USER, GROUP_OBJ, GROUP})
TAG_NAMES = {USER_OBJ: "user", USER: "user", GROUP_OBJ: "group", GROUP: "group", MASK: "mask", OTHER: "other"}
TRAVERSE = 0o1  # --x
OUR_ENTRY = f"user:{DB_SYSTEM_USER}:"


@dataclass(frozen=True)
class Entry:
    tag: int
    id: int | None
    perm: int


def _sort_key(entry: Entry) -> tuple[int, int]:
    return entry.tag, -1 if entry.id is None else entry.id


def read_acl(path: Path) -> list[Entry] | None:
    """The access ACL of ``path`` as stored, or ``None`` when it has none beyond its mode bits."""
    try:
        blob = os.getxattr(path, "system.posix_acl_access")
    except OSError as exc:
        if exc.errno == errno.ENODATA:
            return None
        raise
    (version,) = struct.unpack_from("<I", blob)
    assert version == 2
    assert (len(blob) - 4) % 8 == 0
    entries = [
        Entry(tag, None if id_ == NO_ID else id_, perm) for tag, perm, id_ in struct.iter_unpack("<HHI", blob[4:])
    ]
    assert entries == sorted(entries, key=_sort_key), "entries out of order"
    return entries


def write_acl(path: Path, entries: list[Entry]) -> None:
    """Give ``path`` an ACL, as ``setfacl`` would, to set up a directory that has one already."""
    packed = (
        struct.pack("<HHI", e.tag, e.perm, NO_ID if e.id is None else e.id) for e in sorted(entries, key=_sort_key)
    )
    os.setxattr(path, "system.posix_acl_access", struct.pack("<I", 2) + b"".join(packed))


def acl_of(path: Path) -> list[Entry]:
    """``path``'s ACL; the minimal one its mode bits make when it has no extended entries."""
    acl = read_acl(path)
    if acl is not None:
        return acl
    mode = path.stat().st_mode
    return [Entry(USER_OBJ, None, mode >> 6 & 7), Entry(GROUP_OBJ, None, mode >> 3 & 7), Entry(OTHER, None, mode & 7)]


def _qualifier(entry: Entry) -> str:
    if entry.id is None:
        return ""
    with contextlib.suppress(KeyError):
        return pwd.getpwuid(entry.id).pw_name if entry.tag == USER else grp.getgrgid(entry.id).gr_name
    return str(entry.id)


def _rwx(perm: int) -> str:
    return "".join(letter if perm & bit else "-" for letter, bit in (("r", 4), ("w", 2), ("x", 1)))


def effective(path: Path) -> dict[str, int]:
    """What each entry really grants (the group class limited by the mask), keyed ``user::``, ``group:adm:``, etc."""
    acl = acl_of(path)
    mask = next((e.perm for e in acl if e.tag == MASK), 7)
    return {
        f"{TAG_NAMES[e.tag]}:{_qualifier(e)}:": e.perm & mask if e.tag in GROUP_CLASS else e.perm
        for e in acl
        if e.tag != MASK
    }


def getfacl(path: Path) -> str:
    """What ``getfacl path`` prints, made from the xattr."""
    st = path.stat()
    acl = acl_of(path)
    mask = next((e.perm for e in acl if e.tag == MASK), 7)
    lines = [f"# file: {str(path).lstrip('/')}", f"# owner: {pwd.getpwuid(st.st_uid).pw_name}"]
    lines.append(f"# group: {grp.getgrgid(st.st_gid).gr_name}")
    for entry in acl:
        line = f"{TAG_NAMES[entry.tag]}:{_qualifier(entry)}:{_rwx(entry.perm)}"
        if entry.tag in GROUP_CLASS and entry.perm & ~mask:
            line += f"\t#effective:{_rwx(entry.perm & mask)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class DirState:
    """What ``stat`` and ``getfacl`` show of a directory."""

    uid: int
    gid: int
    mode: int
    acl: tuple[Entry, ...] | None
    rights: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, path: Path) -> DirState:
        st = path.stat()
        acl = read_acl(path)
        rights = tuple(sorted(effective(path).items()))
        return cls(st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), None if acl is None else tuple(acl), rights)


States = dict[Path, DirState]


def ancestor_states(*paths: Path) -> States:
    """The state of every existing ancestor of ``paths``."""
    return {ancestor: DirState.of(ancestor) for path in paths for ancestor in path.parents if ancestor.exists()}


def assert_only_traverse_granted(before: DirState, after: DirState) -> None:
    """Owner, group, owner and other bits and everyone's effective rights unchanged, bar techpal-pg's ``--x``."""
    assert (after.uid, after.gid) == (before.uid, before.gid)
    # Once there is an ACL the group bits show its mask; the owning group's real rights are compared below.
    assert after.mode & ~0o070 == before.mode & ~0o070
    rights_before, rights_after = dict(before.rights), dict(after.rights)
    had, has = rights_before.pop(OUR_ENTRY, 0), rights_after.pop(OUR_ENTRY, 0)
    assert rights_after == rights_before
    assert has & ~TRAVERSE == had & ~TRAVERSE, "techpal-pg gained more than --x"


def as_db_user(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with the credentials the supervisor runs PostgreSQL with."""
    entry = pwd.getpwnam(DB_SYSTEM_USER)
    return subprocess.run(
        argv,
        user=entry.pw_uid,
        group=entry.pw_gid,
        extra_groups=[],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        cwd="/",
    )


# ------------------------------------------------------------------------------------------------ helpers
async def _run_sql(url: str, *statements: str) -> list[tuple[object, ...]]:
    """Run ``statements`` in one transaction through SQLAlchemy + asyncpg; the rows of the last one."""
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            rows: list[tuple[object, ...]] = []
            for statement in statements:
                result = await connection.execute(text(statement))
                rows = [tuple(row) for row in result.all()] if result.returns_rows else []
            return rows
    finally:
        await engine.dispose()


def sql(url: str, *statements: str) -> list[tuple[object, ...]]:
    return asyncio.run(_run_sql(url, *statements))


def psql(pg: EmbeddedPostgres, *, password: str | None, user: str | None = None) -> subprocess.CompletedProcess[str]:
    """``SELECT 1`` with the wheel's psql through the socket, with ``password`` or none at all."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PGHOST": str(pg.socket_dir),
        "PGPORT": str(PORT),
        "PGUSER": user or pg.user,
        "PGDATABASE": pg.database,
        "PGPASSFILE": os.devnull,
        "PGCONNECT_TIMEOUT": "5",
    }
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.run(
        [str(_pginstall_dir() / "bin" / "psql"), "-X", "-w", "-At", "-c", "SELECT 1"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def postmaster(pg: EmbeddedPostgres) -> psutil.Process:
    pid = int((pg.data_dir / "postmaster.pid").read_text().splitlines()[0])
    return psutil.Process(pid)


def cluster_processes(pg: EmbeddedPostgres) -> list[psutil.Process]:
    main = postmaster(pg)
    return [main, *main.children(recursive=True)]


def gone(process: psutil.Process) -> bool:
    """Exited (a zombie waiting for init to reap it counts: it runs nothing and holds nothing)."""
    try:
        return bool(process.status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def fake_pid_file(pg: EmbeddedPostgres, pid: int) -> None:
    """A postmaster.pid as a killed postmaster leaves it, for process ``pid``."""
    lines = [str(pid), str(pg.data_dir), str(int(time.time())), str(PORT), str(pg.root / "run"), "", "", ""]
    (pg.data_dir / "postmaster.pid").write_text("\n".join([*lines[:6], "  5432001         0", "ready   ", ""]))


@dataclass
class Cluster:
    pg: EmbeddedPostgres
    ancestors_before: States


@pytest.fixture(scope="module")
def system_dir() -> Iterator[Path]:
    """Where the binaries are copied in root mode: a dir ``techpal-pg`` can traverse, out of /var/lib."""
    base = Path(tempfile.mkdtemp(prefix="techpal-pgsys-", dir="/tmp"))
    base.chmod(0o711)
    try:
        yield base / "sys"
    finally:
        shutil.rmtree(base)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, system_dir: Path) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("embedded") / "data" / "postgres"
    before = ancestor_states(root, system_dir)
    pg = EmbeddedPostgres(root, extra_settings=FAST, system_dir=system_dir)
    pg.start()
    try:
        yield Cluster(pg, before)
    finally:
        pg.destroy()


@pytest.fixture
def pg(cluster: Cluster) -> EmbeddedPostgres:
    """The shared cluster, running."""
    if not cluster.pg.is_running():
        cluster.pg.start()
    return cluster.pg


# ------------------------------------------------------------------------------------------------ decisions
def test_root_runs_postgres_as_a_system_user_and_anyone_else_as_themselves() -> None:
    assert _db_user_for(0) == DB_SYSTEM_USER
    assert _db_user_for(1000) is None


def test_socket_dir_must_fit_sun_path_and_be_plain() -> None:
    assert _socket_dir_usable(Path("/tmp/x"))
    assert _socket_dir_usable(Path("/" + "a" * 92))  # 93 + "/.s.PGSQL.5432" = 107 bytes
    assert not _socket_dir_usable(Path("/" + "a" * 93))
    assert not _socket_dir_usable(Path("/tmp/a,b"))
    assert not _socket_dir_usable(Path("/tmp/a b"))


def test_fallback_socket_dir_prefers_a_users_runtime_dir_but_not_roots(tmp_path: Path) -> None:
    runtime = {"XDG_RUNTIME_DIR": "/run/user/1000"}
    assert _fallback_socket_parents(1000, runtime)[0] == Path("/run/user/1000")
    assert Path("/run/user/0") not in _fallback_socket_parents(0, {"XDG_RUNTIME_DIR": "/run/user/0"})
    assert Path("/tmp") in _fallback_socket_parents(0, {})
    too_long = {"XDG_RUNTIME_DIR": "/" + "r" * 100}
    assert Path(too_long["XDG_RUNTIME_DIR"]) not in _fallback_socket_parents(1000, too_long)


def _stat(mode: int, uid: int = 0, gid: int = 0) -> os.stat_result:
    return os.stat_result((stat.S_IFDIR | mode, 1, 1, 2, uid, gid, 4096, 0, 0, 0))


def _acl(*entries: tuple[int, int, int]) -> list[_AclEntry]:
    return [_AclEntry(tag, id_, perm) for tag, id_, perm in entries]


@pytest.mark.parametrize(
    ("mode", "acl", "expected"),
    [
        pytest.param(0o700, None, False, id="0700"),
        pytest.param(0o711, None, True, id="others and its group may"),
        pytest.param(0o710, None, True, id="its group may"),
        pytest.param(0o701, None, False, id="its group may not, though others may"),
        pytest.param(
            0o710,
            _acl((USER_OBJ, NO_ID, 7), (USER, 999, 1), (GROUP_OBJ, NO_ID, 0), (MASK, NO_ID, 1), (OTHER, NO_ID, 0)),
            True,
            id="named entry",
        ),
        pytest.param(
            0o700,
            _acl((USER_OBJ, NO_ID, 7), (USER, 999, 1), (GROUP_OBJ, NO_ID, 0), (MASK, NO_ID, 0), (OTHER, NO_ID, 0)),
            False,
            id="named entry masked",
        ),
        pytest.param(
            0o751,
            _acl((USER_OBJ, NO_ID, 7), (USER, 999, 4), (GROUP_OBJ, NO_ID, 5), (MASK, NO_ID, 5), (OTHER, NO_ID, 1)),
            False,
            id="named entry without x, though others may",
        ),
        pytest.param(
            0o711,
            _acl((USER_OBJ, NO_ID, 7), (GROUP_OBJ, NO_ID, 0), (GROUP, 995, 1), (MASK, NO_ID, 1), (OTHER, NO_ID, 1)),
            True,
            id="named group",
        ),
    ],
)
def test_traversability_is_judged_as_the_kernel_does(mode: int, acl: list[_AclEntry] | None, expected: bool) -> None:
    # uid 999 in group 995 (only), on a directory of root:995 (or of root:root when it has no ACL)
    assert _can_traverse(_stat(mode, gid=995), acl, 999, frozenset({995})) is expected
    if acl is None:
        assert _can_traverse(_stat(mode, gid=0), None, 999, frozenset({995})) is bool(mode & 0o001)
    assert _can_traverse(_stat(0o601, uid=999), None, 999, frozenset({995})) is False  # the owner gets the owner bits


def test_the_grant_keeps_every_other_entrys_effective_rights() -> None:
    minimal = _acl((USER_OBJ, NO_ID, 7), (GROUP_OBJ, NO_ID, 5), (OTHER, NO_ID, 0))
    assert _with_traverse_entry(minimal, 999) == _acl(
        (USER_OBJ, NO_ID, 7), (USER, 999, 1), (GROUP_OBJ, NO_ID, 5), (MASK, NO_ID, 5), (OTHER, NO_ID, 0)
    )
    # A mask narrower than its entries (chmod g-rwx after setfacl) must not be widened for them.
    narrowed = _acl(
        (USER_OBJ, NO_ID, 7), (USER, 1000, 7), (GROUP_OBJ, NO_ID, 5), (GROUP, 4, 6), (MASK, NO_ID, 4), (OTHER, NO_ID, 0)
    )
    granted = _with_traverse_entry(narrowed, 999)
    mask = next(e.perm for e in granted if e.tag == MASK)
    effective_rights = {(e.tag, e.id): e.perm & mask if e.tag in GROUP_CLASS else e.perm for e in granted}
    assert effective_rights == {
        (USER_OBJ, NO_ID): 7,
        (USER, 999): 1,
        (USER, 1000): 4,
        (GROUP_OBJ, NO_ID): 4,
        (GROUP, 4): 4,
        (MASK, NO_ID): 5,
        (OTHER, NO_ID): 0,
    }
    # An entry for the user already there is updated, not duplicated.
    again = _with_traverse_entry(granted, 999)
    assert again == granted
    assert [e for e in again if e.tag == USER and e.id == 999] == [_AclEntry(USER, 999, 1)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"database": "Robert'); DROP"}, "invalid database"),
        ({"user": "pg_monitor"}, "invalid user"),
        ({"extra_settings": {"listen_addresses": "*"}}, "fixed"),
        ({"extra_settings": {"unix_socket_permissions": "0777"}}, "fixed"),
        ({"extra_settings": {"work_mem": "4MB\nlisten_addresses='*'"}}, "invalid value"),
    ],
)
def test_settings_that_would_weaken_it_are_refused(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EmbeddedPostgres(tmp_path / "pg", **kwargs)  # type: ignore[arg-type]


def test_an_unused_root_is_not_running_and_stop_creates_nothing(tmp_path: Path, system_dir: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "never" / "postgres", system_dir=system_dir)
    assert not pg.is_running()
    pg.stop()
    assert not (tmp_path / "never").exists()
    with pytest.raises(EmbeddedPostgresError, match="not running"):
        _ = pg.url


# ------------------------------------------------------------------------------------------------ 1. it works
def test_the_url_reaches_the_database_with_pgvector(pg: EmbeddedPostgres) -> None:
    url = make_url(pg.url)
    assert url.drivername == "postgresql+asyncpg"
    assert (url.username, url.password, url.database) == (pg.user, pg.password, pg.database)
    assert url.query["host"] == str(pg.socket_dir)

    assert sql(pg.url, "SELECT 1") == [(1,)]
    [(version,)] = sql(pg.url, "SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    assert isinstance(version, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    rows = sql(
        pg.url,
        "CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))",
        "CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)",
        "INSERT INTO items VALUES (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[0,0,1]')",
        "SELECT id FROM items ORDER BY embedding <-> '[0.1,0.9,0]' LIMIT 1",
    )
    assert rows == [(2,)]
    sql(pg.url, "DROP TABLE items")


# ------------------------------------------------------------------------------------------------ 2. passwords
def test_a_password_is_required(pg: EmbeddedPostgres) -> None:
    assert psql(pg, password=pg.password).stdout.strip() == "1"  # the control: the same call with it works

    wrong = psql(pg, password="not-" + pg.password)
    assert wrong.returncode != 0
    assert "password authentication failed" in wrong.stderr
    missing = psql(pg, password=None)
    assert missing.returncode != 0
    assert "no password supplied" in missing.stderr
    other_role = psql(pg, password=pg.password, user="postgres")
    assert other_role.returncode != 0

    async def connect_with_wrong_password() -> None:
        await asyncpg.connect(host=str(pg.socket_dir), user=pg.user, password="wrong", database=pg.database)

    with pytest.raises(asyncpg.InvalidPasswordError):
        asyncio.run(connect_with_wrong_password())


def test_every_hba_rule_demands_scram(pg: EmbeddedPostgres) -> None:
    hba = (pg.data_dir / "pg_hba.conf").read_text()
    rules = [line.split() for line in hba.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert rules
    assert all(rule[-1] == "scram-sha-256" for rule in rules)
    assert "trust" not in hba
    [(method,)] = sql(pg.url, "SELECT DISTINCT auth_method FROM pg_hba_file_rules")
    assert method == "scram-sha-256"


def test_the_password_is_long_random_and_private(pg: EmbeddedPostgres) -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", pg.password)  # 32 random bytes, url-safe
    st = pg.password_file.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()
    assert pg.password not in pg.log_file.read_text()


# ------------------------------------------------------------------------------------------------ 3. no TCP
def test_there_is_no_tcp_listener(pg: EmbeddedPostgres) -> None:
    assert sql(pg.url, "SHOW listen_addresses") == [("",)]
    ours = {process.pid for process in cluster_processes(pg)}
    for process in cluster_processes(pg):
        with contextlib.suppress(psutil.NoSuchProcess):  # a backend of a closed session may just be leaving
            assert process.net_connections(kind="inet") == []
    assert not {conn.pid for conn in psutil.net_connections(kind="inet")} & ours

    for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            result = probe.connect_ex((address, PORT))
        if result == 0:  # some other server owns the port; it must not be ours
            owners = {c.pid for c in psutil.net_connections(kind="inet") if c.laddr and c.laddr.port == PORT}
            assert not owners & ours
        else:
            assert result in {errno.ECONNREFUSED, errno.EADDRNOTAVAIL, errno.ENETUNREACH}


# ------------------------------------------------------------------------------------------------ 4. permissions
def test_files_and_directories_are_private(pg: EmbeddedPostgres) -> None:
    db_uid = psutil.Process(postmaster(pg).pid).uids().real
    assert pg.data_dir == pg.root / "pgdata"
    assert pg.socket_dir == pg.root / "run"
    root_st = pg.root.stat()
    assert root_st.st_uid == os.geteuid()
    assert stat.S_IMODE(root_st.st_mode) == (0o710 if IS_ROOT else 0o700)
    for directory in (pg.data_dir, pg.socket_dir):
        st = directory.stat()
        assert stat.S_IMODE(st.st_mode) == 0o700, directory
        assert st.st_uid == db_uid, directory
    assert stat.S_IMODE((pg.socket_dir / f".s.PGSQL.{PORT}").stat().st_mode) == 0o700
    for file in (pg.password_file, pg.log_file, pg.root / "supervisor.lock", pg.root / "owner.lock"):
        st = file.stat()
        assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o600, os.geteuid()), file

    for dirpath, dirnames, filenames in os.walk(pg.root):
        for name in [".", *dirnames, *filenames]:
            path = Path(dirpath, name)
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                continue
            assert not st.st_mode & 0o022, f"{path} is writable by group or others"
            assert not st.st_mode & 0o007, f"{path} is open to others"
            assert read_acl(path) is None, f"{path} has an ACL"


def test_parents_keep_their_owner_and_everyones_rights(cluster: Cluster) -> None:
    for path, before in cluster.ancestors_before.items():
        after = DirState.of(path)
        if IS_ROOT:
            assert_only_traverse_granted(before, after)
        else:
            assert after == before, path


@root_only
def test_as_root_the_cluster_lives_under_root_for_techpal_pg_only(pg: EmbeddedPostgres, system_dir: Path) -> None:
    db_user = pwd.getpwnam(DB_SYSTEM_USER)
    root_st = pg.root.stat()
    assert (stat.S_IMODE(root_st.st_mode), root_st.st_uid, root_st.st_gid) == (0o710, 0, db_user.pw_gid)
    for directory in (pg.root / "pgdata", pg.root / "run"):
        st = directory.stat()
        assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o700, db_user.pw_uid), directory
    assert pg.data_dir == pg.root / "pgdata"
    assert pg.socket_dir == pg.root / "run"
    assert os.path.realpath(f"/proc/{postmaster(pg).pid}/cwd") == os.path.realpath(pg.root / "pgdata")
    names = ["owner.lock", "password", "pgdata", "postgres.log", "run", "supervisor.lock"]
    assert sorted(p.name for p in pg.root.iterdir()) == names
    assert [p.name for p in system_dir.iterdir()] == ["dist"]  # nothing of the cluster lives there

    # techpal-pg reaches its data, and can list nothing on the way there, nor read root's files.
    assert as_db_user("ls", str(pg.data_dir)).returncode == 0
    for directory in [pg.root, *pg.root.parents][:-1]:  # "/" is world-readable
        if stat.S_IMODE(directory.stat().st_mode) & 0o004 == 0:
            assert as_db_user("ls", str(directory)).returncode != 0, directory
    assert as_db_user("cat", str(pg.password_file)).returncode != 0


@root_only
def test_as_root_postgres_runs_as_its_own_user_from_a_private_copy(pg: EmbeddedPostgres, system_dir: Path) -> None:
    assert pg.db_system_user == DB_SYSTEM_USER
    processes = cluster_processes(pg)
    assert len(processes) > 3
    assert {process.username() for process in processes} == {DB_SYSTEM_USER}
    assert all(0 not in process.uids() for process in processes)
    db_user = pwd.getpwnam(DB_SYSTEM_USER)
    assert all(set(process.gids()) == {db_user.pw_gid} for process in processes)
    assert Path(postmaster(pg).exe()).is_relative_to(system_dir)  # not the (unreachable) virtualenv

    st = system_dir.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid) == (0o710, 0)  # traverse only, for group techpal-pg
    for dirpath, dirnames, filenames in os.walk(system_dir / "dist"):
        for name in [".", *dirnames, *filenames]:
            path_st = Path(dirpath, name).lstat()
            if not stat.S_ISLNK(path_st.st_mode):  # root's, read-only for techpal-pg, nothing for others
                assert path_st.st_uid == 0
                assert not path_st.st_mode & 0o027


@dataclass
class Tree:
    """Parents of a root the database user cannot traverse, of several kinds, and one it can."""

    wide: Path  # 0755: traversable already
    closed: Path  # 0700 root:root
    grouped: Path  # 0750 root:root (techpal-pg is not in group root)
    shared: Path  # 0700 with an ACL already (user:nobody:r-x)
    made: Path  # missing: the supervisor makes it
    root: Path

    def existing(self) -> list[Path]:
        return [self.wide, self.closed, self.grouped, self.shared]


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    nobody = pwd.getpwnam("nobody").pw_uid
    wide = tmp_path / "wide"
    shared = wide / "closed" / "grouped" / "shared"
    t = Tree(wide, wide / "closed", wide / "closed" / "grouped", shared, shared / "made", shared / "made" / "postgres")
    for directory, mode in ((t.wide, 0o755), (t.closed, 0o700), (t.grouped, 0o750), (t.shared, 0o700)):
        directory.mkdir()
        os.chown(directory, 0, 0)
        directory.chmod(mode)
    entries = [Entry(USER_OBJ, None, 7), Entry(USER, nobody, 5), Entry(GROUP_OBJ, None, 0), Entry(MASK, None, 5)]
    write_acl(t.shared, [*entries, Entry(OTHER, None, 0)])
    return t


@root_only
def test_as_root_each_closed_parent_gets_one_traverse_only_acl_entry(tree: Tree, system_dir: Path) -> None:
    db_uid = pwd.getpwnam(DB_SYSTEM_USER).pw_uid
    before = {path: DirState.of(path) for path in tree.existing()}
    acl_before = {path: acl_of(path) for path in tree.existing()}
    pg = EmbeddedPostgres(tree.root, extra_settings=FAST, system_dir=system_dir)
    try:
        pg.start()
        assert sql(pg.url, "SELECT 1") == [(1,)]
        ours = Entry(USER, db_uid, TRAVERSE)

        # Traversable already: untouched, no ACL at all.
        assert read_acl(tree.wide) is None
        assert DirState.of(tree.wide) == before[tree.wide]

        for path in (tree.closed, tree.grouped, tree.shared):
            after = acl_of(path)
            new = [entry for entry in after if entry not in acl_before[path] and entry.tag != MASK]
            assert new == [ours], path  # exactly one new entry: user:techpal-pg:--x
            assert [e for e in after if e.tag != MASK and e != ours] == [
                e for e in acl_before[path] if e.tag != MASK
            ], path  # every other entry as it was
            assert_only_traverse_granted(before[path], DirState.of(path))
            assert effective(path)[OUR_ENTRY] == TRAVERSE
            st = path.stat()
            assert (st.st_uid, st.st_gid) == (0, 0)
            assert stat.S_IMODE(st.st_mode) & 0o707 == before[path].mode & 0o707

        assert effective(tree.closed) == {"user::": 7, OUR_ENTRY: 1, "group::": 0, "other::": 0}
        assert stat.S_IMODE(tree.closed.stat().st_mode) == 0o710  # the mask, shown as the group bits
        assert effective(tree.grouped) == {"user::": 7, OUR_ENTRY: 1, "group::": 5, "other::": 0}
        assert effective(tree.shared) == {"user::": 7, "user:nobody:": 5, OUR_ENTRY: 1, "group::": 0, "other::": 0}

        # A parent the supervisor made: 0700 root:root plus the same single entry.
        made = tree.made.stat()
        assert (made.st_uid, made.st_gid, stat.S_IMODE(made.st_mode)) == (0, 0, 0o710)
        assert acl_of(tree.made) == [
            Entry(USER_OBJ, None, 7),
            ours,
            Entry(GROUP_OBJ, None, 0),
            Entry(MASK, None, 1),
            Entry(OTHER, None, 0),
        ]
        assert getfacl(tree.made).endswith(f"user::rwx\nuser:{DB_SYSTEM_USER}:--x\ngroup::---\nmask::--x\nother::---\n")

        # Traverse is all techpal-pg got: it cannot list them.
        for path in (tree.closed, tree.grouped, tree.shared, tree.made):
            listing = as_db_user("ls", str(path))
            assert listing.returncode != 0
            assert "Permission denied" in listing.stderr
    finally:
        pg.destroy()
    assert not tree.root.exists()
    assert read_acl(tree.made) is not None  # destroy removes root only; the grants stay


@root_only
def test_as_root_starting_again_over_granted_parents_adds_nothing(tree: Tree, system_dir: Path) -> None:
    first = EmbeddedPostgres(tree.root, extra_settings=FAST, system_dir=system_dir)
    # A new server process over the same root, and another root under the same parents.
    second = EmbeddedPostgres(tree.root, extra_settings=FAST, system_dir=system_dir)
    sibling = EmbeddedPostgres(tree.made / "sibling", extra_settings=FAST, system_dir=system_dir)
    granted = [tree.closed, tree.grouped, tree.shared, tree.made]
    try:
        first.start()
        blobs = {path: os.getxattr(path, "system.posix_acl_access") for path in granted}
        first.stop()
        second.start()
        sibling.start()
        assert sql(second.url, "SELECT 1") == sql(sibling.url, "SELECT 1") == [(1,)]
        assert {path: os.getxattr(path, "system.posix_acl_access") for path in granted} == blobs
        assert read_acl(tree.wide) is None

        # chmod on a directory with an ACL sets its mask (pytest does this to /tmp/pytest-of-root): our entry is
        # masked off, and the next start has to restore the mask, not add a second entry.
        second.stop()
        tree.closed.chmod(0o700)
        assert effective(tree.closed)[OUR_ENTRY] == 0
        second.start()
        assert sql(second.url, "SELECT 1") == [(1,)]
        assert os.getxattr(tree.closed, "system.posix_acl_access") == blobs[tree.closed]
        for path in granted:
            assert [e.id for e in acl_of(path) if e.tag == USER].count(pwd.getpwnam(DB_SYSTEM_USER).pw_uid) == 1
    finally:
        sibling.destroy()
        second.stop()
        first.destroy()


@root_only
def test_as_root_a_filesystem_without_acls_is_an_error_not_a_chmod(
    tree: Tree, system_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_acls(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

    before = ancestor_states(tree.root)
    monkeypatch.setattr(os, "setxattr", no_acls)
    pg = EmbeddedPostgres(tree.root, extra_settings=FAST, system_dir=system_dir)
    try:
        with pytest.raises(
            EmbeddedPostgresError, match=r"(?s)no POSIX ACLs.*TECHPAL_DATA_DIR.*every user can traverse"
        ):
            pg.start()
        assert not pg.is_running()
        assert {path: DirState.of(path) for path in before} == before
    finally:
        monkeypatch.undo()
        pg.destroy()


# ------------------------------------------------------------------------------------------------ 5. restarts
def test_a_restart_keeps_the_data_and_the_password(pg: EmbeddedPostgres) -> None:
    password = pg.password
    sql(pg.url, "CREATE TABLE kept (note text)", "INSERT INTO kept VALUES ('still here')")
    pg.stop()
    assert not pg.is_running()
    pg.stop()  # idempotent
    pg.start()
    assert pg.password == password
    assert sql(pg.url, "SELECT note FROM kept") == [("still here",)]
    sql(pg.url, "DROP TABLE kept")


def test_a_stale_pid_file_does_not_block_start(pg: EmbeddedPostgres) -> None:
    pg.stop()
    fake_pid_file(pg, dead_pid())
    pg.start()
    assert sql(pg.url, "SELECT 1") == [(1,)]


def test_a_pid_file_naming_an_unrelated_live_process_does_not_block_start_or_kill_it(pg: EmbeddedPostgres) -> None:
    pg.stop()
    with subprocess.Popen(["sleep", "60"]) as bystander:
        try:
            fake_pid_file(pg, bystander.pid)
            pg.start()
            assert sql(pg.url, "SELECT 1") == [(1,)]
            pg.stop()
            assert bystander.poll() is None
        finally:
            bystander.kill()


# ------------------------------------------------------------------------------------------------ 6, 7. more
def test_two_roots_run_side_by_side(pg: EmbeddedPostgres, tmp_path: Path, system_dir: Path) -> None:
    other = EmbeddedPostgres(tmp_path / "other", extra_settings=FAST, system_dir=system_dir)
    try:
        with other:
            assert pg.is_running()
            assert other.is_running()
            assert other.socket_dir != pg.socket_dir
            assert other.data_dir != pg.data_dir
            assert other.password != pg.password
            sql(other.url, "CREATE TABLE only_here (id int)")
            assert sql(pg.url, "SELECT to_regclass('only_here') IS NULL") == [(True,)]
            assert sql(other.url, "SELECT to_regclass('only_here') IS NULL") == [(False,)]
        assert not other.is_running()
        assert pg.is_running()
    finally:
        other.destroy()
    assert not other.root.exists()


def test_a_very_long_root_path_still_starts(tmp_path: Path, system_dir: Path) -> None:
    root = tmp_path.joinpath(*["a-rather-long-directory-name-" + str(i) for i in range(6)], "postgres")
    assert len(str(root)) > 200
    long_pg = EmbeddedPostgres(root, extra_settings=FAST, system_dir=system_dir)
    try:
        long_pg.start()
        assert long_pg.data_dir == root / "pgdata"
        assert not _socket_dir_usable(root / "run")
        socket_dir = long_pg.socket_dir
        assert socket_dir != root / "run"
        assert len(os.fsencode(socket_dir / f".s.PGSQL.{PORT}")) <= 107
        assert stat.S_IMODE(socket_dir.stat().st_mode) == 0o700
        assert socket_dir.stat().st_uid == postmaster(long_pg).uids().real
        assert sql(long_pg.url, "SELECT 1") == [(1,)]
        long_pg.stop()
        assert not socket_dir.exists()  # the per-run socket dir is removed
    finally:
        long_pg.destroy()


def test_a_failed_start_says_why_and_leaves_nothing_running(tmp_path: Path, system_dir: Path) -> None:
    broken = EmbeddedPostgres(
        tmp_path / "broken", extra_settings={**FAST, "shared_buffers": "lots"}, system_dir=system_dir
    )
    try:
        with pytest.raises(EmbeddedPostgresError, match=r"(?s)did not start.*shared_buffers"):
            broken.start()
        assert not broken.is_running()
        assert not (broken.data_dir / "postmaster.pid").exists()
    finally:
        broken.destroy()


def test_destroy_removes_the_cluster_with_its_root(tmp_path: Path, system_dir: Path) -> None:
    doomed = EmbeddedPostgres(tmp_path / "doomed" / "postgres", extra_settings=FAST, system_dir=system_dir)
    doomed.start()
    processes = cluster_processes(doomed)
    doomed.destroy()
    assert not doomed.root.exists()
    assert (tmp_path / "doomed").is_dir()  # its parent stays
    assert all(gone(process) for process in processes)
    if IS_ROOT:
        assert [p.name for p in system_dir.iterdir()] == ["dist"]


# ------------------------------------------------------------------------------------------------ 8. stop
def test_stop_is_quick_and_leaves_no_process(pg: EmbeddedPostgres) -> None:
    processes = cluster_processes(pg)

    async def hold_a_session() -> None:
        connection = await asyncpg.connect(pg.url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await connection.execute("BEGIN; CREATE TABLE held (id int)")
            started = time.monotonic()
            await asyncio.to_thread(pg.stop)
            assert time.monotonic() - started < 30
        finally:
            connection.terminate()

    asyncio.run(hold_a_session())
    assert not pg.is_running()
    assert all(gone(process) for process in processes)
    assert not (pg.data_dir / "postmaster.pid").exists()
    assert not list((pg.root / "run").iterdir())
