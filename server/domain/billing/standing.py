"""Which plan a user is on right now, and the usage period that goes with it.

Paid plans follow the subscription Stripe told us about (its own billing period); everyone else is on the free plan
with calendar months (UTC); with billing off everyone is ``self_hosted``, unlimited, and nothing is read.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import text

from server.settings.plans import SELF_HOSTED, Plan

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncConnection

    from server.settings import BillingSettings

__all__ = ["LIVE_STATUSES", "Standing", "current_standing", "month_period"]

# Subscription statuses that keep the paid plan: Stripe still retries a `past_due` payment before it gives up.
LIVE_STATUSES = ("active", "trialing", "past_due")


@dataclass(frozen=True, slots=True)
class Standing:
    """A user's plan now: status, the usage period (``period_end`` = when the quota resets), and the subscription."""

    plan: Plan
    status: str
    period_start: datetime.datetime | None
    period_end: datetime.datetime | None
    cancel_at_period_end: bool = False
    subscription_id: str | None = None


def month_period(now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    """The calendar month (UTC) containing ``now``: the free plan's usage period."""
    start = now.astimezone(datetime.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


async def current_standing(
    connection: AsyncConnection, billing: BillingSettings, user_id: uuid.UUID, *, now: datetime.datetime | None = None
) -> Standing:
    """The plan ``user_id`` is on now (one query; none with billing off)."""
    if not billing.enabled:
        return Standing(SELF_HOSTED, "active", None, None)
    now = now or datetime.datetime.now(datetime.UTC)
    row = (
        await connection.execute(
            text(
                "SELECT stripe_subscription_id, plan, status, current_period_start, current_period_end, "
                "cancel_at_period_end FROM billing_subscriptions WHERE user_id = :user_id AND status = ANY(:live) "
                "ORDER BY stripe_created DESC LIMIT 1"
            ),
            {"user_id": user_id, "live": list(LIVE_STATUSES)},
        )
    ).first()
    plan = billing.plans.get(row.plan) if row is not None else None
    if row is None or plan is None or not plan.paid:
        start, end = month_period(now)
        return Standing(billing.plans.free, "active", start, end)
    start, end = row.current_period_start, row.current_period_end
    if start is None or end is None or end <= now:
        # Stripe has not told us about the renewal yet: count in calendar months rather than in a dead period.
        start, end = month_period(now)
    return Standing(plan, row.status, start, end, row.cancel_at_period_end, row.stripe_subscription_id)
