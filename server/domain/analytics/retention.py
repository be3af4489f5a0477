"""How long analytics are kept: 13 months, then a session goes with its events (the privacy policy's period)."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete

from server.db.models import analytics_sessions

if TYPE_CHECKING:
    from sqlalchemy import CursorResult
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["ANALYTICS_KEPT", "delete_old_analytics"]

# Aggregate-only data with no account in it: kept long enough to compare a month with the same month a year before.
ANALYTICS_KEPT = datetime.timedelta(days=395)


async def delete_old_analytics(conn: AsyncConnection, as_of: datetime.datetime) -> int:
    """Delete the sessions whose day is before ``as_of`` − :data:`ANALYTICS_KEPT`; their events go with them.

    Runs in the caller's transaction. ``as_of`` without a zone is UTC. Returns how many sessions were removed.
    """
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=datetime.UTC)
    cutoff = (as_of - ANALYTICS_KEPT).astimezone(datetime.UTC).date()
    result: CursorResult[Any] = await conn.execute(delete(analytics_sessions).where(analytics_sessions.c.day < cutoff))
    return result.rowcount
