"""Per-user hourly limits: one account cannot flood the screenshot workers or the model's budget."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING

import httpx
import pytest

from server.settings import Settings, TicketSettings
from tests.fixtures.db import connect
from tests.fixtures.server import serve
from tests.fixtures.tickets import create_ticket

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import UserFactory


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(tickets=TicketSettings(per_hour=2, answers_per_hour=1))


async def test_creating_past_the_hourly_limit_is_refused_and_stores_nothing(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, db_url: str
) -> None:
    user, other = await user_factory(), await user_factory()
    for n in range(2):
        await create_ticket(client, user, description=f"Problem {n}")

    refused = await create_ticket(client, user, description="One too many", expect=None)
    others = await create_ticket(client, other, description="My own first problem", expect=None)

    assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")
    assert int(refused.headers["retry-after"]) > 0
    assert others.status_code == 201  # limits are per user
    connection = await connect(db_url)
    try:
        assert await connection.fetchval("SELECT count(*) FROM tickets WHERE description = 'One too many'") == 0
    finally:
        await connection.close()


async def test_a_refused_create_still_counts_and_a_small_form_is_read_before_the_limit_refuses(
    client: AsyncTestClient[Litestar], user_factory: UserFactory
) -> None:
    user = await user_factory()
    # A create refused for its form (an unknown priority) was still attempted: it counts.
    invalid = await create_ticket(client, user, description="Bad priority", priority="whenever", expect=422)
    await create_ticket(client, user, description="Problem")
    # Over the limit, a small form is refused by the limit, not by what it contains.
    refused = await create_ticket(client, user, description="", expect=None)
    assert invalid.json()["code"] == "validation_error"
    assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")


async def test_asking_for_answers_past_the_hourly_limit_is_refused_before_any_stream(
    client: AsyncTestClient[Litestar], user_factory: UserFactory
) -> None:
    user = await user_factory()
    first, second = [(await create_ticket(client, user, description=f"Issue {n}")).json()["id"] for n in range(2)]

    answered = await client.post(f"/api/v1/tickets/{first}/resolve", headers=user.headers)
    refused = await client.post(f"/api/v1/tickets/{second}/resolve", headers=user.headers)

    assert answered.status_code == 200
    assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")
    assert (await client.get(f"/api/v1/tickets/{second}", headers=user.headers)).json()["messages"] == []


@pytest.fixture
def one_connection_settings(settings: Settings) -> Settings:
    return settings.replace(db=dataclasses.replace(settings.db, pool_size=1))


async def test_counting_never_waits_for_a_second_pooled_connection(
    one_connection_settings: Settings, user_factory: UserFactory
) -> None:
    """Each request gives its sign-in connection back before the limit takes one: no pool starvation under load."""
    users = [await user_factory() for _ in range(6)]
    with serve(one_connection_settings) as server:  # 1 pooled connection + 1 overflow, real concurrent requests
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            created = await asyncio.wait_for(
                asyncio.gather(
                    *(
                        http.post("/api/v1/tickets", files={"description": (None, "Busy")}, headers=user.headers)
                        for user in users
                    )
                ),
                timeout=25,
            )
            answers = await asyncio.wait_for(
                asyncio.gather(
                    *(
                        http.post(f"/api/v1/tickets/{r.json()['id']}/resolve", headers=user.headers)
                        for r, user in zip(created, users, strict=True)
                    )
                ),
                timeout=25,
            )
    assert [r.status_code for r in created] == [201] * 6
    assert [r.status_code for r in answers] == [200] * 6
