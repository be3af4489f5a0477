"""Second factors and sign-in bookkeeping: TOTP secrets, recovery codes, pending challenges, spent OIDC nonces."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.base import UUIDv7AuditBase, orm_registry
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Column, ForeignKey, Integer, LargeBinary, String, Table
from sqlalchemy.orm import Mapped, mapped_column

__all__ = ["LoginChallenge", "TwoFactor", "oidc_nonces", "recovery_codes"]


class TwoFactor(UUIDv7AuditBase):
    """A user's TOTP secret (sealed with a key derived from the server's secret key).

    Pending until ``confirmed_at``: only a confirmed one is asked for at sign-in. ``last_step`` is the RFC 6238 time
    step of the last code accepted, so each code works once.
    """

    __tablename__ = "two_factor"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary(128))
    confirmed_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class LoginChallenge(UUIDv7AuditBase):
    """A sign-in that passed its first factor and waits for a code: single use, short-lived, few tries."""

    __tablename__ = "login_challenges"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    device_name: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # codes tried on it
    used_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # A first Google sign-in to an account with two-step sign-in on: linked only once the code is right.
    link_google_subject: Mapped[str | None] = mapped_column(String(255))


# Plain tables: touched only by single atomic statements.
recovery_codes = Table(
    "recovery_codes",
    orm_registry.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("code_hash", LargeBinary(32), primary_key=True),
    Column("used_at", DateTimeUTC(timezone=True), nullable=True),
)

# The nonce of every ID token accepted, until the token expires: a token is good for one sign-in.
oidc_nonces = Table(
    "oidc_nonces",
    orm_registry.metadata,
    Column("nonce_hash", LargeBinary(32), primary_key=True),
    Column("expires_at", DateTimeUTC(timezone=True), nullable=False, index=True),
)
