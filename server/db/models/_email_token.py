"""Single-use tokens mailed to a user: address verification, password reset, cancelling an address change."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

__all__ = ["EmailToken"]


class EmailToken(UUIDv7AuditBase):
    """A mailed token (SHA-256 only). ``email`` is the address it proves: a new one replaces the old on use.

    For ``cancel_email`` (mailed to the old address when the address changes) ``email`` is that old address: using the
    token puts it back, cancels the pending change and ends every session.
    """

    __tablename__ = "email_tokens"
    __table_args__ = (CheckConstraint("purpose IN ('verify_email', 'reset_password', 'cancel_email')", name="purpose"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    email: Mapped[str] = mapped_column(String(320))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    used_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
