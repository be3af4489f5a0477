"""Knowledge-base review of grown articles.

Revision ID: 0005_kb_review
Revises: 0004_tickets
Create Date: 2026-11-27
"""

from __future__ import annotations

revision = "0005_kb_review"
down_revision = "0004_tickets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
