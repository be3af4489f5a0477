"""Accounts below HTTP: the production argon2id cost, hashing off the event loop, throttles, logs and the outbox.

Throttle counters are shared by several processes; the tests check what reaches the logs and the outbox.
"""

from __future__ import annotations

import asyncio
import datetime
import time

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import create_async_engine

from server.app import create_app
from server.domain.accounts.passwords import PasswordHasher
from server.lib.exceptions import TooManyRequests
from server.lib.ratelimit import RateLimiter, Rule
from server.settings import Argon2Params, LogSettings, MailSettings, Settings
from tests.fixtures.mail import OutboxReader, link_token

PRODUCTION = Argon2Params()


async def test_production_argon2id_parameters_and_cost() -> None:
    hasher = PasswordHasher(PRODUCTION)
    started = time.perf_counter()
    encoded = await hasher.hash("correct horse battery staple")
    took = time.perf_counter() - started
    # argon2id, 46 MiB, 2 passes, 1 lane: above both OWASP minimums (19 MiB × 2, 46 MiB × 1).
    assert encoded.startswith("$argon2id$v=19$m=47104,t=2,p=1$")
    print(f"\nargon2id m=47104 KiB t=2 p=1: one hash took {took * 1000:.0f} ms")
    assert 0.005 < took < 2.0
    assert await hasher.verify(encoded, "correct horse battery staple")
    assert not await hasher.verify(encoded, "correct horse battery stapler")
    assert not await hasher.verify("not-a-hash", "x")
    assert not hasher.needs_rehash(encoded)
    assert PasswordHasher(Argon2Params(time_cost=3)).needs_rehash(encoded)


async def test_hashing_does_not_block_the_event_loop() -> None:
    hasher = PasswordHasher(PRODUCTION)
    hashing = asyncio.gather(*(hasher.hash(f"password number {n}") for n in range(4)))
    ticks = 0
    started = time.perf_counter()
    while not hashing.done():
        await asyncio.sleep(0.005)
        ticks += 1
    elapsed = time.perf_counter() - started
    await hashing
    # The loop kept turning while four hashes ran in worker threads (blocking would give ~1 tick).
    assert ticks >= 5, (ticks, elapsed)
    assert hasher.computed == 4


async def test_counters_are_shared_between_processes(db_url: str) -> None:
    # Two engines stand for two server processes: their hits land on the same counter, atomically.
    engines = [create_async_engine(db_url, pool_size=5) for _ in range(2)]
    try:
        limiters = [RateLimiter(engine) for engine in engines]
        rule = Rule("test", 7, datetime.timedelta(minutes=5))

        async def attempt(n: int) -> bool:
            try:
                await limiters[n % 2].hit(rule, "10.0.0.1")
            except TooManyRequests:
                return False
            return True

        results = await asyncio.gather(*(attempt(n) for n in range(12)))
        assert sum(results) == 7
        await limiters[0].hit(rule, "10.0.0.2")  # another key is unaffected
        await limiters[1].forgive(rule, "10.0.0.1", reset=True)
        await limiters[0].hit(rule, "10.0.0.1")
    finally:
        for engine in engines:
            await engine.dispose()


async def test_windows_expire(db_url: str) -> None:
    engine = create_async_engine(db_url)
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    clock = [now]
    limiter = RateLimiter(engine, clock=lambda: clock[0])
    rule = Rule("test", 2, datetime.timedelta(hours=1))
    try:
        await limiter.hit(rule, "k")
        await limiter.hit(rule, "k")
        with pytest.raises(TooManyRequests) as refused:
            await limiter.hit(rule, "k")
        assert refused.value.retry_after == 3601
        clock[0] = now + datetime.timedelta(hours=1, seconds=1)
        await limiter.hit(rule, "k")
    finally:
        await engine.dispose()


SECRET_PASSWORD = "unique-secret-passphrase-8127"
NEW_PASSWORD = "another-unique-passphrase-5531"


async def test_no_password_or_token_reaches_the_logs_and_the_outbox_names_its_files(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # The embedded default: no SMTP, so the outbox mailer writes .eml files.
    settings = settings.replace(mail=MailSettings())
    outbox = OutboxReader(settings.data_dir / "outbox")
    secrets: list[str] = [SECRET_PASSWORD, NEW_PASSWORD]
    settings = settings.replace(log=LogSettings(level="debug", format="json"))
    async with AsyncTestClient(app=create_app(settings)) as client:
        body = {
            "name": "Log Test",
            "email": "log@example.com",
            "username": "logtest",
            "password": SECRET_PASSWORD,
            "age_confirmed": True,
        }
        assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
        (file,) = outbox.files()  # written before the response came back
        assert file.stat().st_mode & 0o777 == 0o600
        assert file.parent.stat().st_mode & 0o777 == 0o700
        verify = link_token(outbox.messages()[0], "verify-email")
        secrets.append(verify)
        page = await client.get("/verify-email", params={"token": verify})
        assert page.status_code == 200
        assert (await client.post("/api/v1/auth/verify-email", json={"token": verify})).status_code == 204
        login = {"login": "logtest", "password": SECRET_PASSWORD}
        pair = (await client.post("/api/v1/auth/login", json=login)).json()
        secrets += [pair["access_token"], pair["refresh_token"]]
        await client.get("/api/v1/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
        await client.post("/api/v1/auth/login", json={"login": "logtest", "password": "wrong-" + SECRET_PASSWORD})
        assert (await client.post("/api/v1/auth/password-reset", json={"email": "log@example.com"})).status_code == 202
        reset = link_token(outbox.messages()[-1], "reset-password")
        secrets.append(reset)
        confirm = {"token": reset, "new_password": NEW_PASSWORD}
        assert (await client.post("/api/v1/auth/password-reset/confirm", json=confirm)).status_code == 204
    logged = capsys.readouterr().err  # the app's log handler writes JSON lines to stderr
    assert "mail_written" in logged
    assert all(path.name in logged for path in outbox.files())
    leaked = [secret for secret in secrets if secret in logged]
    assert not leaked, [line for line in logged.splitlines() if any(s in line for s in leaked)]


async def test_app_state_mailer_follows_settings(settings: Settings) -> None:
    smtp_app = create_app(settings.replace(mail=MailSettings(smtp_host="mail.example.com")))
    outbox_app = create_app(settings.replace(mail=MailSettings()))
    assert type(smtp_app.context.mailer).__name__ == "SmtpMailer"
    assert type(outbox_app.context.mailer).__name__ == "OutboxMailer"
    assert isinstance(outbox_app, Litestar)
