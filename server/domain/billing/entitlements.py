"""The entitlement check before every AI call: reserve one answer of the caller's quota, then commit or release.

Usage: ``reservation = await reserve(engine, settings.billing, user_id, base_url=...)`` before calling the model
(raises 402 ``quota_exceeded``); ``await reservation.keep()`` when the answer reached ``done`` with a model
configured; ``await reservation.release()`` otherwise (retrieval-only answer, provider failure, fallback). Counting
is one atomic upsert (``… SET used = used + 1 WHERE used < quota``), so N concurrent requests at quota-1 let exactly
one through; release gives the unit back. ``self_hosted`` (billing off) and unlimited plans write nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import text

from server.db.transactions import transaction_of_its_own
from server.domain.billing.standing import current_standing
from server.lib.exceptions import PaymentRequired

if TYPE_CHECKING:
    import datetime
    import uuid

    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.settings import BillingSettings

__all__ = ["CHECKOUT_PATH", "Reservation", "reserve"]

logger = structlog.get_logger(__name__)
CHECKOUT_PATH = "/api/v1/billing/checkout"


@dataclass(slots=True)
class Reservation:
    """One reserved answer. Settle it exactly once: :meth:`commit` (it counts) or :meth:`release` (it does not)."""

    engine: AsyncEngine
    user_id: uuid.UUID
    plan: str
    period_start: datetime.datetime | None
    counted: bool
    settled: bool = False

    async def keep(self) -> None:
        """The answer reached ``done`` with a model: the unit stays used."""
        self.settled = True

    async def release(self) -> None:
        """The answer did not count: give the unit back (idempotent; a no-op once settled)."""
        if self.settled:
            return
        self.settled = True
        if not self.counted:
            return
        async with transaction_of_its_own(self.engine) as connection:
            await connection.execute(
                text(
                    "UPDATE billing_usage SET used = used - 1 "
                    "WHERE user_id = :user_id AND period_start = :period_start AND used > 0"
                ),
                {"user_id": self.user_id, "period_start": self.period_start},
            )


async def reserve(
    engine: AsyncEngine, billing: BillingSettings, user_id: uuid.UUID, *, base_url: str = ""
) -> Reservation:
    """Reserve one AI answer for ``user_id``.

    Raises:
        PaymentRequired: ``quota_exceeded``, with ``plan``, ``quota``, ``used``, ``resets_at``, ``upgrade_url`` and
            ``upgrade_plans`` (paid plans with a larger quota) in the response body.
    """
    async with transaction_of_its_own(engine) as connection:
        standing = await current_standing(connection, billing, user_id)
        quota = standing.plan.quota
        if quota is None or standing.period_start is None:
            return Reservation(engine, user_id, standing.plan.key, None, counted=False)
        used = None
        if quota > 0:
            used = (
                await connection.execute(
                    text(
                        "INSERT INTO billing_usage (user_id, period_start, used) VALUES (:user_id, :period_start, 1) "
                        "ON CONFLICT (user_id, period_start) DO UPDATE SET used = billing_usage.used + 1 "
                        "WHERE billing_usage.used < :quota RETURNING used"
                    ),
                    {"user_id": user_id, "period_start": standing.period_start, "quota": quota},
                )
            ).scalar()
    if used is not None:
        return Reservation(engine, user_id, standing.plan.key, standing.period_start, counted=True)
    upgrades = [p.key for p in billing.plans.plans if p.paid and (p.quota is None or p.quota > quota)]
    logger.info("quota_exceeded", plan=standing.plan.key, quota=quota)
    resets_at = standing.period_end.isoformat().replace("+00:00", "Z") if standing.period_end else None
    raise PaymentRequired(
        f"You have used all {quota} AI answers of the {standing.plan.name} plan for this period"
        + (f"; they reset on {standing.period_end:%Y-%m-%d}." if standing.period_end else ".")
        + (" Upgrade for more." if upgrades else ""),
        code="quota_exceeded",
        plan=standing.plan.key,
        quota=quota,
        used=quota,
        resets_at=resets_at,
        upgrade_url=f"{base_url}{CHECKOUT_PATH}" if upgrades else None,
        upgrade_plans=upgrades,
    )
