"""Checkout and Customer Portal for one user: the Stripe customer is created lazily, once, and linked to the user."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import text

from server.db.transactions import transaction_of_its_own
from server.domain.billing.standing import Standing, current_standing
from server.lib.exceptions import Conflict, FieldError, ValidationFailed

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.integrations.stripe import StripeGateway
    from server.lib.mail import Mailer
    from server.settings import BillingSettings

__all__ = [
    "BillingContext",
    "BillingDisabled",
    "cancel_subscriptions",
    "checkout_url",
    "forget_customer",
    "portal_url",
    "standing_and_usage",
]

logger = structlog.get_logger(__name__)


class BillingDisabled(Conflict):
    """Billing is off on this server (no Stripe key): there is nothing to buy."""

    default_code = "billing_disabled"
    title = "Billing disabled"


@dataclass(frozen=True, slots=True)
class BillingContext:
    """What billing needs for the app's lifetime (the app context's ``billing``)."""

    settings: BillingSettings
    gateway: StripeGateway | None
    mailer: Mailer
    base_url: str
    # Stripe does not redeliver an event we answered 2xx: one that failed to apply (Stripe or SMTP down) is tried
    # again this often until it applies.
    retry_interval: float = 60.0

    def require_gateway(self) -> StripeGateway:
        """The gateway, or 409 ``billing_disabled``."""
        if self.gateway is None:
            raise BillingDisabled("Billing is not enabled on this server: every account has the self-hosted plan.")
        return self.gateway


async def standing_and_usage(engine: AsyncEngine, billing: BillingSettings, user_id: uuid.UUID) -> tuple[Standing, int]:
    """The user's plan now and the answers used in its current period."""
    async with transaction_of_its_own(engine) as connection:
        standing = await current_standing(connection, billing, user_id)
        if standing.period_start is None:
            return standing, 0
        used = (
            await connection.execute(
                text("SELECT used FROM billing_usage WHERE user_id = :user_id AND period_start = :period_start"),
                {"user_id": user_id, "period_start": standing.period_start},
            )
        ).scalar()
    return standing, int(used or 0)


async def _customer_id(engine: AsyncEngine, gateway: StripeGateway, user_id: uuid.UUID, email: str, name: str) -> str:
    """The user's Stripe customer, created on first need. Concurrent first calls share one (idempotency key)."""
    query = text("SELECT stripe_customer_id FROM billing_customers WHERE user_id = :user_id")
    async with transaction_of_its_own(engine) as connection:
        found = (await connection.execute(query, {"user_id": user_id})).scalar()
    if found:
        return str(found)
    created = await gateway.create_customer(user_id, email, name)
    async with transaction_of_its_own(engine) as connection:
        await connection.execute(
            text(
                "INSERT INTO billing_customers (user_id, stripe_customer_id, created_at) "
                "VALUES (:user_id, :customer, :now) ON CONFLICT (user_id) DO NOTHING"
            ),
            {"user_id": user_id, "customer": created, "now": datetime.datetime.now(datetime.UTC)},
        )
        linked = (await connection.execute(query, {"user_id": user_id})).scalar()
    return str(linked)


async def checkout_url(
    engine: AsyncEngine, ctx: BillingContext, *, user_id: uuid.UUID, email: str, name: str, plan_key: str
) -> str:
    """A Checkout Session URL for ``plan_key`` — or the Portal's, when the user already has a live subscription."""
    gateway = ctx.require_gateway()
    plan = ctx.settings.plans.get(plan_key)
    if plan is None or plan.lookup_key is None:
        sellable = ", ".join(p.key for p in ctx.settings.plans.plans if p.paid)
        raise ValidationFailed(
            f"No plan {plan_key!r} to subscribe to; choose one of: {sellable}.",
            code="unknown_plan",
            errors=[FieldError("plan", f"one of: {sellable}")],
        )
    standing, _ = await standing_and_usage(engine, ctx.settings, user_id)
    customer = await _customer_id(engine, gateway, user_id, email, name)
    if standing.subscription_id is not None:
        # A second subscription would bill twice: changing plan happens in the Portal.
        return await gateway.portal_url(customer_id=customer, return_url=f"{ctx.base_url}/billing/return")
    price = await gateway.price_id(plan.lookup_key)
    return await gateway.checkout_url(
        customer_id=customer,
        price_id=price,
        user_id=user_id,
        success_url=f"{ctx.base_url}/billing/success",
        cancel_url=f"{ctx.base_url}/billing/cancelled",
    )


async def portal_url(engine: AsyncEngine, ctx: BillingContext, *, user_id: uuid.UUID, email: str, name: str) -> str:
    """A Customer Portal session URL for the user's own customer."""
    gateway = ctx.require_gateway()
    customer = await _customer_id(engine, gateway, user_id, email, name)
    return await gateway.portal_url(customer_id=customer, return_url=f"{ctx.base_url}/billing/return")


async def cancel_subscriptions(engine: AsyncEngine, ctx: BillingContext, user_id: uuid.UUID) -> int:
    """Cancel every live subscription of the user at Stripe, now (no further charge); how many were cancelled.

    Our rows say ``canceled`` at once; Stripe's ``customer.subscription.deleted`` event confirms it later.
    """
    async with transaction_of_its_own(engine) as connection:
        live = (
            await connection.execute(
                text(
                    "SELECT stripe_subscription_id FROM billing_subscriptions "
                    "WHERE user_id = :user_id AND status NOT IN ('canceled', 'incomplete_expired')"
                ),
                {"user_id": user_id},
            )
        ).scalars()
        subscription_ids = list(live)
    if subscription_ids:
        for subscription_id in subscription_ids:
            if ctx.gateway is None:  # billing was switched off since: Stripe cannot be told from here
                logger.warning("stripe_cancel_skipped", reason="billing disabled", subscription=subscription_id)
                continue
            await ctx.gateway.cancel_subscription(subscription_id)
        async with transaction_of_its_own(engine) as connection:
            await connection.execute(
                text(
                    "UPDATE billing_subscriptions SET status = 'canceled', cancel_at_period_end = false, "
                    "updated_at = :now WHERE stripe_subscription_id = ANY(:ids)"
                ),
                {"ids": subscription_ids, "now": datetime.datetime.now(datetime.UTC)},
            )
    return len(subscription_ids)


async def forget_customer(engine: AsyncEngine, ctx: BillingContext, user_id: uuid.UUID) -> str | None:
    """Delete the user's Stripe customer (at Stripe) and the events about it (here); the customer id, if any.

    The ``billing_*`` rows themselves go with the user (foreign keys). Raises ``StripeUnavailable`` when Stripe
    cannot be reached: nothing is forgotten then, and the purge tries again later.
    """
    query = text("SELECT stripe_customer_id FROM billing_customers WHERE user_id = :user_id")
    async with transaction_of_its_own(engine) as connection:
        customer = (await connection.execute(query, {"user_id": user_id})).scalar()
    if customer is None:
        return None
    if ctx.gateway is None:
        logger.warning("stripe_customer_kept", reason="billing disabled", customer=customer)
    else:
        await ctx.gateway.delete_customer(customer)
    async with transaction_of_its_own(engine) as connection:
        await connection.execute(
            text("DELETE FROM stripe_events WHERE customer_id = :customer"), {"customer": customer}
        )
    return str(customer)
