"""Fixes proposed for an already-published article: they wait for an agent's review before they go live."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

__all__ = ["KbContribution"]


class KbContribution(UUIDv7AuditBase):
    """Anonymized text to append to ``article_id`` once approved (``pending`` → ``approved`` | ``rejected``)."""

    __tablename__ = "kb_contributions"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        Index("ix_kb_contributions_pending", "created_at", postgresql_where=text("status = 'pending'")),
    )

    article_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    proposed_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
