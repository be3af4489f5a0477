"""Billing: plans, Stripe subscriptions (Checkout, Customer Portal, webhooks) and per-period AI quotas.

Other slices use what is exported here: reserving one AI answer against the caller's quota, and what a deletion
needs (cancel the subscriptions, forget the Stripe customer).
"""

from server.domain.billing.entitlements import Reservation, reserve
from server.domain.billing.services import BillingContext, cancel_subscriptions, forget_customer, standing_and_usage

__all__ = [
    "BillingContext",
    "Reservation",
    "cancel_subscriptions",
    "forget_customer",
    "reserve",
    "standing_and_usage",
]
