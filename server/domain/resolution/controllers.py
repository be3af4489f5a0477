"""``POST /api/v1/tickets/{id}/resolve`` and ``POST /api/v1/tickets/{id}/messages``: answers as Server-Sent Events.

Events (the SSE ``event:`` field; data is JSON): ``triage``, ``citation`` (rank order), ``delta``, ``error`` (the
model failed; a retrieval-only answer follows) and ``done`` (``message_id`` of the stored answer). The quota is
checked before the stream starts (402 ``quota_exceeded``), so a refused question never opens a stream.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from litestar import Controller, Litestar, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, SkipValidation
from litestar.response import ServerSentEvent
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import Ticket
from server.domain.accounts.guards import BEARER, bearer_required
from server.domain.accounts.services import Principal
from server.domain.billing.entitlements import Reservation, reserve
from server.domain.knowledge.embeddings import configured_embedder
from server.domain.resolution.engine import ResolutionInput, Resolver, ScreenshotInput
from server.domain.resolution.runs import RUNS_KEY, ResolutionRuns, RunTarget
from server.domain.tickets.deps import TICKET_DEPENDENCIES
from server.domain.tickets.limits import count_answer
from server.domain.tickets.schemas import FollowUp
from server.domain.tickets.services import TicketService
from server.integrations.openai import ChatModel, OpenAIChatModel
from server.lib.exceptions import Conflict, FieldError, ValidationFailed
from server.settings import Settings

__all__ = ["CHAT_MODEL_KEY", "ResolutionController", "chat_model_lifespan"]

CHAT_MODEL_KEY = "chat_model"


def chat_model_lifespan(settings: Settings) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """One chat-model client per process when a model is configured (else ``None``: retrieval-only answers)."""

    @asynccontextmanager
    async def keep_client(app: Litestar) -> AsyncIterator[None]:
        chat = OpenAIChatModel(settings.ai) if settings.ai.configured else None
        app.state[CHAT_MODEL_KEY] = chat
        try:
            yield
        finally:
            if chat is not None:
                await chat.aclose()

    return keep_client


async def _input(tickets: TicketService, ticket: Ticket, question: str | None) -> ResolutionInput:
    shots = await tickets.model_screenshots(ticket)
    earlier = [(m.role, m.content) for m in ticket.messages]
    if question is not None and earlier and earlier[-1] == ("user", question):
        earlier.pop()  # the question itself is passed apart
    return ResolutionInput(
        description=ticket.description,
        category=ticket.category if ticket.category_source == "user" else None,
        priority=ticket.priority if ticket.priority_source == "user" else None,
        screenshots=[ScreenshotInput(s.data, s.media_type, s.ocr_text) for s in shots],
        history=earlier,
        question=question,
    )


class ResolutionController(Controller):
    """AI (or retrieval-only) answers to the caller's own tickets."""

    path = "/api/v1/tickets"
    tags = ["resolution"]
    dependencies = TICKET_DEPENDENCIES
    security = BEARER
    guards = [bearer_required]

    async def _answer(
        self,
        *,
        ticket: Ticket,
        principal: Principal,
        tickets: TicketService,
        engine: AsyncEngine,
        settings: Settings,
        state: State,
        question: str | None,
    ) -> ServerSentEvent:
        chat: ChatModel | None = state[CHAT_MODEL_KEY]
        runs: ResolutionRuns = state[RUNS_KEY]
        runs.ensure_idle(ticket.id)  # before anything is stored or reserved
        await count_answer(engine, settings, principal.user.id)
        reservation: Reservation | None = None
        if chat is not None:  # one unit per model answer; retrieval-only answers are free
            reservation = await reserve(engine, settings.billing, principal.user.id, base_url=settings.server.base_url)
        try:
            first = not any(m.role == "assistant" for m in ticket.messages)
            if question is not None:
                await tickets.append_message(ticket, role="user", content=question, author_id=principal.user.id)
            request = await _input(tickets, ticket, question)
            await tickets.db.commit()  # the question is stored, and the request's connection goes back to the pool
            resolver = Resolver(
                engine=engine, embedder=await configured_embedder(settings.embeddings, settings.ai), chat=chat
            )
            stream = runs.start(resolver, request, RunTarget(ticket.id, first), reservation)
        except BaseException:
            if reservation is not None:
                await reservation.release()
            raise
        return ServerSentEvent(stream, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @post("/{ticket_id:uuid}/resolve", summary="Answer the ticket (Server-Sent Events)", status_code=200)
    async def resolve(
        self,
        *,
        ticket_id: FromPath[uuid.UUID],
        principal: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
        db_engine: NamedDependency[AsyncEngine],
        settings: NamedDependency[SkipValidation[Settings]],
        state: State,
    ) -> ServerSentEvent:
        """The first answer: triage, citations, the streamed answer, done. 409 ``already_answered`` after that (ask
        a follow-up instead), 409 ``ticket_closed`` on a closed ticket."""
        ticket = await tickets.get(ticket_id, principal.user)
        if ticket.status == "closed":
            raise Conflict("This ticket is closed.", code="ticket_closed")
        if any(m.role == "assistant" for m in ticket.messages):
            raise Conflict(
                "This ticket has its answer; ask a follow-up question instead.",
                code="already_answered",
            )
        return await self._answer(
            ticket=ticket,
            principal=principal,
            tickets=tickets,
            engine=db_engine,
            settings=settings,
            state=state,
            question=None,
        )

    @post("/{ticket_id:uuid}/messages", summary="Ask a follow-up question (Server-Sent Events)", status_code=200)
    async def follow_up(
        self,
        *,
        ticket_id: FromPath[uuid.UUID],
        data: JSONBody[FollowUp],
        principal: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
        db_engine: NamedDependency[AsyncEngine],
        settings: NamedDependency[SkipValidation[Settings]],
        state: State,
    ) -> ServerSentEvent:
        """Stores the question as a user message, then streams the answer like ``/resolve``."""
        question = data.content.strip()
        if not question:
            raise ValidationFailed("content is empty", errors=[FieldError("content", "must not be blank")])
        ticket = await tickets.get(ticket_id, principal.user)
        if ticket.status == "closed":
            raise Conflict("This ticket is closed.", code="ticket_closed")
        return await self._answer(
            ticket=ticket,
            principal=principal,
            tickets=tickets,
            engine=db_engine,
            settings=settings,
            state=state,
            question=question,
        )
