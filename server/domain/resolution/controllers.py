"""``POST /api/v1/tickets/{id}/resolve`` and ``POST /api/v1/tickets/{id}/messages``: answers as Server-Sent Events.

Events (the SSE ``event:`` field; data is JSON): ``triage``, ``citation`` (rank order), ``delta``, ``error`` (the
model failed; a retrieval-only answer follows) and ``done`` (``message_id`` of the stored answer). The quota is
checked before the stream starts (402 ``quota_exceeded``), so a refused question never opens a stream.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, SkipValidation
from litestar.response import ServerSentEvent

from server.domain.accounts import BEARER, accepts_api_key, bearer, bearer_required
from server.domain.resolution.deps import RESOLUTION_DEPENDENCIES
from server.domain.resolution.services import Answers
from server.domain.tickets import FollowUp
from server.lib.exceptions import Conflict, FieldError, ValidationFailed

__all__ = ["ResolutionController"]


class ResolutionController(Controller):
    """AI (or retrieval-only) answers to the caller's own tickets."""

    path = "/api/v1/tickets"
    tags = ["resolution"]
    dependencies = RESOLUTION_DEPENDENCIES
    security = BEARER
    guards = [bearer_required]

    @post(
        "/{ticket_id:uuid}/resolve",
        summary="Answer the ticket (Server-Sent Events)",
        status_code=200,
        opt=accepts_api_key("tickets:write"),
    )
    async def resolve(
        self,
        request: Request[Any, Any, Any],
        ticket_id: FromPath[uuid.UUID],
        answers: NamedDependency[SkipValidation[Answers]],
    ) -> ServerSentEvent:
        """The first answer: triage, citations, the streamed answer, done.

        409 ``already_answered`` after that (ask a follow-up instead), 409 ``ticket_closed`` on a closed ticket.
        Signs the caller in itself, with the ticket read (see :meth:`Answers.open_ticket`).
        """
        principal, ticket = await answers.open_ticket(ticket_id, bearer(request))
        if any(m.role == "assistant" for m in ticket.messages):
            raise Conflict("This ticket has its answer; ask a follow-up question instead.", code="already_answered")
        return await answers.stream(ticket, principal, question=None)

    @post(
        "/{ticket_id:uuid}/messages",
        summary="Ask a follow-up question (Server-Sent Events)",
        status_code=200,
        opt=accepts_api_key("tickets:write"),
    )
    async def follow_up(
        self,
        request: Request[Any, Any, Any],
        ticket_id: FromPath[uuid.UUID],
        data: JSONBody[FollowUp],
        answers: NamedDependency[SkipValidation[Answers]],
    ) -> ServerSentEvent:
        """Stores the question as a user message, then streams the answer like ``/resolve``."""
        principal, ticket = await answers.open_ticket(ticket_id, bearer(request))
        question = data.content.strip()
        if not question:
            raise ValidationFailed("content is empty", errors=[FieldError("content", "must not be blank")])
        return await answers.stream(ticket, principal, question=question)
