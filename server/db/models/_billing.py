"""Billing: Stripe customers and subscriptions mirrored from webhooks, the events themselves, and usage counters.

Plain tables, not models: every write is one atomic statement (an upsert that refuses older state, a counter
``UPDATE … WHERE used < quota``), which the ORM's unit of work would only get in the way of.
"""

from __future__ import annotations

from advanced_alchemy.base import orm_registry
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

__all__ = ["billing_customers", "billing_subscriptions", "billing_usage", "stripe_events"]

# One Stripe customer per user, and one user per customer.
billing_customers = Table(
    "billing_customers",
    orm_registry.metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("stripe_customer_id", String(255), nullable=False, unique=True),
    Column("created_at", DateTimeUTC(timezone=True), nullable=False),
)

# Stripe's view of each subscription; `stripe_event_created` is the newest event applied (older ones are refused).
billing_subscriptions = Table(
    "billing_subscriptions",
    orm_registry.metadata,
    Column("stripe_subscription_id", String(255), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("stripe_customer_id", String(255), nullable=False),
    Column("plan", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("current_period_start", DateTimeUTC(timezone=True), nullable=True),
    Column("current_period_end", DateTimeUTC(timezone=True), nullable=True),
    Column("cancel_at_period_end", Boolean, nullable=False),
    Column("stripe_created", BigInteger, nullable=False),
    Column("stripe_event_created", BigInteger, nullable=False),
    Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    Index("ix_billing_subscriptions_user_id", "user_id"),
)

# Every handled webhook event, stored once; `applied_at` NULL = still to apply (after a crash: at the next start).
# Only what is applied is kept (`object`: the fields read from `data.object`), never the raw payload with its names
# and addresses; rows go after 13 months (the retention rules).
stripe_events = Table(
    "stripe_events",
    orm_registry.metadata,
    Column("event_id", String(255), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("created", BigInteger, nullable=False, index=True),
    Column("customer_id", String(255), nullable=True, index=True),
    Column("subscription_id", String(255), nullable=True),
    Column("object", JSONB, nullable=False),
    Column("received_at", DateTimeUTC(timezone=True), nullable=False),
    Column("applied_at", DateTimeUTC(timezone=True), nullable=True),
    Column("error", Text, nullable=True),
    # The start-up replay looks for what is still unapplied; keep that cheap however many events pile up.
    Index("ix_stripe_events_unapplied", "received_at", postgresql_where=text("applied_at IS NULL")),
)

# AI answers used per user and period (the period's start names it).
billing_usage = Table(
    "billing_usage",
    orm_registry.metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("period_start", DateTimeUTC(timezone=True), primary_key=True),
    Column("used", Integer, nullable=False),
    CheckConstraint("used >= 0", name="ck_billing_usage_used"),
)
