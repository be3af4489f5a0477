"""E-mail tokens may also cancel an address change (the link mailed to the old address).

Revision ID: 0008_cancel_email
Revises: 0007_data_rights
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0008_cancel_email"
down_revision = "0007_data_rights"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("ck_email_tokens_purpose", "email_tokens", type_="check")
    op.create_check_constraint(
        "ck_email_tokens_purpose", "email_tokens", "purpose IN ('verify_email', 'reset_password', 'cancel_email')"
    )


def downgrade() -> None:
    op.execute("DELETE FROM email_tokens WHERE purpose = 'cancel_email'")
    op.drop_constraint("ck_email_tokens_purpose", "email_tokens", type_="check")
    op.create_check_constraint("ck_email_tokens_purpose", "email_tokens", "purpose IN ('verify_email', 'reset_password')")
