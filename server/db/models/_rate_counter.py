"""Rate-limit and throttle counters, shared by every server process through the database."""

from __future__ import annotations

from advanced_alchemy.base import orm_registry
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Column, Integer, String, Table

__all__ = ["rate_counters"]

# A plain table, not a model: it is only ever touched by single atomic statements (see server.lib.ratelimit).
rate_counters = Table(
    "rate_counters",
    orm_registry.metadata,
    Column("kind", String(32), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("window_start", DateTimeUTC(timezone=True), nullable=False),
    Column("count", Integer, nullable=False),
    Column("strikes", Integer, nullable=False, server_default="0"),
    Column("blocked_until", DateTimeUTC(timezone=True), nullable=True),
)
