"""Quotas: the entitlement check before each AI call counts atomically and refuses with 402 ``quota_exceeded``."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.domain.billing.entitlements import Reservation, reserve
from server.lib.errors import to_problem_response
from server.lib.exceptions import PaymentRequired
from server.settings import BillingSettings, Settings
from tests.fixtures.stripe_api import FakeStripe, subscribe

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from tests.fixtures.auth import TestUser

QUOTA = 5


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """Billing on, with a small free quota so exhausting it is quick."""
    plans = tmp_path / "plans.toml"
    plans.write_text(
        f'[plans.free]\nname = "Free"\nmonthly_resolutions = {QUOTA}\n\n'
        '[plans.pro]\nname = "Pro"\nprice = "€9"\nmonthly_resolutions = 500\nlookup_key = "techpal_pro_monthly"\n',
        encoding="utf-8",
    )
    from server.settings.plans import load_catalogue

    billing = BillingSettings(
        secret_key=settings.billing.secret_key,
        webhook_secret=settings.billing.webhook_secret,
        api_base=settings.billing.api_base,
        plans_file=plans,
        plans=load_catalogue(plans),
    )
    return settings.replace(billing=billing)


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine with room for many concurrent reservations."""
    assert settings.db.url is not None
    engine = create_async_engine(settings.db.url.get_secret_value(), pool_size=25, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()


async def usage(client: AsyncTestClient[Litestar], user: TestUser) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/api/v1/billing/subscription", headers=user.headers)).json()
    return body


async def test_each_committed_answer_counts_and_the_quota_then_refuses(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, engine: AsyncEngine, settings: Settings
) -> None:
    user_id = uuid.UUID(signed_in_user.id)
    for _ in range(QUOTA):
        reservation = await reserve(engine, settings.billing, user_id, base_url="http://app")
        await reservation.keep()
    assert (await usage(client, signed_in_user))["usage"] == QUOTA
    with pytest.raises(PaymentRequired) as refused:
        await reserve(engine, settings.billing, user_id, base_url="http://app")
    error = refused.value
    now = datetime.datetime.now(datetime.UTC)
    next_month = datetime.datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=datetime.UTC)
    assert error.status_code == 402
    assert error.code == "quota_exceeded"
    assert error.extra["plan"] == "free"
    assert datetime.datetime.fromisoformat(error.extra["resets_at"]) == next_month
    assert error.extra["upgrade_url"] == "http://app/api/v1/billing/checkout"
    assert error.extra["upgrade_plans"] == ["pro"]


async def test_answers_that_do_not_reach_done_are_not_counted(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, engine: AsyncEngine, settings: Settings
) -> None:
    user_id = uuid.UUID(signed_in_user.id)
    for _ in range(QUOTA * 2):  # retrieval-only answers, provider failures, fallbacks
        reservation = await reserve(engine, settings.billing, user_id)
        await reservation.release()
        await reservation.release()  # settling twice changes nothing
    assert (await usage(client, signed_in_user))["usage"] == 0
    reservation = await reserve(engine, settings.billing, user_id)
    await reservation.keep()
    await reservation.release()  # already settled: the answer stays counted
    assert (await usage(client, signed_in_user))["usage"] == 1


async def test_twenty_concurrent_requests_at_quota_minus_one_let_exactly_one_through(
    signed_in_user: TestUser, engine: AsyncEngine, settings: Settings
) -> None:
    user_id = uuid.UUID(signed_in_user.id)
    for _ in range(QUOTA - 1):
        await (await reserve(engine, settings.billing, user_id)).keep()
    results = await asyncio.gather(
        *[reserve(engine, settings.billing, user_id) for _ in range(20)], return_exceptions=True
    )
    granted = [r for r in results if isinstance(r, Reservation)]
    refused = [r for r in results if isinstance(r, PaymentRequired)]
    assert len(granted) == 1
    assert len(refused) == 19
    # Releasing the one frees exactly one unit again.
    await granted[0].release()
    again = await asyncio.gather(
        *[reserve(engine, settings.billing, user_id) for _ in range(5)], return_exceptions=True
    )
    assert len([r for r in again if isinstance(r, Reservation)]) == 1


async def test_the_402_answer_tells_the_client_plan_reset_date_and_upgrade(
    signed_in_user: TestUser, engine: AsyncEngine, settings: Settings
) -> None:
    user_id = uuid.UUID(signed_in_user.id)
    for _ in range(QUOTA):
        await (await reserve(engine, settings.billing, user_id)).keep()

    with pytest.raises(PaymentRequired) as refused:
        await reserve(engine, settings.billing, user_id, base_url="http://app")

    @get("/ask")
    async def ask() -> None:
        raise refused.value  # what a tickets route calling reserve() lets through

    app = Litestar([ask], exception_handlers={Exception: to_problem_response})
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/ask")
    body = response.json()
    assert response.status_code == 402
    assert response.headers["content-type"].startswith("application/problem+json")
    assert body["code"] == "quota_exceeded"
    assert body["plan"] == "free"
    assert body["resets_at"].endswith("Z")
    assert body["upgrade_url"] == "http://app/api/v1/billing/checkout"
    assert f"all {QUOTA} AI answers" in body["detail"]


async def test_a_subscriber_counts_in_the_stripe_billing_period(
    client: AsyncTestClient[Litestar],
    signed_in_user: TestUser,
    stripe_api: FakeStripe,
    engine: AsyncEngine,
    settings: Settings,
) -> None:
    start = int(datetime.datetime(2026, 11, 20, 9, 30, tzinfo=datetime.UTC).timestamp())
    start = min(start, int(datetime.datetime.now(datetime.UTC).timestamp()) - 3600)
    await subscribe(client, stripe_api, signed_in_user, period_start=start)
    for _ in range(QUOTA + 1):  # beyond the free quota
        await (await reserve(engine, settings.billing, uuid.UUID(signed_in_user.id))).keep()
    body = await usage(client, signed_in_user)
    assert body["plan"] == "pro"
    assert body["usage"] == QUOTA + 1
    assert body["quota"] == 500
    assert datetime.datetime.fromisoformat(body["resets_at"]).timestamp() == start + 30 * 86400
