"""Two ``techpal-server run`` processes and one ``techpal-server worker`` on one PostgreSQL and one S3 bucket.

The web processes run no job worker of their own, so the worker process is the one that reads the screenshot a
ticket created through A carries; B serves it and answers it, a client listening on B hears an agent's reply sent
through A, and the hourly limit counts the creates of both.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import httpx
import pytest

from server.domain.accounts.cli import change_role
from tests.fixtures.auth import create_user
from tests.fixtures.db import fetch_value
from tests.fixtures.images import png_bytes
from tests.fixtures.mail import OutboxReader
from tests.fixtures.server import TEST_SECRET_KEY, start_server_process, start_worker_process
from tests.fixtures.tickets import events_of

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.fixtures.s3 import S3Bucket
    from tests.fixtures.server import ServerProcess

TICKETS_PER_HOUR = 4


@pytest.fixture
def two_servers(db_url: str, tmp_path: Path, s3_bucket: S3Bucket) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Servers A and B and a worker: one database, secret key and bucket; each its own data dir (mail: A's outbox)."""
    shared = {
        "TECHPAL_INPROCESS_WORKER": "false",
        "TECHPAL_DATABASE_URL": db_url.replace("+asyncpg", ""),
        "TECHPAL_SECRET_KEY": TEST_SECRET_KEY,
        "TECHPAL_BLOB_URL": s3_bucket.url,
        "TECHPAL_S3_ENDPOINT_URL": s3_bucket.endpoint,
        "TECHPAL_TICKETS_PER_HOUR": str(TICKETS_PER_HOUR),
        "TECHPAL_LOG_LEVEL": "warning",
    }
    with contextlib.ExitStack() as running:
        first = start_server_process(tmp_path / "a", **shared)
        running.callback(first.stop)
        second = start_server_process(tmp_path / "b", **shared)
        running.callback(second.stop)
        worker = start_worker_process(tmp_path / "w", **shared)
        running.callback(worker.stop)
        yield first, second


@pytest.mark.slow
async def test_two_server_processes_share_tickets_screenshots_events_and_limits(
    two_servers: tuple[ServerProcess, ServerProcess], db_url: str, tmp_path: Path
) -> None:
    server_a, server_b = two_servers
    outbox = OutboxReader(tmp_path / "a" / "outbox")
    async with (
        httpx.AsyncClient(base_url=server_a.url, timeout=30) as a,
        httpx.AsyncClient(base_url=server_b.url, timeout=30) as b,
    ):
        owner, agent = await create_user(a, outbox), await create_user(a, outbox)
        await change_role(db_url, agent.email, "agent", grant=True)
        shot = png_bytes(800, 500)
        files = {"description": (None, "Teams crashes on start"), "screenshots": ("shot.png", shot, "image/png")}
        created = await a.post("/api/v1/tickets", files=files, headers=owner.headers)
        assert created.status_code == 201, created.text
        ticket = created.json()

        # Stored by A in the bucket, read by the worker (B waits for it), served by B.
        served = await b.get(ticket["screenshots"][0]["url"], headers=owner.headers)
        assert served.status_code == 200, served.text
        assert served.content[:8] == b"\x89PNG\r\n\x1a\n"
        read = "SELECT count(*) FROM ticket_screenshots WHERE processed_at IS NOT NULL AND model_blob_key IS NOT NULL"
        assert await fetch_value(db_url, read) == 1
        answered = await b.post(f"/api/v1/tickets/{ticket['id']}/resolve", headers=owner.headers)
        assert answered.status_code == 200
        assert "event: done" in answered.text

        ready, heard = asyncio.Event(), []

        async def listen_on_b() -> None:
            async with b.stream("GET", "/api/v1/events", headers=owner.headers) as response:
                async for event in events_of(response):
                    if event[0] == "ready":
                        ready.set()
                    elif event[0] == "message":
                        heard.append(event[1])
                        return

        listener = asyncio.create_task(listen_on_b())
        await asyncio.wait_for(ready.wait(), timeout=15)
        reply = await a.post(
            f"/api/v1/agent/tickets/{ticket['id']}/reply",
            json={"content": "Clear the Teams cache."},
            headers=agent.headers,
        )
        assert reply.status_code == 201, reply.text
        await asyncio.wait_for(listener, timeout=15)
        assert heard[0]["preview"] == "Clear the Teams cache."

        statuses = []
        for client in (b, a, b, a):  # one create so far; the limit counts every process's creates
            more = await client.post(
                "/api/v1/tickets", files={"description": (None, "VPN drops")}, headers=owner.headers
            )
            statuses.append(more.status_code)
        assert statuses == [201, 201, 201, 429]
