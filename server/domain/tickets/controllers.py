"""``/api/v1/tickets``: create (multipart, idempotent), list, read, and serve screenshots.

Every route answers only the ticket's owner (screenshots also agents and admins); anyone else gets the same 404 as
for a ticket that does not exist.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter, SkipValidation
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.accounts.guards import BEARER, bearer_required, bearer_token
from server.domain.accounts.services import AccountService, Principal
from server.domain.tickets.contribution import contribute_fix
from server.domain.tickets.deps import TICKET_DEPENDENCIES
from server.domain.tickets.idempotency import clean_idempotency_key
from server.domain.tickets.limits import count_ticket
from server.domain.tickets.schemas import Feedback, TicketDetail, TicketPage
from server.domain.tickets.services import TicketService
from server.domain.tickets.upload import CREATE_BODY_LIMIT, read_ticket_form
from server.domain.tickets.views import ticket_detail, ticket_summary
from server.lib.exceptions import FieldError, ValidationFailed
from server.settings import Settings

__all__ = ["REPLAY_HEADER", "TicketController"]

REPLAY_HEADER = "Idempotent-Replayed"
# A description with device details fits many times over; one screenshot does not.
SMALL_FORM_BYTES = 64 * 1024


def _updated_since(raw: str | None) -> datetime.datetime | None:
    if raw is None:
        return None
    try:
        value = datetime.datetime.fromisoformat(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        message = "an ISO 8601 date-time with a timezone, e.g. 2026-11-27T10:00:00Z"
        raise ValidationFailed(f"updated_since: {message}", errors=[FieldError("updated_since", message, "query")])
    return value


def _declared_length(request: Request[Any, Any, Any]) -> int:
    """The body's ``Content-Length``; unknown (chunked, malformed) counts as big."""
    try:
        return int(request.headers.get("content-length", ""))
    except ValueError:
        return CREATE_BODY_LIMIT + 1


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    yield body


class TicketController(Controller):
    """The signed-in user's tickets."""

    path = "/api/v1/tickets"
    tags = ["tickets"]
    dependencies = TICKET_DEPENDENCIES
    security = BEARER
    guards = [bearer_required]

    @post(
        "/",
        status_code=201,
        summary="Report a problem (multipart: description, priority, category, device, screenshots)",
        description=(
            "`multipart/form-data` parts: `description` (required, 1–10000 characters), `priority` "
            "(low|normal|high|urgent), `category` (account_access|email|hardware|network|printer|security|software|"
            "other), `device` (JSON: os, os_version, cpu, ram_gb, free_disk_gb, network online|offline|limited; "
            "unknown fields refused) and up to 5 `screenshots` (PNG, JPEG or WebP, each ≤ 10 MB). Body ≤ 55 MB "
            "(413 `body_too_large`). With an `Idempotency-Key` header (1–200 printable characters, kept 24 h per "
            "user) a repeat of the same request answers 201 with the first ticket and `Idempotent-Replayed: true`; "
            "the same key with a different request is 422 `idempotency_key_reused`."
        ),
        request_max_body_size=CREATE_BODY_LIMIT,
    )
    async def create(
        self,
        *,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[SkipValidation[AccountService]],
        tickets: NamedDependency[SkipValidation[TicketService]],
        settings: NamedDependency[SkipValidation[Settings]],
    ) -> Response[TicketDetail]:
        """201 with the ticket (also on an idempotent replay, marked by ``Idempotent-Replayed: true``).

        Authenticates itself rather than through the ``principal`` dependency, to order the work: a small form (no
        screenshot) is buffered before any database work, so the sign-in lookup, the hourly count and the insert
        share one pooled connection that no slow client can hold; a big one arrives after the count, with no
        connection held. The lookup and the count are single statements run in autocommit: nothing to roll back.
        """
        key = clean_idempotency_key(request.headers.get("idempotency-key"))
        token = bearer_token(request)
        small_form = await request.body() if _declared_length(request) <= SMALL_FORM_BYTES else None
        await tickets.db.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        principal = await accounts.authenticate(token)
        await count_ticket(await tickets.db.connection(), settings, principal.user.id)
        if small_form is None:
            await tickets.db.commit()  # the connection goes back to the pool while the upload arrives
        stream = request.stream() if small_form is None else _chunks(small_form)
        draft = await read_ticket_form(request.headers.get("content-type", ""), stream)
        created = await tickets.create(principal.user, draft, idempotency_key=key)
        headers = {REPLAY_HEADER: "true"} if created.replayed else {}
        return Response(ticket_detail(created.ticket), status_code=201, headers=headers)

    @get("/", summary="My tickets, newest first", request_max_body_size=0)
    async def list_tickets(
        self,
        principal: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
        limit: Annotated[int, QueryParameter(ge=1, le=100, description="Page size.")] = 20,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000, description="Tickets to skip.")] = 0,
        updated_since: Annotated[
            str | None,
            QueryParameter(description="Only tickets changed after this ISO 8601 date-time (with timezone)."),
        ] = None,
    ) -> TicketPage:
        """Own tickets ordered by ``created_at`` descending; ``total`` counts every match, not just this page."""
        since = _updated_since(updated_since)
        rows, total = await tickets.list_own(principal.user.id, limit=limit, offset=offset, updated_since=since)
        return TicketPage(
            items=[ticket_summary(ticket, count) for ticket, count in rows], total=total, limit=limit, offset=offset
        )

    @get("/{ticket_id:uuid}", summary="A ticket with its messages, screenshots and history", request_max_body_size=0)
    async def get_ticket(
        self,
        ticket_id: FromPath[uuid.UUID],
        principal: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
    ) -> TicketDetail:
        """404 ``ticket_not_found`` unless the caller owns the ticket."""
        return ticket_detail(await tickets.get(ticket_id, principal.user))

    @get(
        "/{ticket_id:uuid}/screenshots/{index:int}",
        summary="A screenshot's image (metadata stripped)",
        request_max_body_size=0,
        media_type="application/octet-stream",
    )
    async def get_screenshot(
        self,
        ticket_id: FromPath[uuid.UUID],
        index: FromPath[int],
        principal: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
    ) -> Response[bytes]:
        """The stored bytes with their media type; the owner, agents and admins only (404 for anyone else)."""
        ticket = await tickets.get(ticket_id, principal.user, staff_may_see=True)
        data, media_type = await tickets.screenshot(ticket, index)
        return Response(
            data,
            media_type=media_type,
            headers={"Cache-Control": "private", "X-Content-Type-Options": "nosniff"},
        )

    @post("/{ticket_id:uuid}/feedback", summary="Say whether the answer fixed the problem", status_code=200)
    async def give_feedback(
        self,
        *,
        ticket_id: FromPath[uuid.UUID],
        data: JSONBody[Feedback],
        principal: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
        db_engine: NamedDependency[AsyncEngine],
        settings: NamedDependency[SkipValidation[Settings]],
    ) -> Response[TicketDetail]:
        """``resolved: true`` → ``resolved``, and the fix goes to the knowledge base anonymized (unless the user opted
        out); ``false`` → ``escalated``, in the agents' queue. 409 ``not_answered`` before any answer."""
        ticket = await tickets.get(ticket_id, principal.user, lock=True)
        comment = (data.comment or "").strip() or None
        resolved_now = await tickets.record_feedback(ticket, resolved=data.resolved, comment=comment)
        await tickets.db.commit()
        background = BackgroundTask(contribute_fix, db_engine, settings, ticket.id, comment) if resolved_now else None
        return Response(ticket_detail(await tickets.get(ticket_id, principal.user)), background=background)
