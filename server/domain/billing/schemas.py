"""Wire types of ``/api/v1/billing``."""

from __future__ import annotations

import datetime

from server.lib.schema import RequestBody, ResponseBody

__all__ = ["CheckoutRequest", "PlanOut", "Plans", "RedirectUrl", "Subscription"]


class PlanOut(ResponseBody, frozen=True):
    """One plan of the catalogue; ``quota`` is AI answers per period (``None`` = unlimited)."""

    key: str
    name: str
    price: str
    quota: int | None
    paid: bool


class Plans(ResponseBody, frozen=True):
    """The catalogue, and whether this server sells anything at all."""

    billing_enabled: bool
    plans: list[PlanOut]


class Subscription(ResponseBody, frozen=True):
    """The caller's plan now and what is left of its quota."""

    plan: str
    plan_name: str
    status: str
    current_period_end: datetime.datetime | None
    cancel_at_period_end: bool
    usage: int
    quota: int | None
    resets_at: datetime.datetime | None
    billing_enabled: bool


class CheckoutRequest(RequestBody, frozen=True):
    """Which plan to subscribe to."""

    plan: str


class RedirectUrl(ResponseBody, frozen=True):
    """Where to send the user's browser (Stripe Checkout or the Customer Portal)."""

    url: str
