"""Sessions end on their own (absolute lifetime, at most 20), an admin can end them all, and nothing is cached."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
from typing import TYPE_CHECKING, Any

import httpx

from tests.fixtures.auth import auth_header
from tests.fixtures.db import connect, fetch_rows
from tests.fixtures.images import png_bytes
from tests.fixtures.mail import SmtpCapture, link_token
from tests.fixtures.server import serve
from tests.fixtures.tickets import create_ticket

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.context import Models
    from server.settings import Settings
    from tests.fixtures.auth import TestUser, UserFactory
    from tests.fixtures.server import LiveServer


async def sign_in(client: AsyncTestClient[Litestar], user: TestUser) -> Any:
    """A fresh login's token pair."""
    response = await client.post("/api/v1/auth/login", json={"login": user.email, "password": user.password})
    assert response.status_code == 200
    return response.json()


async def test_a_sign_in_ends_after_its_absolute_lifetime(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, db_url: str
) -> None:
    fresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": signed_in_user.refresh_token})
    assert fresh.status_code == 200  # refreshing keeps a young session going
    await fetch_rows(db_url, "UPDATE user_sessions SET created_at = now() - interval '90 days 1 minute'")

    stale = await client.post("/api/v1/auth/refresh", json={"refresh_token": fresh.json()["refresh_token"]})

    assert (stale.status_code, stale.json()["code"]) == (401, "invalid_refresh_token")


async def test_at_most_20_live_sessions_the_oldest_ends(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser
) -> None:
    first = signed_in_user.access_token
    pairs = [await sign_in(client, signed_in_user) for _ in range(20)]

    sessions = (await client.get("/api/v1/auth/sessions", headers=auth_header(pairs[-1]["access_token"]))).json()
    assert len(sessions) == 20
    assert (await client.get("/api/v1/me", headers=auth_header(first))).json()["code"] == "session_revoked"
    assert (await client.get("/api/v1/me", headers=auth_header(pairs[0]["access_token"]))).status_code == 200


async def test_an_admin_ends_every_session_of_an_account(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, db_url: str
) -> None:
    admin, target = await user_factory(), await user_factory()
    await fetch_rows(db_url, "UPDATE users SET role = 'admin' WHERE email = $1", admin.email)
    other_device = await sign_in(client, target)
    path = f"/api/v1/admin/users/{target.id}/sessions"

    refused = await client.delete(path, headers=target.headers)
    ended = await client.delete(path, headers=admin.headers)

    assert (refused.status_code, refused.json()["code"]) == (403, "role_required")
    assert ended.status_code == 204
    for token in (target.access_token, other_device["access_token"]):
        assert (await client.get("/api/v1/me", headers=auth_header(token))).status_code == 401
    assert (await client.get("/api/v1/me", headers=admin.headers)).status_code == 200


async def test_nothing_with_a_token_or_personal_data_may_be_cached(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser
) -> None:
    ticket = (await create_ticket(client, signed_in_user, screenshots=[png_bytes(120, 80)])).json()
    login = await client.post(
        "/api/v1/auth/login", json={"login": signed_in_user.email, "password": signed_in_user.password}
    )
    responses = [
        login,
        await client.post("/api/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}),
        await client.get("/api/v1/me", headers=signed_in_user.headers),
        await client.get("/api/v1/tickets", headers=signed_in_user.headers),
        await client.get(f"/api/v1/tickets/{ticket['id']}", headers=signed_in_user.headers),
        await client.get(f"/api/v1/tickets/{ticket['id']}/screenshots/0", headers=signed_in_user.headers),
        await client.get("/api/v1/me"),  # errors too
    ]

    assert [r.headers.get("cache-control") for r in responses] == ["no-store"] * len(responses)


async def test_a_reset_is_answered_before_any_account_work(
    live_server: LiveServer, signed_in_user: TestUser, db_url: str, smtp_server: SmtpCapture
) -> None:
    """Known and unknown addresses are answered alike: whatever the account work costs happens after the answer."""
    before = len(smtp_server.messages())
    blocker = await connect(db_url)
    try:
        async with blocker.transaction():
            await blocker.execute("LOCK TABLE email_tokens IN ACCESS EXCLUSIVE MODE")  # account work would wait
            async with httpx.AsyncClient(base_url=live_server.url, timeout=5) as http:
                for email in (signed_in_user.email, "nobody@example.com"):
                    response = await http.post("/api/v1/auth/password-reset", json={"email": email})
                    assert response.status_code == 202
            await asyncio.sleep(0.3)
            assert len(smtp_server.messages()) == before  # the mail waits for the lock; the answers did not
        [mail] = await smtp_server.wait_for(before + 1)
    finally:
        await blocker.close()
    assert mail["To"] == signed_in_user.email
    assert link_token(mail, "reset-password")


async def test_hsts_is_sent_when_a_trusted_proxy_says_the_client_used_https(settings: Settings, models: Models) -> None:
    proxies = (ipaddress.ip_network("127.0.0.1/32"),)
    trusting = settings.replace(server=dataclasses.replace(settings.server, trusted_proxies=proxies))
    headers = {"X-Forwarded-Proto": "https"}
    with serve(trusting, models) as behind_proxy, serve(settings, models) as direct:
        async with httpx.AsyncClient(timeout=10) as http:
            trusted = await http.get(f"{behind_proxy.url}/health", headers=headers)
            forged = await http.get(f"{direct.url}/health", headers=headers)
            plain = await http.get(f"{behind_proxy.url}/health")

    assert trusted.headers["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" not in forged.headers  # a client cannot claim HTTPS itself
    assert "strict-transport-security" not in plain.headers
