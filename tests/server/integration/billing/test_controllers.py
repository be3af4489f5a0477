"""Billing off (no Stripe key, the embedded default): everyone is ``self_hosted``, unlimited; nothing to buy."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from server.domain.billing.entitlements import reserve
from server.settings import BillingSettings, Settings
from tests.fixtures.db import connect
from tests.fixtures.stripe_api import FakeStripe, deliver

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The billing tests' settings without any Stripe configuration."""
    return settings.replace(billing=BillingSettings())


async def test_everyone_has_the_unlimited_self_hosted_plan(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser
) -> None:
    response = await client.get("/api/v1/billing/subscription", headers=signed_in_user.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["plan"] == "self_hosted"
    assert body["quota"] is None
    assert body["billing_enabled"] is False
    plans = (await client.get("/api/v1/billing/plans", headers=signed_in_user.headers)).json()
    assert plans["billing_enabled"] is False


async def test_checkout_and_portal_answer_billing_disabled(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, stripe_api: FakeStripe
) -> None:
    for path, body in [("/checkout", {"plan": "pro"}), ("/portal", None)]:
        response = await client.post(f"/api/v1/billing{path}", json=body, headers=signed_in_user.headers)
        assert response.status_code == 409
        assert response.json()["code"] == "billing_disabled"
    response = await deliver(client, stripe_api.event("invoice.paid", {"id": "in_x"}))
    assert response.status_code == 409
    assert stripe_api.requests == []


async def test_reservations_are_unlimited_and_write_nothing(signed_in_user: TestUser, settings: Settings) -> None:
    assert settings.db.url is not None
    engine = create_async_engine(settings.db.url.get_secret_value())
    try:
        for _ in range(50):
            reservation = await reserve(engine, settings.billing, uuid.UUID(signed_in_user.id))
            await reservation.keep()
    finally:
        await engine.dispose()
    connection = await connect(settings.db.url.get_secret_value())
    try:
        assert await connection.fetch("SELECT 1 FROM billing_usage") == []
    finally:
        await connection.close()
