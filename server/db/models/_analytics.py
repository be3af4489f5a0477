"""Anonymized usage analytics: app sessions and their events, with no account, address, text or ticket."""

from __future__ import annotations

from advanced_alchemy.base import orm_registry
from sqlalchemy import BigInteger, Column, Date, Float, ForeignKey, Identity, Index, Integer, String, Table, Uuid

__all__ = ["analytics_events", "analytics_sessions"]

# One running app: a random id made at each start and never linked to an account; the day it began, not the time.
analytics_sessions = Table(
    "analytics_sessions",
    orm_registry.metadata,
    Column("id", Uuid, primary_key=True),
    Column("day", Date, nullable=False, index=True),
    Column("app_version", String(40), nullable=False),
    Column("os_family", String(16), nullable=False),
    Column("seconds", Integer, nullable=False, server_default="0"),  # how long it ran, as last reported
)

# What happened in it: a feature used, on a day, with one number where one means something (latency, box count).
analytics_events = Table(
    "analytics_events",
    orm_registry.metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("session_id", ForeignKey("analytics_sessions.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("day", Date, nullable=False),
    Column("name", String(32), nullable=False),
    Column("value", Float, nullable=True),
    Index("ix_analytics_events_day_name", "day", "name"),
)
