"""Tickets, messages, screenshots, history, idempotency keys.

Revision ID: 0004_tickets
Revises: 0003_knowledge
Create Date: 2026-11-27
"""

from __future__ import annotations

revision = "0004_tickets"
down_revision = "0003_knowledge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
