"""Dependency providers and app state of the tickets slice: the screenshot processor and the blob store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.accounts.deps import AUTH_DEPENDENCIES
from server.domain.tickets.images import ScreenshotProcessor
from server.domain.tickets.services import TicketService
from server.domain.tickets.storage import BlobStorage, LocalBlobStorage
from server.settings import Settings

__all__ = ["TICKET_DEPENDENCIES", "provide_tickets", "tickets_lifespan", "tickets_state"]

PROCESSOR_KEY = "screenshot_processor"
STORAGE_KEY = "blob_storage"


def tickets_state(settings: Settings) -> dict[str, Any]:
    """What the slice keeps on ``app.state``: one screenshot processor (its worker pool) and the blob store."""
    return {
        PROCESSOR_KEY: ScreenshotProcessor(),
        STORAGE_KEY: LocalBlobStorage(settings.data_dir / "blobs"),
    }


def tickets_lifespan(state: dict[str, Any]) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A lifespan that closes the processor's worker pool when the app shuts down."""

    @asynccontextmanager
    async def close_processor(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            processor: ScreenshotProcessor = state[PROCESSOR_KEY]
            await processor.close()

    return close_processor


async def provide_tickets(db_session: NamedDependency[AsyncSession], state: State) -> TicketService:
    """The ticket service bound to this request's database session."""
    storage: BlobStorage = state[STORAGE_KEY]
    processor: ScreenshotProcessor = state[PROCESSOR_KEY]
    return TicketService(db_session, storage=storage, processor=processor)


TICKET_DEPENDENCIES = {**AUTH_DEPENDENCIES, "tickets": Provide(provide_tickets)}
