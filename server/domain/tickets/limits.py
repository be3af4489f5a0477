"""Per-user hourly limits on creating tickets and asking for answers.

The limits are ``TECHPAL_TICKETS_PER_HOUR`` and ``TECHPAL_ANSWERS_PER_HOUR``: screenshots and answers cost CPU and
model budget shared by everyone.

Counted in the database (:mod:`server.lib.ratelimit`), so every server process sees the same numbers. A create is
counted before any screenshot is read (a refused upload costs nothing but a small form, ≤ 64 KiB, read first), in
autocommit before the request's transaction: the count stands whatever becomes of the request.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from server.lib.ratelimit import RateLimiter, Rule

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from server.settings import Settings

__all__ = ["count_answer", "count_ticket"]

HOUR = datetime.timedelta(hours=1)


async def count_ticket(db: AsyncSession, settings: Settings, user_id: uuid.UUID) -> None:
    """One ticket created by ``user_id``, counted on ``db`` (an autocommit session: the count stands).

    429 ``rate_limited`` with ``Retry-After`` over the hourly limit.
    """
    rule = Rule("ticket_create", settings.tickets.per_hour, HOUR)
    connection = await db.connection()
    await RateLimiter(connection.engine).hit(rule, str(user_id), connection=connection)


async def count_answer(engine: AsyncEngine, settings: Settings, user_id: uuid.UUID) -> None:
    """One answer (resolve or follow-up) asked for by ``user_id``; 429 over the hourly limit."""
    await RateLimiter(engine).hit(Rule("ticket_answer", settings.tickets.answers_per_hour, HOUR), str(user_id))
