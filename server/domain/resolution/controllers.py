"""``POST /api/v1/tickets/{id}/resolve`` and ``POST /api/v1/tickets/{id}/messages``: answers as Server-Sent Events.

Events (the SSE ``event:`` field; data is JSON): ``triage``, ``citation`` (rank order), ``delta``, ``error`` (the
model failed; a retrieval-only answer follows) and ``done`` (``message_id`` of the stored answer). The quota is
checked before the stream starts (402 ``quota_exceeded``), so a refused question never opens a stream.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from litestar import Controller, Litestar, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
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


def _text_input(ticket: Ticket, question: str | None) -> ResolutionInput:
    """What the search needs, without the screenshots' model copies (only a model sees them)."""
    return ResolutionInput(
        description=ticket.description,
        category=ticket.category if ticket.category_source == "user" else None,
        priority=ticket.priority if ticket.priority_source == "user" else None,
        screenshots=[ScreenshotInput(b"", s.model_media_type, s.ocr_text or "") for s in ticket.screenshots],
        history=[(m.role, m.content) for m in ticket.messages],  # read before the question is stored: it goes apart
        question=question,
    )


async def _with_images(tickets: TicketService, ticket: Ticket, request: ResolutionInput) -> ResolutionInput:
    shots = [ScreenshotInput(s.data, s.media_type, s.ocr_text) for s in await tickets.model_screenshots(ticket)]
    return dataclasses.replace(request, screenshots=shots)


class Answers:
    """Starts an answer run for a ticket of the caller's: limits, quota, the stored question, the stream."""

    def __init__(self, tickets: TicketService, engine: AsyncEngine, settings: Settings, state: State) -> None:
        self._tickets = tickets
        self._engine = engine
        self._settings = settings
        self._chat: ChatModel | None = state[CHAT_MODEL_KEY]
        self._runs: ResolutionRuns = state[RUNS_KEY]

    async def open_ticket(self, ticket_id: uuid.UUID, principal: Principal) -> Ticket:
        """The caller's ticket, unless it is closed (409 ``ticket_closed``); another user's is a 404."""
        ticket = await self._tickets.get(ticket_id, principal.user, history=False)  # an answer never reads it
        if ticket.status == "closed":
            raise Conflict("This ticket is closed.", code="ticket_closed")
        return ticket

    async def stream(self, ticket: Ticket, principal: Principal, question: str | None) -> ServerSentEvent:
        """Check limits and quota, store the question, start the run; its events as the response."""
        settings, engine = self._settings, self._engine
        self._runs.ensure_idle(ticket.id)  # before anything is stored or reserved
        await self._tickets.db.commit()  # give the request's connection back before the limit and quota take one
        await count_answer(engine, settings, principal.user.id)
        request = _text_input(ticket, question)
        embedder = await configured_embedder(settings.embeddings, settings.ai)
        resolver = Resolver(engine=engine, embedder=embedder, chat=self._chat)
        # Searching from here on, while the quota is reserved, the model copies are read, the question is stored
        # and the stream opens. The search holds one pooled connection and waits for no other: no starvation.
        found = resolver.find_passages(request)
        reservation: Reservation | None = None
        try:
            if self._chat is not None:  # one unit per model answer; retrieval-only answers are free
                reservation = await reserve(
                    engine, settings.billing, principal.user.id, base_url=settings.server.base_url
                )
                # Read before the question's transaction opens: the model copies are files.
                request = await _with_images(self._tickets, ticket, request)
            first = not any(m.role == "assistant" for m in ticket.messages)
            if question is not None:
                await self._tickets.append_message(ticket, role="user", content=question, author_id=principal.user.id)
            await self._tickets.db.commit()  # the question is stored; the request's connection goes back to the pool
            stream = self._runs.start(resolver, request, RunTarget(ticket.id, first), reservation, found=found)
        except BaseException:
            found.cancel()
            if reservation is not None:
                await reservation.release()
            raise
        return ServerSentEvent(stream, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def provide_answers(
    tickets: NamedDependency[SkipValidation[TicketService]],
    db_engine: NamedDependency[AsyncEngine],
    settings: NamedDependency[SkipValidation[Settings]],
    state: State,
) -> Answers:
    """The answer starter bound to this request's ticket service."""
    return Answers(tickets, db_engine, settings, state)


class ResolutionController(Controller):
    """AI (or retrieval-only) answers to the caller's own tickets."""

    path = "/api/v1/tickets"
    tags = ["resolution"]
    dependencies = {**TICKET_DEPENDENCIES, "answers": Provide(provide_answers)}
    security = BEARER
    guards = [bearer_required]

    @post("/{ticket_id:uuid}/resolve", summary="Answer the ticket (Server-Sent Events)", status_code=200)
    async def resolve(
        self,
        ticket_id: FromPath[uuid.UUID],
        principal: NamedDependency[SkipValidation[Principal]],
        answers: NamedDependency[SkipValidation[Answers]],
    ) -> ServerSentEvent:
        """The first answer: triage, citations, the streamed answer, done. 409 ``already_answered`` after that (ask
        a follow-up instead), 409 ``ticket_closed`` on a closed ticket."""
        ticket = await answers.open_ticket(ticket_id, principal)
        if any(m.role == "assistant" for m in ticket.messages):
            raise Conflict("This ticket has its answer; ask a follow-up question instead.", code="already_answered")
        return await answers.stream(ticket, principal, question=None)

    @post("/{ticket_id:uuid}/messages", summary="Ask a follow-up question (Server-Sent Events)", status_code=200)
    async def follow_up(
        self,
        ticket_id: FromPath[uuid.UUID],
        data: JSONBody[FollowUp],
        principal: NamedDependency[SkipValidation[Principal]],
        answers: NamedDependency[SkipValidation[Answers]],
    ) -> ServerSentEvent:
        """Stores the question as a user message, then streams the answer like ``/resolve``."""
        question = data.content.strip()
        if not question:
            raise ValidationFailed("content is empty", errors=[FieldError("content", "must not be blank")])
        return await answers.stream(await answers.open_ticket(ticket_id, principal), principal, question=question)
