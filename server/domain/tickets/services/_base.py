"""The ticket service's state, its outcomes and its reads (the owner's and the staff's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import ColumnElement, func, select

from server.db.models import (
    Status,
    Ticket,
    TicketScreenshot,
    User,
)
from server.db.transactions import session_of_its_own
from server.domain.tickets.queries import (
    STAFF_ROLES,
    loaded,
    screenshot_count,
)
from server.domain.tickets.reading import wait_until_read
from server.lib.exceptions import NotFound, ServiceUnavailable

if TYPE_CHECKING:
    import datetime
    import uuid
    from collections.abc import Iterable

    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from server.domain.tickets.reading import ScreenshotProcessor
    from server.domain.tickets.storage import BlobStorage

__all__ = ["RETRIEVAL_ONLY_MODEL", "CreatedTicket", "MessageUsage", "ModelScreenshot", "TicketServiceBase"]

logger = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CreatedTicket:
    """The outcome of a create: the ticket (with its relations loaded) and whether it was an idempotent replay.

    A new ticket is built in memory, not loaded through the session: to change it, load it with
    :meth:`TicketService.get`.
    """

    ticket: Ticket
    replayed: bool


RETRIEVAL_ONLY_MODEL = "retrieval-only"  # the model recorded on answers made without a chat model
SCREENSHOT_WAIT_S = 10.0  # how long a reader waits for a screenshot's job before a 503


@dataclass(frozen=True, slots=True)
class MessageUsage:
    """What an assistant message cost: recorded per message for cost reports and quotas.

    ``model`` is :data:`RETRIEVAL_ONLY_MODEL` for an answer made without a chat model.
    """

    model: str
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ModelScreenshot:
    """A screenshot as the resolver uses it: the downscaled copy (long side ≤ 1568 px) and its OCR text."""

    index: int
    data: bytes
    media_type: str
    ocr_text: str


class TicketServiceBase:
    """Ticket use cases on the request's database session (they flush; the request commits)."""

    def __init__(
        self,
        db: AsyncSession,
        *,
        storage: BlobStorage,
        processor: ScreenshotProcessor | None = None,
        engine: AsyncEngine | None = None,
    ) -> None:
        self.db = db
        self.storage = storage
        self.processor = processor
        self._engine = engine

    # ------------------------------------------------------------------------------------------ reading
    async def _load(self, ticket_id: uuid.UUID, *, lock: bool = False, history: bool = True) -> Ticket:
        query = loaded(select(Ticket).where(Ticket.id == ticket_id), history=history)
        query = query.execution_options(populate_existing=True)
        if lock:  # changes of one ticket queue up behind each other until the caller commits
            # NO KEY UPDATE: changes wait for each other, while rows that only refer to the ticket (an access-log
            # line written in a transaction of its own) can still be added.
            query = query.with_for_update(of=Ticket, key_share=True)
        ticket: Ticket | None = (await self.db.execute(query)).scalar_one_or_none()
        if ticket is None:
            raise NotFound("There is no such ticket.", code="ticket_not_found")
        return ticket

    async def get(
        self,
        ticket_id: uuid.UUID,
        viewer: User,
        *,
        staff_may_see: bool = False,
        lock: bool = False,
        history: bool = True,
    ) -> Ticket:
        """The ticket with messages, screenshots and (unless ``history=False``) history, if ``viewer`` may see it.

        ``viewer`` may see it if they own it (or, with ``staff_may_see``, are an agent or admin); anyone else gets the
        same 404 as for a ticket that does not exist. Read on the request's session, or on ``db`` when the caller reads
        before the request's transaction.
        """
        ticket = await self._load(ticket_id, lock=lock, history=history)
        allowed = ticket.owner_id == viewer.id or (staff_may_see and viewer.role in STAFF_ROLES)
        if not allowed:
            raise NotFound("There is no such ticket.", code="ticket_not_found")
        return ticket

    async def list_own(
        self, owner_id: uuid.UUID, *, limit: int, offset: int, updated_since: datetime.datetime | None = None
    ) -> tuple[list[tuple[Ticket, int]], int]:
        """The owner's tickets newest first (``created_at``), with screenshot counts, and the total that match."""
        where: list[ColumnElement[bool]] = [Ticket.owner_id == owner_id]
        if updated_since is not None:
            where.append(Ticket.updated_at > updated_since)
        return await self._page(where, limit=limit, offset=offset, order=[Ticket.created_at.desc(), Ticket.id.desc()])

    async def list_by_status(
        self, statuses: Iterable[Status], *, limit: int, offset: int
    ) -> tuple[list[tuple[Ticket, int]], int]:
        """Everyone's tickets in ``statuses``, longest-waiting first (``updated_at``): the agents' queue."""
        where: list[ColumnElement[bool]] = [Ticket.status.in_(list(statuses))]
        return await self._page(where, limit=limit, offset=offset, order=[Ticket.updated_at.asc(), Ticket.id.asc()])

    async def _page(
        self, where: list[ColumnElement[bool]], *, limit: int, offset: int, order: list[Any]
    ) -> tuple[list[tuple[Ticket, int]], int]:
        total = await self.db.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
        rows = await self.db.execute(
            select(Ticket, screenshot_count()).where(*where).order_by(*order).limit(limit).offset(offset)
        )
        return [(row[0], int(row[1])) for row in rows], int(total)

    async def screenshot(self, ticket: Ticket, index: int) -> tuple[bytes, str]:
        """The stored (sanitised) bytes of screenshot ``index`` and its media type; 404 if there is none.

        A screenshot still being read is waited for (up to :data:`SCREENSHOT_WAIT_S`), then 503
        ``screenshot_processing`` with ``Retry-After``: until its job ran, the file is the upload as sent.
        """
        shot = self._shot(ticket, index)
        if shot.processed_at is None:
            if self._engine is None or not await wait_until_read(self._engine, ticket.id, within=SCREENSHOT_WAIT_S):
                raise ServiceUnavailable(
                    "This screenshot is still being read; try again in a moment.",
                    code="screenshot_processing",
                    headers={"Retry-After": "5"},
                )
            read = select(TicketScreenshot).where(TicketScreenshot.id == shot.id)
            found = await self.db.scalar(read.execution_options(populate_existing=True))
            if found is None:  # dropped: it could not be read after all
                raise NotFound("This ticket has no screenshot with that number.", code="screenshot_not_found")
            shot = found
        return await self.storage.get(shot.blob_key), shot.media_type

    async def model_screenshots(self, screenshots: Iterable[TicketScreenshot]) -> list[ModelScreenshot]:
        """The model copies and OCR texts of those of ``screenshots`` that are processed, in their order."""
        return [
            ModelScreenshot(shot.position, await self.storage.get(key), media_type, shot.ocr_text or "")
            for shot in screenshots
            if (key := shot.model_blob_key) is not None and (media_type := shot.model_media_type) is not None
        ]

    async def screenshots_once_read(self, ticket_id: uuid.UUID, *, within: float) -> list[TicketScreenshot]:
        """The ticket's screenshots once their jobs ran; those still unread after ``within`` seconds are left out.

        Read on a session of their own: the caller (an answer's run) may outlive its request.
        """
        engine = self._engine
        if engine is None:
            raise RuntimeError("TicketService needs the engine to wait for screenshots")
        await wait_until_read(engine, ticket_id, within=within)
        async with session_of_its_own(engine) as db:
            rows = await db.scalars(
                select(TicketScreenshot)
                .where(TicketScreenshot.ticket_id == ticket_id, TicketScreenshot.processed_at.is_not(None))
                .order_by(TicketScreenshot.position)
            )
            return list(rows)

    @staticmethod
    def _shot(ticket: Ticket, index: int) -> TicketScreenshot:
        for shot in ticket.screenshots:
            if shot.position == index:
                return shot
        raise NotFound("This ticket has no screenshot with that number.", code="screenshot_not_found")

    # ------------------------------------------------------------------------------------------ helpers for agents
    async def get_for_staff(self, ticket_id: uuid.UUID, *, lock: bool = False) -> Ticket:
        """Any ticket with its relations (for agent routes, already behind a role check); 404 if missing."""
        return await self._load(ticket_id, lock=lock)
