"""The tickets slice's routes: the owner's tickets, the agents' queue and live changes of the caller's tickets.

``/api/v1/tickets`` (the owner's), ``/api/v1/agent/tickets`` (the agents' queue) and ``/api/v1/events`` (live
changes of the caller's tickets, as Server-Sent Events).

Owner routes answer only the ticket's owner (screenshots also agents and admins); anyone else gets the same 404 as
for a ticket that does not exist. An agent's reply sets the ticket to ``answered``: the owner sees it on the ticket
and in their event stream, and their feedback resolves the ticket or sends it back to the agents' queue.
"""

from __future__ import annotations

import contextlib
import datetime
import uuid
from typing import TYPE_CHECKING, Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter, SkipValidation
from litestar.response import ServerSentEvent
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from server.db.models import STATUSES, Status
from server.db.transactions import request_session_in_autocommit
from server.domain.accounts import (
    AUTH_DEPENDENCIES,
    BEARER,
    AccountService,
    Principal,
    accepts_api_key,
    bearer,
    bearer_required,
    require_role,
)
from server.domain.tickets.contribution import CONTRIBUTE_FIX
from server.domain.tickets.deps import TICKET_DEPENDENCIES
from server.domain.tickets.events import TicketEventHub, owner_events
from server.domain.tickets.idempotency import clean_idempotency_key
from server.domain.tickets.limits import count_ticket, upload_slot
from server.domain.tickets.schemas import AgentReply, Feedback, TicketDetail, TicketPage
from server.domain.tickets.services import TicketService
from server.domain.tickets.upload import CREATE_BODY_LIMIT, UPLOADS_DIR, read_ticket_form
from server.domain.tickets.views import ticket_detail, ticket_summary
from server.lib.exceptions import FieldError, ValidationFailed
from server.lib.inflight import InFlight
from server.lib.jobs import defer
from server.settings import Settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["REPLAY_HEADER", "AgentTicketController", "EventsController", "TicketController"]

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
            "unknown fields refused), up to 5 `screenshots` (PNG, JPEG or WebP, each ≤ 10 MB) and for screenshot n "
            "optionally `ocr_<n>` (JSON: engine, version, lines of text with their box; then the server does not read "
            "that image; 422 `invalid_ocr` when malformed). Body ≤ 55 MB "
            "(413 `body_too_large`). With an `Idempotency-Key` header (1–200 printable characters, kept 24 h per "
            "user) a repeat of the same request answers 201 with the first ticket and `Idempotent-Replayed: true`; "
            "the same key with a different request is 422 `idempotency_key_reused`. At most 2 creates per account "
            "at once (429 `too_many_uploads`)."
        ),
        request_max_body_size=CREATE_BODY_LIMIT,
        opt=accepts_api_key("tickets:write"),
    )
    async def create(
        self,
        *,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[SkipValidation[AccountService]],
        tickets: NamedDependency[SkipValidation[TicketService]],
        settings: NamedDependency[SkipValidation[Settings]],
        db_session: NamedDependency[AsyncSession],
        uploads: NamedDependency[SkipValidation[InFlight[uuid.UUID]]],
    ) -> Response[TicketDetail]:
        """201 with the ticket (also on an idempotent replay, marked by ``Idempotent-Replayed: true``).

        Authenticates itself rather than through the ``principal`` dependency, to order the work: a small form (at
        most 64 KiB) is buffered first; then the sign-in lookup, the in-flight check (429 ``too_many_uploads``) and
        the hourly count run on the request's session in autocommit, before any transaction (the count stands). A
        description-only ticket is one atomic statement and runs there too, on the same connection; any other create
        reads its form (a large one arrives now, with no connection held, its screenshots spooled to disk) and
        writes after that connection went back to the pool. The in-flight slot is held until the create is done.
        """
        key = clean_idempotency_key(request.headers.get("idempotency-key"))
        credentials = bearer(request)
        content_type = request.headers.get("content-type", "")
        small_form = await request.body() if _declared_length(request) <= SMALL_FORM_BYTES else None
        spool_dir = settings.data_dir / UPLOADS_DIR
        with contextlib.ExitStack() as held:  # the in-flight slot and the form's temporary files
            draft = None
            async with request_session_in_autocommit(db_session) as db:
                principal = await accounts.authenticate_bearer(credentials)
                held.enter_context(upload_slot(uploads, principal.user.id))
                await count_ticket(db, settings, principal.user.id)
                if small_form is not None:
                    draft = await read_ticket_form(content_type, _chunks(small_form), spool_dir)
                    held.callback(draft.close)
                    if key is None and not draft.screenshots:
                        ticket = await tickets.create_described(principal.user, draft)
                        return Response(ticket_detail(ticket), status_code=201)
            if draft is None:
                draft = await read_ticket_form(content_type, request.stream(), spool_dir)
                held.callback(draft.close)
            created = await tickets.create(principal.user, draft, idempotency_key=key)
        headers = {REPLAY_HEADER: "true"} if created.replayed else {}
        return Response(ticket_detail(created.ticket), status_code=201, headers=headers)

    @get("/", summary="My tickets, newest first", request_max_body_size=0, opt=accepts_api_key("tickets:read"))
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

    @get(
        "/{ticket_id:uuid}",
        summary="A ticket with its messages, screenshots and history",
        request_max_body_size=0,
        opt=accepts_api_key("tickets:read"),
    )
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
        opt=accepts_api_key("tickets:read"),
    )
    async def get_screenshot(
        self,
        ticket_id: FromPath[uuid.UUID],
        index: FromPath[int],
        principal: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
    ) -> Response[bytes]:
        """The stored bytes with their media type; the owner, agents and admins only (404 for anyone else).

        A staff member's look is written to the ticket's access log.
        """
        ticket = await tickets.get(ticket_id, principal.user, staff_may_see=True, history=False)
        data, media_type = await tickets.screenshot(ticket, index)
        await tickets.record_view(ticket, principal.user, screenshot=index)
        return Response(
            data,
            media_type=media_type,
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )

    @post(
        "/{ticket_id:uuid}/feedback",
        summary="Say whether the answer fixed the problem",
        status_code=200,
        opt=accepts_api_key("tickets:write"),
    )
    async def give_feedback(
        self,
        *,
        ticket_id: FromPath[uuid.UUID],
        data: JSONBody[Feedback],
        principal: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
    ) -> Response[TicketDetail]:
        """The owner's feedback on the answer: ``resolved: true`` → ``resolved``, ``false`` → ``escalated``.

        On ``resolved`` the fix goes to the knowledge base anonymized (unless the user opted out); an ``escalated``
        ticket is in the agents' queue. 409 ``not_answered`` before any answer.
        """
        ticket = await tickets.get(ticket_id, principal.user, lock=True)
        comment = (data.comment or "").strip() or None
        if await tickets.record_feedback(ticket, resolved=data.resolved, comment=comment):
            await defer(tickets.db, CONTRIBUTE_FIX, ticket_id=str(ticket.id))  # committed with the feedback
        return Response(ticket_detail(await tickets.get(ticket_id, principal.user)))


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
        """The whole ticket, for the agent working on it (written to the ticket's access log)."""
        ticket = await tickets.get_for_staff(ticket_id)
        await tickets.record_view(ticket, staff.user)
        return ticket_detail(ticket, staff=True)

    @post("/{ticket_id:uuid}/reply", summary="Answer the ticket's owner", status_code=201)
    async def reply(
        self,
        ticket_id: FromPath[uuid.UUID],
        data: JSONBody[AgentReply],
        staff: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
    ) -> TicketDetail:
        """Add the reply as an ``agent`` message; the ticket becomes ``answered``. 409 ``ticket_closed``."""
        ticket = await tickets.get_for_staff(ticket_id, lock=True)
        await tickets.reply_as_staff(ticket, staff.user, data.content)
        await tickets.record_view(ticket, staff.user)  # the answer is the whole ticket
        return ticket_detail(await tickets.get_for_staff(ticket_id), staff=True)

    @post("/{ticket_id:uuid}/close", summary="Close the ticket", status_code=200, request_max_body_size=0)
    async def close(
        self,
        ticket_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
    ) -> TicketDetail:
        """Status ``closed`` (closing twice changes nothing)."""
        ticket = await tickets.get_for_staff(ticket_id, lock=True)
        await tickets.close_as_staff(ticket, staff.user)
        await tickets.record_view(ticket, staff.user)  # the answer is the whole ticket
        return ticket_detail(await tickets.get_for_staff(ticket_id), staff=True)


