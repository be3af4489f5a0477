"""``kill -9`` during a burst of ticket creates loses no answered ticket and, with the same keys, duplicates none.

20 clients (one account each, as 20 people) send 1,000 description-only creates, each with its own
``Idempotency-Key``, to a ``techpal-server run`` on an external PostgreSQL; the server is killed outright once 300
have answered. After a restart every ticket that was answered 201 is there exactly once, and sending every request
again with the same keys answers the same tickets and makes the missing ones — never a second ticket for a key.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.fixtures.auth import create_user
from tests.fixtures.db import fetch_rows
from tests.fixtures.mail import OutboxReader
from tests.fixtures.server import TEST_SECRET_KEY, start_server_process

if TYPE_CHECKING:
    from pathlib import Path

    from tests.fixtures.auth import TestUser

CLIENTS = 20
PER_CLIENT = 50  # 1,000 creates in all
KILL_AFTER = 300

Answered = dict[tuple[str, str], str]  # (user id, key) → ticket id


async def burst(url: str, users: list[TestUser], answered: Answered, enough: asyncio.Event) -> None:
    """Each user sends its creates one after another; 201s are recorded; a client stops when the server is gone."""

    async def client(user: TestUser) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            for n in range(PER_CLIENT):
                key = f"burst-{n:03d}"
                headers = {**user.headers, "Idempotency-Key": key}
                try:
                    response = await http.post("/api/v1/tickets", files={"description": (None, key)}, headers=headers)
                except httpx.TransportError:
                    return  # the server is gone: this request and the rest got no answer
                assert response.status_code == 201, response.text
                answered[(user.id, key)] = response.json()["id"]
                if len(answered) >= KILL_AFTER:
                    enough.set()

    await asyncio.gather(*(client(user) for user in users))


@pytest.mark.slow
async def test_a_killed_server_loses_no_answered_ticket_and_retries_duplicate_none(db_url: str, tmp_path: Path) -> None:
    env = {
        "TECHPAL_DATABASE_URL": db_url.replace("+asyncpg", ""),
        "TECHPAL_SECRET_KEY": TEST_SECRET_KEY,
        "TECHPAL_TICKETS_PER_HOUR": "1000000",
        "TECHPAL_REGISTER_LIMIT": "1000",
        "TECHPAL_LOG_LEVEL": "warning",
    }
    server = start_server_process(tmp_path / "data", **env)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        outbox = OutboxReader(tmp_path / "data" / "outbox")
        users = [await create_user(http, outbox) for _ in range(CLIENTS)]
    answered: Answered = {}
    enough = asyncio.Event()
    sending = asyncio.create_task(burst(server.url, users, answered, enough))
    await asyncio.wait_for(enough.wait(), timeout=120)
    server.stop(signal.SIGKILL)
    await sending
    assert KILL_AFTER <= len(answered) < CLIENTS * PER_CLIENT  # killed mid-burst

    restarted = start_server_process(tmp_path / "data", **env)
    try:
        tickets = "SELECT id::text FROM tickets WHERE owner_id = ANY($1::uuid[])"
        owners = [user.id for user in users]
        stored = [row["id"] for row in await fetch_rows(db_url, tickets, owners)]
        assert set(answered.values()) <= set(stored)  # every 201 survived the kill
        assert len(stored) == len(set(stored))

        again: Answered = {}
        await burst(restarted.url, users, again, asyncio.Event())  # every request again, answered or not
        assert len(again) == CLIENTS * PER_CLIENT
        assert {key: again[key] for key in answered} == answered  # replays of the same tickets
        stored = [row["id"] for row in await fetch_rows(db_url, tickets, owners)]
        assert sorted(stored) == sorted(again.values())  # one ticket per key, none twice
    finally:
        restarted.stop()
