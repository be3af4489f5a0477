"""What the billing slice keeps on ``app.state`` and its start-up hook (apply events a crash left unapplied)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import structlog
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.billing.services import BillingContext
from server.domain.billing.webhooks import apply_pending_events
from server.integrations.stripe import StripeGateway
from server.lib.mail import Mailer
from server.settings import Settings

__all__ = ["billing_lifespan", "billing_state"]

logger = structlog.get_logger(__name__)


def billing_state(settings: Settings, mailer: Mailer) -> dict[str, Any]:
    """``{"billing": BillingContext}``; the Stripe client is built here but makes no call (no start-up traffic)."""
    billing = settings.billing
    gateway = None
    if billing.secret_key is not None:
        gateway = StripeGateway(
            billing.secret_key.get_secret_value(),
            webhook_secret=billing.webhook_secret.get_secret_value() if billing.webhook_secret else None,
            api_base=billing.api_base,
        )
        if not gateway.accepts_webhooks:
            logger.warning("stripe_webhook_secret_missing", consequence="webhook events are refused")
    return {"billing": BillingContext(billing, gateway, mailer, settings.server.base_url)}


async def _keep_applying(engine: AsyncEngine, ctx: BillingContext) -> None:
    """Apply stored-but-unapplied events now (a crash may have left some) and then every ``retry_interval``."""
    while True:
        try:
            await apply_pending_events(engine, ctx)
        except Exception:  # the database may be away for a moment; the next round tries again
            logger.warning("stripe_events_retry_failed", exc_info=True)
        await asyncio.sleep(ctx.retry_interval)


def billing_lifespan(get_engine: Callable[[], AsyncEngine]) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Apply stored-but-unapplied events in the background, at start and then periodically; start-up never waits."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        ctx: BillingContext = app.state["billing"]
        task = asyncio.create_task(_keep_applying(get_engine(), ctx)) if ctx.gateway is not None else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if ctx.gateway is not None:
                await ctx.gateway.close()

    return lifespan
