"""The answer use case: limits, quota, the stored question, and a run that streams the answer."""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING

from litestar.response import ServerSentEvent

from server.db.transactions import request_session_in_autocommit, session_of_its_own
from server.domain.billing import Reservation, reserve
from server.domain.resolution.engine import ResolutionInput, Resolver, ScreenshotInput
from server.domain.resolution.runs import ResolutionRuns, RunTarget
from server.domain.resolution.schemas import Note, Progress
from server.domain.tickets import TicketService, count_answer
from server.lib.exceptions import Conflict

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable, Iterable

    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.db.models import Ticket, TicketScreenshot
    from server.domain.accounts import AccountService, Bearer, Principal
    from server.domain.knowledge import Embedder, Embedders, KbStatus
    from server.integrations.openai import ChatModel
    from server.settings import Settings

__all__ = ["AI_PROCESSING_OFF", "Answers"]

AI_PROCESSING_OFF = Note(
    code="ai_processing_off",
    message=(
        "You turned AI processing off, so this answer comes from our knowledge base only: nothing you wrote or "
        "captured was sent to an AI model."
    ),
)


READING_SCREENSHOT = Progress(code="reading_screenshot", message="Reading your screenshot…")
SCREENSHOT_READ_WAIT_S = 120.0  # then the answer goes on without the screenshots still unread


def _text_input(ticket: Ticket, question: str | None) -> ResolutionInput:
    """What the search needs, without the screenshots' model copies (only a model sees them)."""
    return ResolutionInput(
        description=ticket.description,
        category=ticket.category if ticket.category_source == "user" else None,
        priority=ticket.priority if ticket.priority_source == "user" else None,
        screenshots=_texts_of(ticket.screenshots),
        history=[(m.role, m.content) for m in ticket.messages],  # read before the question is stored: it goes apart
        question=question,
    )


def _texts_of(screenshots: Iterable[TicketScreenshot]) -> list[ScreenshotInput]:
    return [ScreenshotInput(b"", s.model_media_type or "", s.ocr_text or "") for s in screenshots]


async def _with_images(
    tickets: TicketService, screenshots: Iterable[TicketScreenshot], request: ResolutionInput
) -> ResolutionInput:
    shots = [ScreenshotInput(s.data, s.media_type, s.ocr_text) for s in await tickets.model_screenshots(screenshots)]
    return dataclasses.replace(request, screenshots=shots)


async def _once_read(
    tickets: TicketService,
    ticket_id: uuid.UUID,
    request: ResolutionInput,
    emit: Callable[[Progress], None],
    *,
    with_images: bool,
) -> ResolutionInput:
    """``request`` with the ticket's screenshots as their jobs left them (``progress`` streamed while waiting)."""
    emit(READING_SCREENSHOT)
    shots = await tickets.screenshots_once_read(ticket_id, within=SCREENSHOT_READ_WAIT_S)
    request = dataclasses.replace(request, screenshots=_texts_of(shots))
    return await _with_images(tickets, shots, request) if with_images else request


class Answers:
    """Starts an answer run for a ticket of the caller's: limits, quota, the stored question, the stream."""

    def __init__(
        self,
        tickets: TicketService,
        *,
        accounts: AccountService,
        engine: AsyncEngine,
        settings: Settings,
        chat: ChatModel | None,
        runs: ResolutionRuns,
        embedders: Embedders,
        kb_status: KbStatus,
    ) -> None:
        self._tickets = tickets
        self._accounts = accounts
        self._engine = engine
        self._settings = settings
        self._chat = chat
        self._runs = runs
        self._embedders = embedders
        self._kb_status = kb_status

    async def open_ticket(self, ticket_id: uuid.UUID, credentials: Bearer) -> tuple[Principal, Ticket]:
        """The caller and their ticket, unless it is closed (409 ``ticket_closed``); another user's is a 404.

        Both are read on the request's session in autocommit, and its connection goes back to the pool at once: until
        the question is stored, the request holds no pooled connection while the limit, the quota and the search take
        theirs (no pool starvation under load). The objects are detached then: an answer only reads them.
        """
        async with request_session_in_autocommit(self._tickets.db):
            principal = await self._accounts.authenticate_bearer(credentials)
            ticket = await self._tickets.get(ticket_id, principal.user, history=False)  # history: never read
        if ticket.status == "closed":
            raise Conflict("This ticket is closed.", code="ticket_closed")
        return principal, ticket

    async def _ai_for(self, principal: Principal) -> tuple[ChatModel | None, Embedder | None]:
        """The chat model and query embedder for this user: none that is remote when they objected to AI."""
        settings = self._settings
        if principal.user.ai_processing:
            return self._chat, await self._embedders.configured(settings.embeddings, settings.ai)
        local = settings.embeddings == "local"
        return None, await self._embedders.configured("local") if local else None

    def _notes(self, principal: Principal) -> list[Note]:
        notes = [] if principal.user.ai_processing else [AI_PROCESSING_OFF]
        if not self._kb_status.ready:
            share = f" ({self._kb_status.share_done:.0%} done)" if self._kb_status.total else ""
            notes.append(
                Note(
                    code="kb_loading",
                    message=(
                        f"Our knowledge base is still loading{share}, so this answer may miss an article that "
                        "fits; ask again in a few minutes for a fuller one."
                    ),
                )
            )
        return notes

    async def stream(self, ticket: Ticket, principal: Principal, question: str | None) -> ServerSentEvent:
        """Check limits and quota, store the question, start the run; its events as the response."""
        settings, engine = self._settings, self._engine
        await self._runs.claim(ticket.id)  # before anything is stored or reserved; 409 while another runs
        try:
            await count_answer(engine, settings, principal.user.id)
        except BaseException:
            await self._runs.release(ticket.id)
            raise
        request = _text_input(ticket, question)
        chat, embedder = await self._ai_for(principal)
        request = dataclasses.replace(request, notes=self._notes(principal))
        resolver = Resolver(engine=engine, embedder=embedder, chat=chat, ai_off=not principal.user.ai_processing)
        # Searching from here on, while the quota is reserved, the model copies are read, the question is stored
        # and the stream opens. The search holds one pooled connection and waits for no other: no starvation.
        # A screenshot still being read comes first: the run waits for it, then searches.
        unread = any(shot.processed_at is None for shot in ticket.screenshots)
        prepare = (
            functools.partial(_once_read, self._tickets, ticket.id, request, with_images=chat is not None)
            if unread
            else None
        )
        found = None if unread else resolver.find_passages(request)
        reservation: Reservation | None = None
        try:
            if chat is not None:  # one unit per model answer; retrieval-only answers are free
                reservation = await reserve(
                    engine, settings.billing, principal.user.id, base_url=settings.server.base_url
                )
                if not unread:  # read before the question's transaction opens: the model copies are files
                    request = await _with_images(self._tickets, ticket.screenshots, request)
            first = not any(m.role == "assistant" for m in ticket.messages)
            if question is not None:  # committed before the run starts: an answer never outlives its question
                async with session_of_its_own(engine) as db:
                    store = TicketService(db, storage=self._tickets.storage)
                    stored = await db.merge(ticket, load=False)  # read above; no second read
                    await store.append_message(stored, role="user", content=question, author_id=principal.user.id)
            target = RunTarget(ticket.id, first)
            stream = self._runs.start(resolver, request, target, reservation, found=found, prepare=prepare)
        except BaseException:
            if found is not None:
                found.cancel()
            if reservation is not None:
                await reservation.release()
            await self._runs.release(ticket.id)
            raise
        return ServerSentEvent(stream, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
