"""``techpal-server run`` as users run it: a fresh data dir, the embedded database, signals, TLS, side by side."""

from __future__ import annotations

import contextlib
import json
import signal
import stat
import subprocess
import time
from typing import TYPE_CHECKING

import httpx
import psutil
import pytest

from server.db.embedded import EmbeddedPostgres
from tests.fixtures.server import ServerProcess, start_server_process, wait_for_health

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow


def cluster_dir(data_dir: Path) -> Path:
    """Where the server's embedded cluster keeps PGDATA."""
    return EmbeddedPostgres(data_dir / "postgres").data_dir


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """Running PostgreSQL processes serving this data dir's cluster."""
    pgdata = str(cluster_dir(data_dir))
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.Error):
            if "postgres" in (process.info["name"] or "") and process.cwd() == pgdata:
                found.append(process)
    return found


def postmaster_pid(data_dir: Path) -> int:
    return int((cluster_dir(data_dir) / "postmaster.pid").read_text().splitlines()[0])


def test_fresh_data_dir_reaches_green_health_and_restarts_with_the_same_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    # GIVEN a data dir that does not exist yet
    started = time.monotonic()
    server = start_server_process(data_dir)
    try:
        # WHEN the server has started THEN /health is green within 60 s, database init and migrations included
        health = wait_for_health(server.url, timeout=60)
        cold_start = time.monotonic() - started
        assert health.json()["components"]["database"]["state"] == "ok"
        assert cold_start < 60
        # AND its secrets are private
        key_file = data_dir / "secret_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        # Only we may read or write it; the group-class x bit is the ACL mask of the database user's
        # traverse-only grant when we run as root (see server/db/embedded/).
        assert stat.S_IMODE(data_dir.stat().st_mode) & 0o067 == 0
        key = key_file.read_text()
        assert key not in "".join(server.output)
    finally:
        took = server.stop(signal.SIGTERM)
    # AND SIGTERM stops the server and its database cleanly within 30 s
    assert server.process.returncode is not None
    assert took < 30
    assert postgres_processes(data_dir) == []
    assert "Traceback" not in "".join(server.output)

    # WHEN it starts again on the same data dir THEN the same key is reused (a restart logs no one out)
    again = start_server_process(data_dir)
    try:
        wait_for_health(again.url)
        assert key_file.read_text() == key
    finally:
        assert again.stop(signal.SIGINT) < 30
    assert postgres_processes(data_dir) == []


def access_log_ips(server: ServerProcess) -> list[str]:
    """The client addresses the server logged for its requests (JSON log lines)."""
    lines = [json.loads(line) for line in server.output if line.startswith("{")]
    return [line["client_ip"] for line in lines if line.get("event") == "request"]


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(tmp_path: Path) -> None:
    untrusting = start_server_process(tmp_path / "a")
    trusting = start_server_process(tmp_path / "b", TECHPAL_TRUSTED_PROXIES="127.0.0.1")
    try:
        for server in (untrusting, trusting):
            wait_for_health(server.url)
            httpx.get(f"{server.url}/health", headers={"X-Forwarded-For": "203.0.113.7"}, timeout=5)
    finally:
        untrusting.stop()
        trusting.stop()
    assert access_log_ips(untrusting)[-1] == "127.0.0.1"  # a client cannot pick its own address
    assert access_log_ips(trusting)[-1] == "203.0.113.7"  # our proxy can tell us who connected to it


def test_health_turns_503_when_the_database_dies_and_the_server_keeps_answering(
    server_process: ServerProcess,
) -> None:
    wait_for_health(server_process.url)
    # WHEN the database process disappears
    psutil.Process(postmaster_pid(server_process.data_dir)).kill()
    # THEN health says so (503), quickly, in its usual JSON shape
    response = wait_for_health(server_process.url, timeout=20, expect=503)
    assert response.json()["components"]["database"]["state"] == "down"
    # AND other routes still answer without a 5xx
    assert httpx.get(f"{server_process.url}/schema/openapi.json", timeout=5).status_code == 200


def test_two_instances_run_side_by_side(tmp_path: Path) -> None:
    first = start_server_process(tmp_path / "one")
    second = start_server_process(tmp_path / "two")
    try:
        assert first.url != second.url
        assert wait_for_health(first.url).status_code == 200
        assert wait_for_health(second.url).status_code == 200
    finally:
        first.stop()
        second.stop()


def test_serves_https_directly_with_hsts(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    server = start_server_process(tmp_path / "data", TECHPAL_TLS_CERT=str(cert), TECHPAL_TLS_KEY=str(key))
    try:
        assert server.url.startswith("https://")
        response = wait_for_health(server.url)
        assert response.headers["strict-transport-security"].startswith("max-age=")
        with pytest.raises(httpx.TransportError):
            httpx.get(server.url.replace("https://", "http://") + "/health", timeout=5)
    finally:
        server.stop()
