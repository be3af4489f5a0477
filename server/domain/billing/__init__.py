"""Billing: plans, Stripe subscriptions (Checkout, Customer Portal, webhooks) and per-period AI quotas.

Other slices use what is exported here: reserving one AI answer against the caller's quota.
"""

from server.domain.billing.entitlements import Reservation, reserve

__all__ = ["Reservation", "reserve"]
