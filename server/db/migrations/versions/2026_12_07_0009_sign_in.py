"""Sign-in: Google accounts linked by subject id, two-step sign-in (TOTP, recovery codes, challenges), spent nonces.

An account made by Google sign-in has no password until its owner sets one, so ``password_hash`` becomes nullable.

Revision ID: 0009_sign_in
Revises: 0008_cancel_email
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_sign_in"
down_revision = "0008_cancel_email"
branch_labels = None
depends_on = None


def _audit_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _user_id() -> sa.Column[object]:
    return sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.alter_column("users", "password_hash", nullable=True)
    op.add_column("users", sa.Column("google_subject", sa.String(255), nullable=True))
    op.create_unique_constraint("uq_users_google_subject", "users", ["google_subject"])

    op.create_table(
        "two_factor",
        *_audit_columns(),
        _user_id(),
        sa.Column("sealed_secret", sa.LargeBinary(128), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("user_id", name="uq_two_factor_user_id"),
    )
    op.create_table(
        "login_challenges",
        *_audit_columns(),
        _user_id(),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("device_name", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("link_google_subject", sa.String(255), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_login_challenges_token_hash"),
    )
    op.create_index("ix_login_challenges_user_id", "login_challenges", ["user_id"])
    op.create_table(
        "recovery_codes",
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("code_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "oidc_nonces",
        sa.Column("nonce_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_oidc_nonces_expires_at", "oidc_nonces", ["expires_at"])


def downgrade() -> None:
    for table in ("oidc_nonces", "recovery_codes", "login_challenges", "two_factor"):
        op.drop_table(table)
    op.drop_constraint("uq_users_google_subject", "users", type_="unique")
    op.drop_column("users", "google_subject")
    # Accounts made by Google sign-in have no password: they cannot exist before this revision.
    op.execute("DELETE FROM users WHERE password_hash IS NULL")
    op.alter_column("users", "password_hash", nullable=False)
