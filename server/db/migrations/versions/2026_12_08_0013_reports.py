"""Reports: ``pg_trgm``, with which the AI figures tell a problem asked again from a new one.

Revision ID: 0013_reports
Revises: 0012_analytics
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0013_reports"
down_revision = "0012_analytics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: the database's owner may create it.
    # The KPI report's near-duplicate rule (server/domain/reports/kpis.py) compares descriptions with similarity().
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


def downgrade() -> None:
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
