"""The answers being written: one lease per ticket, shared by every server process."""

from __future__ import annotations

from advanced_alchemy.base import orm_registry
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Column, ForeignKey, Table

__all__ = ["resolution_leases"]

# A plain table: claimed and released by single atomic statements (server.domain.resolution.runs). A lease whose
# process died ends at ``expires_at``.
resolution_leases = Table(
    "resolution_leases",
    orm_registry.metadata,
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
)
