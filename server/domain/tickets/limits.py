"""Per-user limits on creating tickets and asking for answers: hourly counts, and creates in flight.

The hourly limits are ``TECHPAL_TICKETS_PER_HOUR`` and ``TECHPAL_ANSWERS_PER_HOUR``: screenshots and answers cost
CPU and model budget shared by everyone. Counted in the database (:mod:`server.lib.ratelimit`), so every server
process sees the same numbers. A create is counted before any screenshot is read (a refused upload costs nothing but
a small form, ≤ 64 KiB, read first), in autocommit before the request's transaction: the count stands whatever
becomes of the request.

Creates in flight (their body arriving, their screenshots in the workers) are counted in the process
(:mod:`server.lib.inflight`): at most :data:`UPLOADS_IN_FLIGHT` per account, checked before the hourly count, so a
create refused for it costs no hourly credit. A body spools to disk, but a slow client could otherwise hold any
number of them open.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from server.lib.exceptions import TooManyRequests
from server.lib.inflight import InFlight, Slot
from server.lib.ratelimit import RateLimiter, Rule

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from server.settings import Settings

__all__ = ["UPLOADS_IN_FLIGHT", "count_answer", "count_ticket", "upload_slot", "uploads_in_flight"]

HOUR = datetime.timedelta(hours=1)
UPLOADS_IN_FLIGHT = 2
UPLOADS_RETRY_AFTER = 5  # seconds: an upload is read and processed in seconds


def uploads_in_flight() -> InFlight[uuid.UUID]:
    """A counter of creates in flight, per account (one per app)."""
    return InFlight(UPLOADS_IN_FLIGHT)


def upload_slot(uploads: InFlight[uuid.UUID], user_id: uuid.UUID) -> Slot[uuid.UUID]:
    """One more create of ``user_id`` in flight; 429 ``too_many_uploads`` with ``Retry-After`` past the limit."""
    slot = uploads.take(user_id)
    if slot is None:
        raise TooManyRequests(
            f"At most {UPLOADS_IN_FLIGHT} tickets can be sent at once; wait for one to finish.",
            code="too_many_uploads",
            retry_after=UPLOADS_RETRY_AFTER,
        )
    return slot


async def count_ticket(db: AsyncSession, settings: Settings, user_id: uuid.UUID) -> None:
    """One ticket created by ``user_id``, counted on ``db`` (an autocommit session: the count stands).

    429 ``rate_limited`` with ``Retry-After`` over the hourly limit.
    """
    rule = Rule("ticket_create", settings.tickets.per_hour, HOUR, policy="tickets")
    connection = await db.connection()
    await RateLimiter(connection.engine).hit(rule, str(user_id), connection=connection)


async def count_answer(engine: AsyncEngine, settings: Settings, user_id: uuid.UUID) -> None:
    """One answer (resolve or follow-up) asked for by ``user_id``; 429 over the hourly limit."""
    rule = Rule("ticket_answer", settings.tickets.answers_per_hour, HOUR, policy="answers")
    await RateLimiter(engine).hit(rule, str(user_id))
