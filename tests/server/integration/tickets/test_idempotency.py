"""``Idempotency-Key`` on ticket create: retries and concurrent duplicates make one ticket.

A reused key for a different request is refused; keys are per user and live 24 hours.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from server.domain.tickets.idempotency import purge_expired_keys
from tests.fixtures.db import connect
from tests.fixtures.images import png_bytes, webp_bytes
from tests.fixtures.tickets import create_ticket

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser, UserFactory

REPLAYED = "idempotent-replayed"


async def _fetchval(db_url: str, query: str, *args: object) -> object:
    connection = await connect(db_url)
    try:
        return await connection.fetchval(query, *args)
    finally:
        await connection.close()


async def test_retry_returns_the_first_ticket(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, db_url: str
) -> None:
    first = await create_ticket(client, signed_in_user, idempotency_key="retry-1", screenshots=[png_bytes()])
    again = await create_ticket(client, signed_in_user, idempotency_key="retry-1", screenshots=[png_bytes()])

    assert REPLAYED not in first.headers
    assert again.headers[REPLAYED] == "true"
    assert again.status_code == 201
    assert again.json() == first.json()
    assert await _fetchval(db_url, "SELECT count(*) FROM tickets") == 1


async def test_concurrent_identical_requests_make_one_ticket(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, db_url: str
) -> None:
    # Screenshots make both requests spend time in the worker pool, so they reach the database together.
    fields = {"description": "Printer jammed", "screenshots": [png_bytes(), webp_bytes()]}

    responses = await asyncio.gather(
        *(create_ticket(client, signed_in_user, idempotency_key="twins", expect=None, **fields) for _ in range(2))
    )

    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert responses[0].json()["id"] == responses[1].json()["id"]
    assert sorted(r.headers.get(REPLAYED, "") for r in responses) == ["", "true"]
    assert await _fetchval(db_url, "SELECT count(*) FROM tickets") == 1
    assert await _fetchval(db_url, "SELECT count(*) FROM ticket_screenshots") == 2


async def test_concurrent_different_requests_under_one_key(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, db_url: str
) -> None:
    responses = await asyncio.gather(
        create_ticket(client, signed_in_user, idempotency_key="k", expect=None, description="one"),
        create_ticket(client, signed_in_user, idempotency_key="k", expect=None, description="two"),
    )

    assert sorted(r.status_code for r in responses) == [201, 422]
    refused = next(r for r in responses if r.status_code == 422)
    assert refused.json()["code"] == "idempotency_key_reused"
    assert await _fetchval(db_url, "SELECT count(*) FROM tickets") == 1


@pytest.mark.parametrize(
    "change",
    [
        {"description": "something else"},
        {"priority": "urgent"},
        {"device": {"os": "macOS"}},
        {"screenshots": [png_bytes(65, 48)]},  # same name and type, different bytes
        {"screenshots": []},
    ],
    ids=["description", "priority", "device", "file", "no-file"],
)
async def test_same_key_different_request_is_422(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, db_url: str, change: dict[str, object]
) -> None:
    original: dict[str, object] = {"description": "Laptop is slow", "screenshots": [png_bytes()]}
    await create_ticket(client, signed_in_user, idempotency_key="abc", **original)

    response = await create_ticket(client, signed_in_user, idempotency_key="abc", expect=None, **{**original, **change})

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "idempotency_key_reused"
    assert problem["errors"][0]["source"] == "header"
    assert await _fetchval(db_url, "SELECT count(*) FROM tickets") == 1


async def test_multipart_boundary_and_file_name_do_not_count(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser
) -> None:
    # httpx picks a fresh random boundary per request; the file name and declared type differ too.
    first = await create_ticket(
        client, signed_in_user, idempotency_key="b", screenshots=[("a.png", png_bytes(), "image/png")]
    )
    again = await create_ticket(
        client, signed_in_user, idempotency_key="b", screenshots=[("other.bin", png_bytes(), "application/x-foo")]
    )

    assert again.headers[REPLAYED] == "true"
    assert again.json()["id"] == first.json()["id"]


async def test_keys_are_per_user(client: AsyncTestClient[Litestar], user_factory: UserFactory, db_url: str) -> None:
    alice, bob = await user_factory(), await user_factory()

    a = await create_ticket(client, alice, idempotency_key="shared")
    b = await create_ticket(client, bob, idempotency_key="shared")

    assert REPLAYED not in b.headers
    assert a.json()["id"] != b.json()["id"]
    assert await _fetchval(db_url, "SELECT count(*) FROM tickets") == 2


@pytest.mark.parametrize("key", [b"", b"x" * 201, b"tab\there", "é-not-ascii".encode()])
async def test_malformed_key_is_422(client: AsyncTestClient[Litestar], signed_in_user: TestUser, key: bytes) -> None:
    headers: dict[str, str | bytes] = {**signed_in_user.headers, "Idempotency-Key": key}
    response = await client.post("/api/v1/tickets", files=[("description", (None, "hi", None))], headers=headers)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_idempotency_key"


@pytest.mark.parametrize("screenshots", [0, 1], ids=["description only", "with a screenshot"])
async def test_key_expires_after_24_hours(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, db_url: str, screenshots: int
) -> None:
    first = await create_ticket(client, signed_in_user, idempotency_key="old")
    await _fetchval(db_url, "UPDATE idempotency_keys SET created_at = created_at - interval '25 hours'")

    shots = [png_bytes()] * screenshots
    fresh = await create_ticket(
        client, signed_in_user, idempotency_key="old", description="a new problem", screenshots=shots
    )

    assert REPLAYED not in fresh.headers
    assert fresh.json()["id"] != first.json()["id"]
    # The key now names the new ticket, and a retry of the new request replays it.
    again = await create_ticket(
        client, signed_in_user, idempotency_key="old", description="a new problem", screenshots=shots
    )
    assert again.json()["id"] == fresh.json()["id"]


async def test_purge_removes_only_expired_keys(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, db_url: str
) -> None:
    user = await user_factory()
    await create_ticket(client, user, idempotency_key="stale")
    await create_ticket(client, user, idempotency_key="live", description="other")
    await _fetchval(db_url, "UPDATE idempotency_keys SET created_at = now() - interval '2 days' WHERE key = 'stale'")

    engine = create_async_engine(db_url)
    try:
        async with AsyncSession(engine) as session:
            removed = await purge_expired_keys(session)
            await session.commit()
    finally:
        await engine.dispose()

    assert removed == 1
    assert await _fetchval(db_url, "SELECT array_agg(key) FROM idempotency_keys") == ["live"]
    assert await _fetchval(db_url, "SELECT count(*) FROM tickets") == 2  # tickets stay


async def test_without_a_key_every_request_creates(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, db_url: str
) -> None:
    await create_ticket(client, signed_in_user)
    await create_ticket(client, signed_in_user)

    assert await _fetchval(db_url, "SELECT count(*) FROM tickets") == 2
