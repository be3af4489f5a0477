"""The accounts contract point by point where the controller tests leave it implicit: enumeration, limits, hashes."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import hashlib
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.lib.clock import utcnow
from tests.fixtures.auth import TEST_PASSWORD, TestUser, create_user
from tests.fixtures.db import connect
from tests.fixtures.mail import Mailbox, SmtpCapture, link_token
from tests.fixtures.server import serve

if TYPE_CHECKING:
    from email.message import EmailMessage

    from server.context import AppContext
    from server.lib.mail import Mailer

Client = AsyncTestClient[Litestar]
LOGIN = "/api/v1/auth/login"


async def sql(db_url: str, query: str, *args: Any) -> list[Any]:
    connection = await connect(db_url)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


class Wrapped:
    """The app as seen from the network: ``X-Test-Peer`` picks the client's address; answers are timed."""

    def __init__(self, app: Litestar) -> None:
        self.app = app
        self.answered_after: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            peer = dict(scope["headers"]).get(b"x-test-peer")
            if peer is not None:
                scope = {**scope, "client": (peer.decode(), 40000)}
        started = time.perf_counter()

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.answered_after.append(time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, timed_send)


@pytest.fixture
async def wrapped(app: Litestar) -> Any:
    """(client, wrapper) talking to ``app`` through :class:`Wrapped`."""
    wrapper = Wrapped(app)
    async with AsyncTestClient(app=wrapper, base_url="http://127.0.0.1:8000") as client:
        yield client, wrapper


async def test_a_throttled_account_can_still_sign_in_from_another_address(wrapped: Any, mailbox: Mailbox) -> None:
    client, _ = wrapped
    victim = await create_user(client, mailbox, sign_in=False)
    attacker = {"X-Test-Peer": "198.51.100.66"}
    wrong = {"login": victim.email, "password": "wrong-password-000"}
    for _ in range(10):
        assert (await client.post(LOGIN, json=wrong, headers=attacker)).status_code == 401
    assert (await client.post(LOGIN, json=wrong, headers=attacker)).status_code == 429
    # The owner, on another address, is not locked out by the attacker's failures…
    right = {"login": victim.email, "password": victim.password}
    response = await client.post(LOGIN, json=right, headers={"X-Test-Peer": "203.0.113.77"})
    assert response.status_code == 200, response.text
    # …while the attacker's address stays blocked, even with the right password.
    assert (await client.post(LOGIN, json=right, headers=attacker)).status_code == 429


async def test_refresh_tokens_are_stored_only_as_hashes(signed_in_user: TestUser, db_url: str) -> None:
    rows = await sql(db_url, "SELECT * FROM refresh_tokens")
    assert rows
    dumped = repr([dict(r) for r in rows])
    assert signed_in_user.refresh_token not in dumped
    assert signed_in_user.access_token not in dumped


async def test_password_reset_answers_known_and_unknown_addresses_alike(
    client: Client, signed_in_user: TestUser
) -> None:
    known = await client.post("/api/v1/auth/password-reset", json={"email": signed_in_user.email})
    unknown = await client.post("/api/v1/auth/password-reset", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content

    def visible(headers: httpx.Headers) -> dict[str, str]:
        return {k: v for k, v in headers.items() if k not in {"date", "x-request-id"}}

    assert visible(known.headers) == visible(unknown.headers)


class HeldMailer:
    """A mail server that holds each mail until the test lets it through (the app runs in another thread)."""

    def __init__(self, inner: Mailer) -> None:
        self.inner, self.sender = inner, inner.sender
        self.release = threading.Event()
        self.release.set()

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self.release.wait, 30)
        await self.inner.send(message)


