"""Data rights: objection switches, account deletion, exports, policy versions, and minimal Stripe events.

Stripe event rows keep only what is applied (``object``) plus the customer and subscription ids; the raw payloads
stored before (names, e-mail and postal addresses) are reduced to that here.

Revision ID: 0007_data_rights
Revises: 0006_billing
Create Date: 2026-12-07
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from server.domain.billing.event_fields import applied_fields, object_ids

revision = "0007_data_rights"
down_revision = "0006_billing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("analytics", "ai_processing"):
        op.add_column("users", sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.text("true")))
    op.add_column("users", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("purge_after", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_users_purge_after", "users", ["purge_after"])

    op.create_table(
        "data_exports",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'ready')", name="ck_data_exports_status"),
    )
    op.create_index("ix_data_exports_user_created", "data_exports", ["user_id", "created_at"])
    op.create_table(
        "policy_versions",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("url", sa.String(1000), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "policy_acceptances",
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column(
            "version", sa.String(64), sa.ForeignKey("policy_versions.version", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.add_column("stripe_events", sa.Column("customer_id", sa.String(255), nullable=True))
    op.add_column("stripe_events", sa.Column("subscription_id", sa.String(255), nullable=True))
    op.add_column("stripe_events", sa.Column("object", postgresql.JSONB(), nullable=True))
    _reduce_stored_payloads()
    op.alter_column("stripe_events", "object", nullable=False)
    op.drop_column("stripe_events", "payload")
    op.create_index("ix_stripe_events_customer_id", "stripe_events", ["customer_id"])
    op.create_index("ix_stripe_events_created", "stripe_events", ["created"])


def _reduce_stored_payloads() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT event_id, type, payload FROM stripe_events")).all()
    for event_id, event_type, payload in rows:
        obj = (payload or {}).get("data", {}).get("object", {})
        customer, subscription = object_ids(event_type, obj)
        connection.execute(
            sa.text(
                "UPDATE stripe_events SET object = CAST(:object AS jsonb), customer_id = :customer, "
                "subscription_id = :subscription WHERE event_id = :id"
            ),
            {
                "object": json.dumps(applied_fields(event_type, obj)),
                "customer": customer,
                "subscription": subscription,
                "id": event_id,
            },
        )


def downgrade() -> None:
    op.drop_index("ix_stripe_events_created", "stripe_events")
    op.drop_index("ix_stripe_events_customer_id", "stripe_events")
    op.add_column("stripe_events", sa.Column("payload", postgresql.JSONB(), nullable=True))
    op.execute("UPDATE stripe_events SET payload = jsonb_build_object('data', jsonb_build_object('object', object))")
    op.alter_column("stripe_events", "payload", nullable=False)
    for column in ("object", "subscription_id", "customer_id"):
        op.drop_column("stripe_events", column)
    op.drop_table("policy_acceptances")
    op.drop_table("policy_versions")
    op.drop_index("ix_data_exports_user_created", "data_exports")
    op.drop_table("data_exports")
    op.drop_index("ix_users_purge_after", "users")
    for column in ("purge_after", "deleted_at", "ai_processing", "analytics"):
        op.drop_column("users", column)
