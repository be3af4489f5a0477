"""Knowledge-base review of grown articles: fixes merged into published articles wait here as contributions.

Revision ID: 0005_kb_review
Revises: 0004_tickets
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_kb_review"
down_revision = "0004_tickets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_contributions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("article_id", sa.Uuid(), sa.ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("proposed_text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("reviewed_by", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="ck_kb_contributions_status"),
    )
    op.create_index("ix_kb_contributions_article_id", "kb_contributions", ["article_id"])
    # The review list reads the pending ones, newest first.
    op.create_index(
        "ix_kb_contributions_pending",
        "kb_contributions",
        ["created_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("kb_contributions")
