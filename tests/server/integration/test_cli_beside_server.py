"""``techpal-server`` commands run beside a serving ``techpal-server run`` on the same data dir (embedded database).

They attach to the server's running cluster and leave it running; only the server, which started it, stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from typing import TYPE_CHECKING

import httpx
import psutil
import pytest

from server.db.embedded import EmbeddedPostgres
from tests.fixtures.auth import TestUser, auth_header, create_user
from tests.fixtures.mail import OutboxReader
from tests.fixtures.server import ServerProcess, server_environment, start_server_process, wait_for_health

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``techpal-server ARGS`` in a process of its own, configured like the server."""
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        env=server_environment(data_dir),
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def pgdata(data_dir: Path) -> Path:
    return EmbeddedPostgres(data_dir / "postgres").data_dir


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """Running PostgreSQL processes serving this data dir's cluster."""
    found = []
    for process in psutil.process_iter(["name"]):
        with contextlib.suppress(psutil.Error):
            if "postgres" in (process.info["name"] or "") and process.cwd() == str(pgdata(data_dir)):
                found.append(process)
    return found


def postmaster_pid(data_dir: Path) -> int:
    return int((pgdata(data_dir) / "postmaster.pid").read_text().splitlines()[0])


def sign_up(server: ServerProcess) -> TestUser:
    """A verified, signed-in user made through the server's API (the mail is read from its outbox)."""

    async def create() -> TestUser:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            return await create_user(client, OutboxReader(server.data_dir / "outbox"))

    return asyncio.run(create())


def test_users_grant_beside_a_serving_server_leaves_its_database_running(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_server_process(data_dir)
    try:
        wait_for_health(server.url)
        user = sign_up(server)
        review = f"{server.url}/api/v1/kb/review"
        assert httpx.get(review, headers=auth_header(user.access_token), timeout=10).status_code == 403
        postmaster = postmaster_pid(data_dir)

        # WHEN an operator grants the role from the command line while the server serves
        granted = cli(data_dir, "users", "grant", "agent", user.email)
        assert granted.returncode == 0, granted.stderr
        assert f"{user.email} now has the role 'agent'." in granted.stdout

        # THEN the server still has its database, the same one, and the grant took effect at once
        assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
        me = httpx.get(f"{server.url}/api/v1/me", headers=auth_header(user.access_token), timeout=10)
        assert me.status_code == 200, me.text
        assert me.json()["role"] == "agent"
        assert httpx.get(review, headers=auth_header(user.access_token), timeout=10).status_code == 200
        assert postmaster_pid(data_dir) == postmaster

        # AND so it is after another command that needs the database
        migrated = cli(data_dir, "migrate")
        assert migrated.returncode == 0, migrated.stderr
        assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
        assert postmaster_pid(data_dir) == postmaster

        # AND a second server on the same data dir refuses to start (it would lose its database with the first)
        second = cli(data_dir, "run")
        assert second.returncode == 1
        assert "another Tech Pal server already serves" in second.stderr
        assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
        assert postmaster_pid(data_dir) == postmaster
    finally:
        server.stop()
    # AND stopping the server, which started the cluster, stops it: no PostgreSQL is left running
    assert server.process.returncode == 0
    assert postgres_processes(data_dir) == []
    assert not (pgdata(data_dir) / "postmaster.pid").exists()
    assert "Traceback" not in "".join(server.output)


def test_a_command_without_a_server_starts_the_database_and_stops_it_after(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = cli(data_dir, "users", "grant", "agent", "nobody@example.com")
    assert result.returncode == 2
    assert "no account has the e-mail address 'nobody@example.com'" in result.stderr
    assert (pgdata(data_dir) / "PG_VERSION").is_file()  # it did start (and create) the cluster
    assert postgres_processes(data_dir) == []
    assert not (pgdata(data_dir) / "postmaster.pid").exists()