@pytest.mark.parametrize(
    ("path", "subject"), [("/api/v1/auth/password-reset", "reset"), ("/api/v1/auth/verify-email/resend", "confirm")]
)
async def test_mail_requests_answer_before_the_mail_server_is_reached(
    context: AppContext, smtp_server: SmtpCapture, path: str, subject: str
) -> None:
    mailer = HeldMailer(context.mailer)
    with serve(context=dataclasses.replace(context, mailer=mailer)) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            user = await create_user(client, smtp_server, verified=path.endswith("password-reset"), sign_in=False)
            await smtp_server.latest_to(user.email)  # the registration's mail leaves after its answer: let it land
            before = len(smtp_server.messages())
            mailer.release.clear()
            # Both answers arrive while the mail server is held: its latency cannot tell accounts apart.
            for email in (user.email, "nobody@example.com"):
                assert (await client.post(path, json={"email": email})).status_code == 202
            assert smtp_server.messages()[before:] == []
            mailer.release.set()
            # The existing account's mail goes out after the answer; the unknown address gets none.
            (mail,) = await smtp_server.wait_for(before + 1)
    assert mail["To"] == user.email
    assert subject in mail["Subject"].lower()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (LOGIN, {"login": "ada"}),  # missing password
        (LOGIN, {"login": 5, "password": TEST_PASSWORD}),  # wrong type
        (LOGIN, {"login": "ada", "password": TEST_PASSWORD, "device_name": ["x"]}),
        (LOGIN, ["ada", TEST_PASSWORD]),
        ("/api/v1/auth/refresh", {}),
        ("/api/v1/auth/refresh", {"refresh_token": None}),
        ("/api/v1/auth/verify-email", {"token": 123}),
        ("/api/v1/auth/verify-email/resend", {"email": True}),
        ("/api/v1/auth/password-reset", {}),
        ("/api/v1/auth/password-reset", {"email": ["a@example.com"]}),
        ("/api/v1/auth/password-reset/confirm", {"token": "x"}),
        ("/api/v1/auth/password-reset/confirm", {"token": "x", "new_password": 1234567890}),
    ],
)
async def test_malformed_bodies_on_every_public_endpoint_are_422(client: Client, path: str, body: Any) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    "path",
    [
        LOGIN,
        "/api/v1/auth/refresh",
        "/api/v1/auth/verify-email",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
    ],
)
async def test_oversized_bodies_are_refused_before_parsing(client: Client, path: str) -> None:
    response = await client.post(path, json={"login": "x" * 50_000, "password": "y", "token": "z", "email": "e"})
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


async def test_patch_me_with_a_signed_in_user_of_another_session_revoked_is_401(
    client: Client, signed_in_user: TestUser
) -> None:
    assert (await client.post("/api/v1/auth/logout", headers=signed_in_user.headers)).status_code == 204
    response = await client.patch("/api/v1/me", json={"name": "Mallory"}, headers=signed_in_user.headers)
    assert response.status_code == 401


@pytest.mark.parametrize("username", ["abc", "a" * 32, "a.b_c-9"])
async def test_usernames_at_the_limits_are_accepted(client: Client, username: str) -> None:
    body = {
        "name": "Edge Case",
        "email": "edge@example.com",
        "username": username,
        "password": TEST_PASSWORD,
        "age_confirmed": True,
    }
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["username"] == username


async def test_reset_tokens_are_stored_only_as_hashes(
    client: Client, signed_in_user: TestUser, smtp_server: SmtpCapture, db_url: str
) -> None:
    assert (await client.post("/api/v1/auth/password-reset", json={"email": signed_in_user.email})).status_code == 202
    mail = [m for m in smtp_server.messages() if m["To"] == signed_in_user.email][-1]
    token = link_token(mail, "reset-password")
    rows = await sql(db_url, "SELECT * FROM email_tokens WHERE purpose = 'reset_password'")
    assert len(rows) == 1
    assert token not in repr([dict(r) for r in rows])
    assert bytes(rows[0]["token_hash"]) == hashlib.sha256(token.encode()).digest()


async def test_the_access_token_ttl_setting_is_honoured(context: AppContext, mailbox: Mailbox) -> None:
    now = [utcnow().replace(microsecond=0)]  # tokens carry whole seconds
    short = context.settings.replace(auth=dataclasses.replace(context.settings.auth, access_token_ttl=2))
    app = create_app(context=dataclasses.replace(context, settings=short, clock=lambda: now[0]))
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        user = await create_user(client, mailbox, sign_in=False)
        pair = (await client.post(LOGIN, json={"login": user.email, "password": user.password})).json()
        assert pair["expires_in"] == 2
        headers = {"Authorization": f"Bearer {pair['access_token']}"}
        now[0] += datetime.timedelta(seconds=1)
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
        now[0] += datetime.timedelta(seconds=1)  # the 2 s have passed
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
        # The refresh token still gets a fresh pair.
        refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert refreshed.status_code == 200
