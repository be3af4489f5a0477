"""API keys for third-party integrations, and the log of the requests made with them."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.base import UUIDv7AuditBase, orm_registry
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

__all__ = ["ApiKey", "api_key_usage"]


class ApiKey(UUIDv7AuditBase):
    """A key its owner made: only its keyed hash (HMAC-SHA-256) and its display prefix are stored."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_user_id", "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(8))
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    expires_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    revoked_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    last_used_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))


# A plain table: written in batches, read by aggregate queries, deleted after 90 days. ``key_id`` names an api_keys
# row without a foreign key: checking one locks the key's row for every logged request, which the requests' own
# lookups of that key then wait on. A key is deleted only after its last logged request is 90 days old (retention)
# or together with its account, whose purge deletes the key's rows first.
api_key_usage = Table(
    "api_key_usage",
    orm_registry.metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("key_id", Uuid, nullable=False),
    Column("at", DateTimeUTC(timezone=True), nullable=False),
    Column("method", String(8), nullable=False),
    Column("route", String(200), nullable=False),  # the route's template, never the path, query or body
    Column("status", SmallInteger, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_api_key_usage_key_at", "key_id", "at"),
    Index("ix_api_key_usage_at", "at"),
)
