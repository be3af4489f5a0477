"""Accounts: people who sign in, with one role each."""

from __future__ import annotations

import datetime
from typing import Literal

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, CheckConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

__all__ = ["ROLES", "Role", "User"]

Role = Literal["user", "agent", "admin"]
ROLES: tuple[Role, ...] = ("user", "agent", "admin")


class User(UUIDv7AuditBase):
    """An account. ``email`` and ``username`` are unique case-insensitively (expression indexes)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('user', 'agent', 'admin')", name="role"),
        Index("uq_users_email_lower", text("lower(email)"), unique=True),
        Index("uq_users_username_lower", text("lower(username)"), unique=True),
    )

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    username: Mapped[str] = mapped_column(String(32))
    # None for an account made by Google sign-in until its owner sets a password (a reset link does that).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user", server_default="user")
    email_verified_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    age_confirmed_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    # The user's objections (false = objected): whether a resolved ticket's anonymised fix may join the knowledge
    # base, whether usage events are recorded, whether their text and images may reach the AI model.
    kb_contribution: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    analytics: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    ai_processing: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # Set by a deletion: the account cannot sign in, and is purged after ``purge_after`` unless restored.
    deleted_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    purge_after: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), index=True)
    # The Google account linked for sign-in: its stable subject id, the only thing kept from Google.
    google_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