class EventsController(Controller):
    """Live ticket changes for desktop notifications."""

    path = "/api/v1/events"
    tags = ["tickets"]
    dependencies = AUTH_DEPENDENCIES
    security = BEARER
    guards = [bearer_required]

    @get(
        "/",
        summary="Live changes of my tickets (Server-Sent Events)",
        description=(
            "Events are named by kind: `created`, `changed` (data: `ticket_id`, `changes` [{field, from, to}]) and "
            "`message` (data: `ticket_id`, `message_id`, `role`, `preview`). A comment every 15 s keeps the "
            "connection open. After a reconnect, catch up with `GET /api/v1/tickets?updated_since=`. At most 5 "
            "streams per account and `TECHPAL_MAX_EVENT_STREAMS` per server process (429 `too_many_streams`)."
        ),
        request_max_body_size=0,
    )
    async def stream_events(
        self,
        principal: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
        ticket_events: NamedDependency[SkipValidation[TicketEventHub]],
        settings: NamedDependency[SkipValidation[Settings]],
    ) -> ServerSentEvent:
        """The caller's ticket events until they disconnect or their session ends.

        429 ``too_many_streams`` (with ``Retry-After``) when the account has 5 streams open or the process
        ``TECHPAL_MAX_EVENT_STREAMS``; checked before the response starts.
        """
        stream = ticket_events.open_stream(principal.user.id, max_streams=settings.tickets.max_event_streams)
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}  # proxies must not hold events back
        # The events free the slot when they end; the background task also when a client left before they began.
        return ServerSentEvent(
            owner_events(ticket_events, stream, principal, db_engine),
            headers=headers,
            background=BackgroundTask(stream.aclose),
        )
