"""Data rights: exports of a user's data, and the privacy-policy versions users are told about."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.base import UUIDv7AuditBase, orm_registry
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, String, Table, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

__all__ = ["DataExport", "policy_acceptances", "policy_versions"]


class DataExport(UUIDv7AuditBase):
    """One ZIP of a user's data: ``pending`` until built, then ``ready`` (``size_bytes`` set) until ``expires_at``.

    The file lives under the data dir (``exports/<id>.zip``), never in the database.
    """

    __tablename__ = "data_exports"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'ready')", name="status"),
        Index("ix_data_exports_user_created", "user_id", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    ready_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)


# Each published version of the privacy policy, newest = current.
policy_versions = Table(
    "policy_versions",
    orm_registry.metadata,
    Column("version", String(64), primary_key=True),
    Column("summary", Text, nullable=False),
    Column("url", String(1000), nullable=True),
    Column("published_at", DateTimeUTC(timezone=True), nullable=False),
)

# Who acknowledged which version, and when.
policy_acceptances = Table(
    "policy_acceptances",
    orm_registry.metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("version", String(64), ForeignKey("policy_versions.version", ondelete="CASCADE"), primary_key=True),
    Column("accepted_at", DateTimeUTC(timezone=True), nullable=False),
)
