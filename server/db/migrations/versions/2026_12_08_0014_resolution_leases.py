"""One running answer per ticket across every server process.

Revision ID: 0014_resolution_leases
Revises: 0013_reports
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_resolution_leases"
down_revision = "0013_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resolution_leases",
        sa.Column(
            "ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("resolution_leases")
