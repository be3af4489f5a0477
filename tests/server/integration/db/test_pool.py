"""Pooled connections are pinged only after sitting idle: a dead idle one is replaced unseen, a fresh one is trusted."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.db.pool import ping_when_idle
from tests.fixtures.db import connect

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest.fixture
async def one_connection(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of the server's pool settings with one connection, so every checkout reuses it."""
    engine = create_async_engine(db_url, pool_size=1, max_overflow=0, pool_pre_ping=False, pool_use_lifo=True)
    yield engine
    await engine.dispose()


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def kill_backend(url: str, pid: int) -> None:
    """End ``pid`` as a database restart or an idle timeout would, and wait until it is gone."""
    admin = await connect(url)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)  # waits up to 5 s for the exit
    finally:
        await admin.close()


async def test_a_dead_connection_that_sat_idle_is_replaced_before_anyone_uses_it(
    one_connection: AsyncEngine, db_url: str
) -> None:
    now = [0.0]
    ping_when_idle(one_connection, idle_seconds=1, clock=lambda: now[0])
    first = await backend_pid(one_connection)
    await kill_backend(db_url, first)
    now[0] += 1.5  # the connection has sat idle past the window

    assert await backend_pid(one_connection) != first  # no error: the ping found it dead


async def test_a_connection_used_moments_ago_is_trusted_without_a_round_trip(
    one_connection: AsyncEngine, db_url: str
) -> None:
    # The trade-off, shown: within the window a connection that died is not pinged, so one use fails ...
    ping_when_idle(one_connection, idle_seconds=60)
    first = await backend_pid(one_connection)
    await kill_backend(db_url, first)

    with pytest.raises(DBAPIError) as failure:
        await backend_pid(one_connection)
    assert failure.value.connection_invalidated

    # ... and the pool is renewed at once: the next one works.
    assert await backend_pid(one_connection) != first
