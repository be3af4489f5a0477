"""Data-rights tests run with billing on (the fake Stripe); mail goes to the outbox under the test's data dir."""

from __future__ import annotations

import dataclasses
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from server.settings import BillingSettings, Secret, Settings
from tests.fixtures.stripe_api import WEBHOOK_SECRET, FakeStripe

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from server.app import TechPalApp
    from server.domain.privacy import DataLifecycle
    from tests.fixtures.auth import TestUser


@pytest.fixture
def settings(settings: Settings, stripe_api: FakeStripe) -> Settings:
    """The usual test settings with Stripe (the fake) configured."""
    billing = BillingSettings(
        secret_key=Secret("sk_test_" + "s" * 24), webhook_secret=Secret(WEBHOOK_SECRET), api_base=stripe_api.url
    )
    return settings.replace(billing=billing, auth=dataclasses.replace(settings.auth, register_limit=1_000))


async def login(client: Any, user: TestUser) -> Any:
    """``POST /api/v1/auth/login`` with the user's credentials: the response."""
    return await client.post("/api/v1/auth/login", json={"login": user.email, "password": user.password})


@asynccontextmanager
async def lifecycle_on_this_loop(app: TechPalApp) -> AsyncIterator[DataLifecycle]:
    """The app's data lifecycle with an engine of the test's own event loop (the test client runs the app apart)."""
    life = app.context.lifecycle
    engine = create_async_engine(app.context.settings.db.url.get_secret_value())  # type: ignore[union-attr]
    try:
        yield dataclasses.replace(life, engine=engine)
    finally:
        await engine.dispose()
