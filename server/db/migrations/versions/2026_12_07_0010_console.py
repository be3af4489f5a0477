"""The support console: who a ticket is assigned to, and the access log of staff looking at tickets.

Revision ID: 0010_console
Revises: 0009_sign_in
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_console"
down_revision = "0009_sign_in"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "tickets",
        sa.Column("assignee_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    op.create_index("ix_tickets_assignee_id", "tickets", ["assignee_id"])

    op.create_table(
        "ticket_views",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("viewer_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("viewer_role", sa.String(16), nullable=False),
        sa.Column("screenshot", sa.Integer(), nullable=True),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("viewer_role IN ('agent', 'admin')", name="ck_ticket_views_viewer_role"),
        sa.CheckConstraint("screenshot IS NULL OR screenshot >= 0", name="ck_ticket_views_screenshot"),
    )
    op.create_index("ix_ticket_views_ticket_id", "ticket_views", ["ticket_id", "id"])
    op.create_index("ix_ticket_views_viewer_id", "ticket_views", ["viewer_id"])


def downgrade() -> None:
    op.drop_table("ticket_views")
    op.drop_index("ix_tickets_assignee_id", table_name="tickets")
    op.drop_column("tickets", "assignee_id")
