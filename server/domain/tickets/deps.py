"""Dependency providers of the tickets slice: the per-request :class:`TicketService`."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.domain.accounts import AUTH_DEPENDENCIES
from server.domain.tickets.reading import ScreenshotProcessor
from server.domain.tickets.services import TicketService
from server.domain.tickets.storage import BlobStorage

__all__ = ["TICKET_DEPENDENCIES", "provide_tickets"]


async def provide_tickets(
    db_session: NamedDependency[AsyncSession],
    db_engine: NamedDependency[AsyncEngine],
    storage: NamedDependency[SkipValidation[BlobStorage]],
    screenshots: NamedDependency[SkipValidation[ScreenshotProcessor]],
) -> TicketService:
    """The ticket service bound to this request's database session."""
    return TicketService(db_session, storage=storage, processor=screenshots, engine=db_engine)


TICKET_DEPENDENCIES = {**AUTH_DEPENDENCIES, "tickets": Provide(provide_tickets)}
