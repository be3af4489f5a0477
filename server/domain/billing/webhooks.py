"""Stripe webhook events: verified, stored once, then applied idempotently and in order.

``receive`` runs in the request: it checks the signature (SDK, 300 s tolerance), drops types we do not handle, and
stores the event under its unique id — a redelivery stores nothing. ``apply_event`` runs after the answer (and, for
events a crash left unapplied, at the next start): it locks the event row, applies it, and stamps ``applied_at``, so
an event is applied once however often it arrives. Subscription state only moves forward: a snapshot from an event
older than the one already applied is refused. Problems in the data (an unknown customer, a malformed object) are
recorded on the event and logged; failures of ours (mail, database, Stripe) leave it for the next attempt.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import smtplib
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import text

from server.db.transactions import transaction_of_its_own
from server.domain.billing.event_fields import applied_fields, object_ids
from server.domain.billing.mail import payment_failed_mail, payment_received_mail
from server.lib.exceptions import ClientError

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from server.domain.billing.services import BillingContext

__all__ = ["HANDLED_EVENT_TYPES", "apply_event", "apply_pending_events", "keep_applying_pending", "receive"]

logger = structlog.get_logger(__name__)

HANDLED_EVENT_TYPES = frozenset(
    {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.payment_failed",
    }
)


class _Unusable(Exception):
    """The event cannot be applied and never will be (unknown customer, malformed object): record and move on."""


def _malformed(detail: str) -> ClientError:
    return ClientError(detail, code="malformed_event")


async def receive(engine: AsyncEngine, ctx: BillingContext, payload: bytes, signature: str | None) -> str | None:
    """Verify and store one delivery; return the event id to apply, or ``None`` for a type we ignore."""
    event = ctx.require_gateway().verify_event(payload, signature)
    event_id, event_type, created = event.get("id"), event.get("type"), event.get("created")
    data = event.get("data")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 255 or not isinstance(event_type, str):
        raise _malformed("The event has no id or type.")
    if event_type not in HANDLED_EVENT_TYPES:
        logger.info("stripe_event_ignored", event_id=event_id, type=event_type)
        return None
    if not isinstance(created, int) or not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise _malformed("The event lacks `created` or `data.object`.")
    obj = data["object"]
    customer, subscription = object_ids(event_type, obj)
    async with transaction_of_its_own(engine) as connection:
        stored = (
            await connection.execute(
                text(
                    "INSERT INTO stripe_events (event_id, type, created, customer_id, subscription_id, object, "
                    "received_at) VALUES (:id, :type, :created, :customer, :subscription, CAST(:object AS jsonb), "
                    ":now) ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
                ),
                {
                    "id": event_id,
                    "type": event_type,
                    "created": created,
                    "customer": customer,
                    "subscription": subscription,
                    "object": json.dumps(applied_fields(event_type, obj)),
                    "now": datetime.datetime.now(datetime.UTC),
                },
            )
        ).scalar()
    logger.info("stripe_event_received", event_id=event_id, type=event_type, duplicate=stored is None)
    return event_id  # a redelivery of an unapplied event gets another attempt; an applied one is a no-op


async def apply_event(engine: AsyncEngine, ctx: BillingContext, event_id: str) -> None:
    """Apply one stored event if nobody has yet; never raises (errors are recorded and logged)."""
    try:
        async with transaction_of_its_own(engine) as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT type, created, object FROM stripe_events "
                        "WHERE event_id = :id AND applied_at IS NULL FOR UPDATE SKIP LOCKED"
                    ),
                    {"id": event_id},
                )
            ).first()
            if row is None:
                return  # applied already, or being applied by another request right now
            error = None
            try:
                async with connection.begin_nested():
                    await _apply(connection, ctx, row.type, row.created, row.object)
            except _Unusable as exc:
                error = str(exc)
                logger.warning("stripe_event_unusable", event_id=event_id, type=row.type, reason=error)
            await connection.execute(
                text("UPDATE stripe_events SET applied_at = :now, error = :error WHERE event_id = :id"),
                {"now": datetime.datetime.now(datetime.UTC), "error": error, "id": event_id},
            )
    except Exception as exc:  # after the answer: record it for the next start instead of losing it
        logger.warning("stripe_event_apply_failed", event_id=event_id, error=type(exc).__name__, exc_info=exc)
        async with transaction_of_its_own(engine) as connection:
            await connection.execute(
                text("UPDATE stripe_events SET error = :error WHERE event_id = :id AND applied_at IS NULL"),
                {"error": _error_text(exc), "id": event_id},
            )


def _error_text(exc: Exception) -> str:
    """What is stored about a failure: the type only for mail and network errors (an SMTP refusal names recipients)."""
    if isinstance(exc, OSError | smtplib.SMTPException):
        return type(exc).__name__
    return f"{type(exc).__name__}: {exc}"[:2000]


async def apply_pending_events(engine: AsyncEngine, ctx: BillingContext) -> int:
    """Apply every stored-but-unapplied event, oldest first (after a crash); return how many were tried."""
    async with transaction_of_its_own(engine) as connection:
        pending = (
            await connection.execute(
                text("SELECT event_id FROM stripe_events WHERE applied_at IS NULL ORDER BY created, received_at")
            )
        ).scalars()
        event_ids = list(pending)
    for event_id in event_ids:
        await apply_event(engine, ctx, event_id)
    if event_ids:
        logger.info("stripe_events_replayed", count=len(event_ids))
    return len(event_ids)


async def keep_applying_pending(engine: AsyncEngine, ctx: BillingContext) -> None:
    """Apply stored-but-unapplied events now (a crash may have left some) and then every ``retry_interval``.

    Stripe does not redeliver an event we answered 2xx, so one that failed to apply (Stripe or SMTP down) is
    tried again until it applies. Runs until cancelled.
    """
    while True:
        try:
            await apply_pending_events(engine, ctx)
        except Exception:  # the database may be away for a moment; the next round tries again
            logger.warning("stripe_events_retry_failed", exc_info=True)
        await asyncio.sleep(ctx.retry_interval)


# ------------------------------------------------------------------------------------------------ applying
async def _apply(connection: AsyncConnection, ctx: BillingContext, event_type: str, created: int, obj: Any) -> None:
    if event_type.startswith("customer.subscription."):
        await _upsert_subscription(connection, ctx, obj, created)
    elif event_type == "checkout.session.completed":
        subscription_id = obj.get("subscription")
        if obj.get("mode") != "subscription" or not isinstance(subscription_id, str):
            raise _Unusable("not a subscription checkout")
        await _user_of(connection, obj.get("customer"))  # an unknown customer is refused before asking Stripe
        # The session does not carry the subscription's state: ask Stripe for it now (newer than this event).
        subscription = await ctx.require_gateway().subscription(subscription_id)
        await _upsert_subscription(connection, ctx, subscription, created)
    elif event_type in {"invoice.paid", "invoice.payment_failed"}:
        await _mail_invoice(connection, ctx, event_type, obj)


async def _user_of(connection: AsyncConnection, customer: Any) -> Any:
    if not isinstance(customer, str):
        raise _Unusable("no customer on the object")
    row = (
        await connection.execute(
            text(
                "SELECT u.id, u.name, u.email FROM billing_customers c JOIN users u ON u.id = c.user_id "
                "WHERE c.stripe_customer_id = :customer"
            ),
            {"customer": customer},
        )
    ).first()
    if row is None:
        raise _Unusable(f"unknown customer {customer}")
    return row


def _timestamp(value: Any) -> datetime.datetime | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, datetime.UTC)
    return None


def _subscription_fields(ctx: BillingContext, sub: Any) -> dict[str, Any]:
    """Our columns from a subscription object (periods on the first item in current API versions, else on top)."""
    try:
        item = sub["items"]["data"][0] if sub.get("items", {}).get("data") else {}
        lookup_key = item.get("price", {}).get("lookup_key")
        fields = {
            "id": str(sub["id"]),
            "customer": str(sub["customer"]),
            "status": str(sub["status"]),
            "period_start": _timestamp(item.get("current_period_start", sub.get("current_period_start"))),
            "period_end": _timestamp(item.get("current_period_end", sub.get("current_period_end"))),
            "cancel_at_period_end": bool(sub.get("cancel_at_period_end", False)),
            "stripe_created": int(sub["created"]),
        }
    except (KeyError, TypeError, AttributeError, ValueError, IndexError):
        raise _Unusable("malformed subscription object") from None
    plan = ctx.settings.plans.by_lookup_key(lookup_key)
    if plan is None:
        raise _Unusable(f"no plan in the catalogue sells the price with lookup key {lookup_key!r}")
    return fields | {"plan": plan.key}


async def _upsert_subscription(connection: AsyncConnection, ctx: BillingContext, sub: Any, created: int) -> None:
    if not isinstance(sub, dict):
        raise _Unusable("malformed subscription object")
    fields = _subscription_fields(ctx, sub)
    user = await _user_of(connection, fields["customer"])
    # Newer wins; on a tie (Stripe stamps events to the second) anything but a final cancellation may be replaced.
    await connection.execute(
        text(
            "INSERT INTO billing_subscriptions (stripe_subscription_id, user_id, stripe_customer_id, plan, status, "
            "current_period_start, current_period_end, cancel_at_period_end, stripe_created, stripe_event_created, "
            "updated_at) VALUES (:id, :user_id, :customer, :plan, :status, :period_start, :period_end, "
            ":cancel_at_period_end, :stripe_created, :event_created, :now) "
            "ON CONFLICT (stripe_subscription_id) DO UPDATE SET plan = excluded.plan, status = excluded.status, "
            "current_period_start = excluded.current_period_start, current_period_end = excluded.current_period_end, "
            "cancel_at_period_end = excluded.cancel_at_period_end, "
            "stripe_event_created = excluded.stripe_event_created, "
            "updated_at = excluded.updated_at "
            "WHERE billing_subscriptions.stripe_event_created < excluded.stripe_event_created "
            "OR (billing_subscriptions.stripe_event_created = excluded.stripe_event_created "
            "AND billing_subscriptions.status <> 'canceled')"
        ),
        fields | {"user_id": user.id, "event_created": created, "now": datetime.datetime.now(datetime.UTC)},
    )


async def _mail_invoice(connection: AsyncConnection, ctx: BillingContext, event_type: str, invoice: Any) -> None:
    if not isinstance(invoice, dict):
        raise _Unusable("malformed invoice object")
    user = await _user_of(connection, invoice.get("customer"))
    plan = await _invoice_plan(connection, ctx, invoice, user.id)
    build = payment_received_mail if event_type == "invoice.paid" else payment_failed_mail
    amount = invoice.get("amount_paid") if event_type == "invoice.paid" else invoice.get("amount_due")
    message = build(
        ctx.mailer.sender,
        user.email,
        user.name,
        plan=plan,
        amount=amount,
        currency=invoice.get("currency"),
        invoice_url=invoice.get("hosted_invoice_url"),
    )
    # Sent inside the transaction: if it fails the event stays unapplied and is retried (at least once, not never).
    await ctx.mailer.send(message)


async def _invoice_plan(
    connection: AsyncConnection, ctx: BillingContext, invoice: dict[str, Any], user_id: uuid.UUID
) -> str:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") if isinstance(parent, dict) else None
    subscription = details.get("subscription") if isinstance(details, dict) else invoice.get("subscription")
    key = (
        await connection.execute(
            text("SELECT plan FROM billing_subscriptions WHERE stripe_subscription_id = :id AND user_id = :user_id"),
            {"id": subscription, "user_id": user_id},
        )
    ).scalar()
    plan = ctx.settings.plans.get(str(key)) if key else None
    return plan.name if plan else "paid"
