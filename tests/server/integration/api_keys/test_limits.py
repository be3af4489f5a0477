"""Rate limits clients can see: per key a minute, in IETF ``RateLimit`` headers, shared by every server process."""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.app import create_app
from tests.server.integration.api_keys.conftest import key_header

if TYPE_CHECKING:
    from server.context import Models
    from server.settings import Settings
    from tests.fixtures.auth import TestUser
    from tests.fixtures.tickets import TicketFactory
    from tests.server.integration.api_keys.conftest import KeyFactory

Client = AsyncTestClient[Litestar]
PER_MINUTE = 4
# draft-ietf-httpapi-ratelimit-headers: a list of named policies (quota q per window w seconds) and their state
# (remaining r, seconds to reset t).
POLICY_ITEM = re.compile(r'"(?P<name>\w+)";q=(?P<q>\d+);w=(?P<w>\d+)')
STATE_ITEM = re.compile(r'"(?P<name>\w+)";r=(?P<r>\d+);t=(?P<t>\d+)')


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A small per-key limit, so a test reaches it in a few requests."""
    return settings.replace(auth=dataclasses.replace(settings.auth, api_key_requests_per_minute=PER_MINUTE))


def limits(response_headers: object) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """``RateLimit-Policy`` as {name: (quota, window)} and ``RateLimit`` as {name: (remaining, reset)}."""
    headers = response_headers  # httpx.Headers
    policy = {m["name"]: (int(m["q"]), int(m["w"])) for m in POLICY_ITEM.finditer(headers.get("ratelimit-policy", ""))}  # type: ignore[attr-defined]
    state = {m["name"]: (int(m["r"]), int(m["t"])) for m in STATE_ITEM.finditer(headers.get("ratelimit", ""))}  # type: ignore[attr-defined]
    return policy, state


async def test_each_key_request_shows_its_limit_and_the_one_past_it_is_refused(
    client: Client, signed_in_user: TestUser, make_key: KeyFactory
) -> None:
    headers = key_header(await make_key(signed_in_user, scopes=["tickets:read"]))
    remaining = []
    for _ in range(PER_MINUTE):
        response = await client.get("/api/v1/tickets", headers=headers)
        assert response.status_code == 200
        policy, state = limits(response.headers)
        assert policy == {"api_key": (PER_MINUTE, 60)}
        assert 0 < state["api_key"][1] <= 60
        remaining.append(state["api_key"][0])
    assert remaining == [3, 2, 1, 0]

    refused = await client.get("/api/v1/tickets", headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")
    retry_after = int(refused.headers["retry-after"])
    assert 0 < retry_after <= 60
    policy, state = limits(refused.headers)
    assert policy == {"api_key": (PER_MINUTE, 60)}
    assert state["api_key"][0] == 0
    # The same account with its session is not held back by its key's limit, nor is another key.
    assert (await client.get("/api/v1/tickets", headers=signed_in_user.headers)).status_code == 200
    other = key_header(await make_key(signed_in_user, scopes=["tickets:read"]))
    assert (await client.get("/api/v1/tickets", headers=other)).status_code == 200


async def test_a_limited_route_shows_every_limit_that_applies(
    client: Client, settings: Settings, signed_in_user: TestUser, make_key: KeyFactory
) -> None:
    headers = key_header(await make_key(signed_in_user, scopes=["tickets:write"]))
    created = await client.post("/api/v1/tickets", files={"description": (None, "Outlook freezes")}, headers=headers)
    assert created.status_code == 201, created.text
    policy, state = limits(created.headers)
    assert policy == {"api_key": (PER_MINUTE, 60), "tickets": (settings.tickets.per_hour, 3600)}
    assert state["tickets"][0] == settings.tickets.per_hour - 1

    # With a session the hourly limit is still shown; the key's is not (no key was used).
    by_session = await client.post(
        "/api/v1/tickets", files={"description": (None, "Teams echo")}, headers=signed_in_user.headers
    )
    policy, state = limits(by_session.headers)
    assert policy == {"tickets": (settings.tickets.per_hour, 3600)}
    assert state["tickets"][0] == settings.tickets.per_hour - 2
    # A route without a limit says nothing about limits.
    me = await client.get("/api/v1/me", headers=signed_in_user.headers)
    assert "ratelimit" not in me.headers
    assert "ratelimit-policy" not in me.headers


async def test_the_limit_holds_across_server_processes(
    client: Client, settings: Settings, models: Models, signed_in_user: TestUser, make_key: KeyFactory
) -> None:
    headers = key_header(await make_key(signed_in_user, scopes=["tickets:read"]))
    async with AsyncTestClient(app=create_app(settings, models=models), base_url="http://127.0.0.1:8000") as second:
        statuses = [
            (await (client if n % 2 else second).get("/api/v1/tickets", headers=headers)).status_code
            for n in range(PER_MINUTE + 2)
        ]
    assert statuses == [200] * PER_MINUTE + [429, 429]


async def test_a_key_without_the_scope_still_counts(
    client: Client, signed_in_user: TestUser, make_key: KeyFactory, ticket_factory: TicketFactory
) -> None:
    headers = key_header(await make_key(signed_in_user, scopes=["kb:read"]))
    for _ in range(PER_MINUTE):
        response = await client.get("/api/v1/tickets", headers=headers)
        assert response.status_code == 403
    assert (await client.get("/api/v1/tickets", headers=headers)).status_code == 429


async def test_refused_requests_are_in_the_usage_log_too(
    client: Client, signed_in_user: TestUser, make_key: KeyFactory
) -> None:
    created = await make_key(signed_in_user, scopes=["tickets:read", "tickets:write"])
    headers = key_header(created)
    for _ in range(PER_MINUTE):
        assert (await client.get("/api/v1/tickets", headers=headers)).status_code == 200
    assert (await client.get("/api/v1/tickets", headers=headers)).status_code == 429
    refused = await client.post("/api/v1/tickets", files={"description": (None, "Wi-Fi drops")}, headers=headers)
    assert refused.status_code == 429

    usage = (await client.get(f"/api/v1/me/api-keys/{created['id']}/usage", headers=signed_in_user.headers)).json()
    daily = {(d["method"], d["route"], d["status"]): d["count"] for d in usage["daily"]}
    assert daily == {
        ("GET", "/api/v1/tickets", 200): PER_MINUTE,
        ("GET", "/api/v1/tickets", 429): 1,
        ("POST", "/api/v1/tickets", 429): 1,
    }
