"""Pooled connections checked for life only when they have been idle, not on every checkout."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.ext.asyncio import AsyncEngine
    from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

__all__ = ["PING_AFTER_IDLE_SECONDS", "ping_when_idle"]

PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED_AT = "techpal_returned_at"


def ping_when_idle(
    engine: AsyncEngine, idle_seconds: float = PING_AFTER_IDLE_SECONDS, *, clock: Callable[[], float] = time.monotonic
) -> None:
    """Ping a pooled connection before it is handed out only if it sat unused longer than ``idle_seconds``.

    ``pool_pre_ping`` pings on every checkout, and asyncpg's ping is three round trips (BEGIN, a query, ROLLBACK),
    about 0.4 ms; an answer takes four connections before its model call. A connection returned within the last
    second is almost surely alive (HikariCP skips validation within 500 ms for the same reason); if the database
    restarted in that second, one request fails and SQLAlchemy discards the whole pool. A connection found dead by
    the ping is replaced before the caller sees it. Use with ``pool_pre_ping=False`` and a LIFO pool (so a lightly
    loaded server reuses its freshest connection). ``clock`` gives seconds (tests move it instead of waiting).
    """

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _returned(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED_AT] = clock()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or clock() - returned_at <= idle_seconds:
            return  # new, or used moments ago
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("pooled connection is dead") from exc  # the pool retries with a new one
