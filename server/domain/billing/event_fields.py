"""The fields of a Stripe event's ``data.object`` that billing applies — the only part of an event we store.

Stripe objects carry personal data we do not need (customer names, e-mail and postal addresses on invoices and
checkout sessions). :func:`applied_fields` keeps exactly what :mod:`server.domain.billing.webhooks` reads, so a
stored event can still be applied (after a crash) while nothing else of the payload is ever written.
"""

from __future__ import annotations

from typing import Any

__all__ = ["applied_fields", "object_ids"]

_SUBSCRIPTION_KEYS = ("id", "customer", "status", "created", "cancel_at_period_end")
_PERIOD_KEYS = ("current_period_start", "current_period_end")
_CHECKOUT_KEYS = ("mode", "subscription", "customer")
_INVOICE_KEYS = ("customer", "subscription", "amount_paid", "amount_due", "currency", "hosted_invoice_url")


def _pick(obj: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: obj[key] for key in keys if key in obj}


def _subscription(obj: dict[str, Any]) -> dict[str, Any]:
    kept = _pick(obj, _SUBSCRIPTION_KEYS + _PERIOD_KEYS)
    items = obj.get("items")
    data = items.get("data") if isinstance(items, dict) else None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        item = data[0]
        price = item.get("price")
        lookup_key = price.get("lookup_key") if isinstance(price, dict) else None
        kept["items"] = {"data": [_pick(item, _PERIOD_KEYS) | {"price": {"lookup_key": lookup_key}}]}
    return kept


def _invoice(obj: dict[str, Any]) -> dict[str, Any]:
    kept = _pick(obj, _INVOICE_KEYS)
    parent = obj.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, dict) else None
    if isinstance(details, dict) and "subscription" in details:
        kept["parent"] = {"subscription_details": {"subscription": details["subscription"]}}
    return kept


def applied_fields(event_type: str, obj: Any) -> dict[str, Any]:
    """The part of ``data.object`` that applying an event of ``event_type`` reads."""
    if not isinstance(obj, dict):
        return {}
    if event_type.startswith("customer.subscription."):
        return _subscription(obj)
    if event_type == "checkout.session.completed":
        return _pick(obj, _CHECKOUT_KEYS)
    if event_type.startswith("invoice."):
        return _invoice(obj)
    return {}


def object_ids(event_type: str, obj: Any) -> tuple[str | None, str | None]:
    """The Stripe customer and subscription ids an event is about (either may be unknown)."""
    if not isinstance(obj, dict):
        return None, None
    customer = obj.get("customer")
    if event_type.startswith("customer.subscription."):
        subscription = obj.get("id")
    else:
        subscription = _invoice(obj).get("parent", {}).get("subscription_details", {}).get("subscription")
        subscription = subscription or obj.get("subscription")
    return (
        customer if isinstance(customer, str) else None,
        subscription if isinstance(subscription, str) else None,
    )
