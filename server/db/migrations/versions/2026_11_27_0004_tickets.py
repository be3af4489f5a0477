"""Tickets, messages, screenshots, history, idempotency keys; ``users.kb_contribution``.

Revision ID: 0004_tickets
Revises: 0003_knowledge
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_tickets"
down_revision = "0003_knowledge"
branch_labels = None
depends_on = None

PRIORITIES = "'low', 'normal', 'high', 'urgent'"
CATEGORIES = "'account_access', 'email', 'hardware', 'network', 'printer', 'security', 'software', 'other'"
STATUSES = "'open', 'answered', 'resolved', 'escalated', 'closed'"
SOURCES = "'user', 'ai', 'rules', 'agent'"


def _audit() -> list[sa.Column[object]]:
    """The columns advanced-alchemy's ``UUIDv7AuditBase`` maps (sentinel + timestamps)."""
    return [
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    # Feedback sends a resolved ticket's fix to the knowledge base unless the user opted out here.
    op.add_column("users", sa.Column("kb_contribution", sa.Boolean(), nullable=False, server_default=sa.true()))

    op.create_table(
        "tickets",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("owner_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False, server_default="normal"),
        sa.Column("priority_source", sa.String(16), nullable=True),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("category_source", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("device", postgresql.JSONB(), nullable=True),
        *_audit(),
        sa.CheckConstraint(f"priority IN ({PRIORITIES})", name="ck_tickets_priority"),
        sa.CheckConstraint(f"category IS NULL OR category IN ({CATEGORIES})", name="ck_tickets_category"),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_tickets_status"),
        sa.CheckConstraint(
            f"priority_source IS NULL OR priority_source IN ({SOURCES})", name="ck_tickets_priority_source"
        ),
        sa.CheckConstraint(
            f"category_source IS NULL OR category_source IN ({SOURCES})", name="ck_tickets_category_source"
        ),
        sa.CheckConstraint("(category IS NULL) = (category_source IS NULL)", name="ck_tickets_category_has_source"),
    )
    op.create_index("ix_tickets_owner_updated", "tickets", ["owner_id", "updated_at"])
    op.create_index("ix_tickets_owner_created", "tickets", ["owner_id", "created_at"])
    op.create_index("ix_tickets_status_updated", "tickets", ["status", "updated_at"])

    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("author_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("citations", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("tokens_in", sa.Integer(), nullable=True),
        sa.Column("tokens_out", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        *_audit(),
        sa.CheckConstraint("role IN ('user', 'assistant', 'agent')", name="ck_ticket_messages_role"),
    )
    op.create_index("ix_ticket_messages_ticket_created", "ticket_messages", ["ticket_id", "created_at"])

    op.create_table(
        "ticket_screenshots",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("blob_key", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("model_blob_key", sa.String(64), nullable=False),
        sa.Column("model_media_type", sa.String(32), nullable=False),
        sa.Column("ocr_text", sa.Text(), nullable=True),
        *_audit(),
        sa.UniqueConstraint("ticket_id", "position", name="uq_ticket_screenshots_ticket_position"),
        sa.CheckConstraint("position >= 0", name="ck_ticket_screenshots_position"),
    )
    # Blobs are shared between tickets: deleting one first asks whether any row still names it.
    op.create_index("ix_ticket_screenshots_blob_key", "ticket_screenshots", ["blob_key"])
    op.create_index("ix_ticket_screenshots_model_blob_key", "ticket_screenshots", ["model_blob_key"])

    op.create_table(
        "ticket_history",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("old_value", postgresql.JSONB(), nullable=True),
        sa.Column("new_value", postgresql.JSONB(), nullable=True),
        sa.CheckConstraint("actor IN ('user', 'ai', 'agent', 'system')", name="ck_ticket_history_actor"),
    )
    op.create_index("ix_ticket_history_ticket_id", "ticket_history", ["ticket_id", "id"])

    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        # Deferred: the key is claimed first (concurrent retries queue on the primary key), the ticket comes later
        # in the same transaction.
        sa.Column(
            "ticket_id",
            sa.Uuid(),
            sa.ForeignKey("tickets.id", ondelete="CASCADE", deferrable=True, initially="DEFERRED"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_idempotency_keys_ticket_id", "idempotency_keys", ["ticket_id"])
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("ticket_history")
    op.drop_table("ticket_screenshots")
    op.drop_table("ticket_messages")
    op.drop_table("tickets")
    op.drop_column("users", "kb_contribution")
