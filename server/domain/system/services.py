"""Health checks of the components the server depends on."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import text

from server.db.transactions import autocommit_connection
from server.domain.system.schemas import ComponentHealth

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["check_database"]

logger = structlog.get_logger(__name__)
DATABASE_TIMEOUT_S = 3.0


async def check_database(engine: AsyncEngine) -> ComponentHealth:
    """Run ``SELECT 1``; a database that does not answer within a few seconds counts as down."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_S), autocommit_connection(engine) as connection:
            await connection.execute(text("SELECT 1"))
    except (TimeoutError, OSError, Exception) as exc:
        logger.warning("database_unhealthy", error=type(exc).__name__)
        return ComponentHealth(state="down", detail="The database does not answer.")
    return ComponentHealth(state="ok", latency_ms=round((time.perf_counter() - started) * 1000, 1))
