"""Anonymized usage analytics: app sessions and their events.

Revision ID: 0012_analytics
Revises: 0011_api_keys
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_analytics"
down_revision = "0011_api_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_sessions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("app_version", sa.String(40), nullable=False),
        sa.Column("os_family", sa.String(16), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_analytics_sessions_day", "analytics_sessions", ["day"])
    op.create_table(
        "analytics_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "session_id", sa.Uuid(), sa.ForeignKey("analytics_sessions.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
    )
    op.create_index("ix_analytics_events_session_id", "analytics_events", ["session_id"])
    op.create_index("ix_analytics_events_day_name", "analytics_events", ["day", "name"])


def downgrade() -> None:
    op.drop_table("analytics_events")
    op.drop_table("analytics_sessions")
