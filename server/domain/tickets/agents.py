"""``/api/v1/agent/tickets``: the agents' queue. Agents and admins read any ticket, reply, and close.

An agent's reply sets the ticket to ``answered``: the owner sees it on the ticket and in their event stream, and
their feedback resolves the ticket or sends it back to this queue.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter, SkipValidation

from server.db.models import STATUSES, Status
from server.domain.accounts.guards import BEARER, bearer_required, require_role
from server.domain.accounts.services import Principal
from server.domain.tickets.deps import TICKET_DEPENDENCIES
from server.domain.tickets.schemas import AgentReply, TicketDetail, TicketPage
from server.domain.tickets.services import TicketService
from server.domain.tickets.views import ticket_detail, ticket_summary
from server.lib.exceptions import Conflict, FieldError, ValidationFailed

__all__ = ["AgentTicketController"]


class AgentTicketController(Controller):
    """Tickets waiting for a person (agents and admins only; 403 ``role_required`` for anyone else)."""

    path = "/api/v1/agent/tickets"
    tags = ["agents"]
    dependencies = {**TICKET_DEPENDENCIES, "staff": Provide(require_role("agent", "admin"))}
    security = BEARER
    guards = [bearer_required]

    @get("/", summary="The queue: tickets in a status, longest-waiting first", request_max_body_size=0)
    async def queue(
        self,
        staff: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
        status: Annotated[str, QueryParameter(description=f"One of {', '.join(STATUSES)}.")] = "escalated",
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> TicketPage:
        """Everyone's tickets in ``status`` (default ``escalated``)."""
        if status not in STATUSES:
            message = f"one of {', '.join(STATUSES)}"
            raise ValidationFailed(f"status must be {message}", errors=[FieldError("status", message, "query")])
        statuses: list[Status] = [s for s in STATUSES if s == status]
        rows, total = await tickets.list_by_status(statuses, limit=limit, offset=offset)
        return TicketPage(
            items=[ticket_summary(ticket, count) for ticket, count in rows], total=total, limit=limit, offset=offset
        )

    @get("/{ticket_id:uuid}", summary="Any ticket with its conversation, screenshots and history")
    async def read(
        self,
        ticket_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
    ) -> TicketDetail:
        """The whole ticket, for the agent working on it."""
        return ticket_detail(await tickets.get_for_staff(ticket_id))

    @post("/{ticket_id:uuid}/reply", summary="Answer the ticket's owner", status_code=201)
    async def reply(
        self,
        ticket_id: FromPath[uuid.UUID],
        data: JSONBody[AgentReply],
        staff: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
    ) -> TicketDetail:
        """Add the reply as an ``agent`` message; the ticket becomes ``answered``. 409 ``ticket_closed``."""
        content = data.content.strip()
        if not content:
            raise ValidationFailed("content is empty", errors=[FieldError("content", "must not be blank")])
        ticket = await tickets.get_for_staff(ticket_id, lock=True)
        if ticket.status == "closed":
            raise Conflict("This ticket is closed.", code="ticket_closed")
        await tickets.append_message(ticket, role="agent", content=content, author_id=staff.user.id)
        await tickets.change(ticket, actor="agent", actor_id=staff.user.id, status="answered")
        await tickets.db.commit()
        return ticket_detail(await tickets.get_for_staff(ticket_id))

    @post("/{ticket_id:uuid}/close", summary="Close the ticket", status_code=200, request_max_body_size=0)
    async def close(
        self,
        ticket_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
    ) -> TicketDetail:
        """Status ``closed`` (closing twice changes nothing)."""
        ticket = await tickets.get_for_staff(ticket_id, lock=True)
        await tickets.change(ticket, actor="agent", actor_id=staff.user.id, status="closed")
        await tickets.db.commit()
        return ticket_detail(await tickets.get_for_staff(ticket_id))
