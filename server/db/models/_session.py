"""Signed-in devices: one session per login, with a chain of rotating refresh tokens."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

__all__ = ["RefreshToken", "UserSession"]


class UserSession(UUIDv7AuditBase):
    """A login on one device; access tokens name it, so revoking it ends them at once."""

    __tablename__ = "user_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    device_name: Mapped[str] = mapped_column(String(200))
    last_used_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    revoked_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class RefreshToken(UUIDv7AuditBase):
    """One refresh token (its SHA-256 only). ``rotated_at`` set = spent; presenting it again revokes the session."""

    __tablename__ = "refresh_tokens"

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_sessions.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    rotated_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
