"""A ticket in the console: the page, its screenshots, and the staff's actions on it.

``GET /console/tickets/{id}`` shows the whole ticket; ``GET /console/tickets/{id}/screenshots/{n}`` serves a
screenshot with the same checks as ``GET /api/v1/tickets/{id}/screenshots/{n}``. Each of them is written to the
ticket's access log (admins see it at the bottom of the page). The actions are plain forms (CSRF token included) that
work without JavaScript — post, then a 303 back to the page (a reply: at the reply, see :func:`see_other`) — and htmx
boosts them: ``reply`` (Markdown; ``preview`` renders it without sending), ``close``, ``reopen`` and ``assign`` (to
me). They call the tickets slice's services, so history rows and events are the JSON routes' own: the owner's
``GET /api/v1/events`` hears the reply.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, SkipValidation
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.accounts import Principal
from server.domain.console.deps import CONSOLE_DEPENDENCIES
from server.domain.console.forms import FORM_BODY_LIMIT, read_form, text_field
from server.domain.console.pages import fragment, is_htmx, page, see_other
from server.domain.console.queries import people
from server.domain.console.ticket_view import people_named, ticket_context
from server.domain.tickets import TicketService
from server.lib.exceptions import Conflict, ValidationFailed

if TYPE_CHECKING:
    from server.db.models import Ticket

__all__ = ["TicketPageController"]

MAX_REPLY_CHARS = 10_000  # as the JSON route's AgentReply
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _ticket_url(ticket_id: uuid.UUID, anchor: str = "") -> str:
    return f"/console/tickets/{ticket_id}{anchor}"


async def _ticket_page(
    request: Request[Any, Any, Any],
    staff: Principal,
    tickets: TicketService,
    db: AsyncSession,
    ticket: Ticket,
    *,
    status: int = 200,
    draft: str = "",
    preview: str | None = None,
    error: str | None = None,
) -> Template:
    names = await people(db, people_named(ticket))
    views = await tickets.views_of(ticket.id) if staff.user.role == "admin" else None
    context = ticket_context(ticket, names, views)
    title = f"Ticket {str(ticket.id)[:8]}"
    return page(request, "ticket.html", title=title, staff=staff, status=status, draft=_UNPRINTABLE.sub("", draft),
                preview=preview, error=error, **context)  # fmt: skip


class TicketPageController(Controller):
    """One ticket: its page, its screenshots, and reply, preview, close, reopen, assign."""

    path = "/tickets"
    dependencies = CONSOLE_DEPENDENCIES
    request_max_body_size = FORM_BODY_LIMIT

    @get("/{ticket_id:uuid}", name="console_ticket", request_max_body_size=0)
    async def show(
        self,
        request: Request[Any, Any, Any],
        ticket_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        """The whole ticket; the look is written to its access log."""
        ticket = await tickets.get(ticket_id, staff.user, staff_may_see=True)
        await tickets.record_view(ticket, staff.user)
        return await _ticket_page(request, staff, tickets, db_session, ticket)

    @get("/{ticket_id:uuid}/screenshots/{index:int}", request_max_body_size=0, media_type="application/octet-stream")
    async def screenshot(
        self,
        ticket_id: FromPath[uuid.UUID],
        index: FromPath[int],
        staff: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
    ) -> Response[bytes]:
        """The stored bytes (metadata stripped at upload), never cached; the look is written to the access log."""
        ticket = await tickets.get(ticket_id, staff.user, staff_may_see=True, history=False)
        data, media_type = await tickets.screenshot(ticket, index)
        await tickets.record_view(ticket, staff.user, screenshot=index)
        return Response(data, media_type=media_type, headers={"Cache-Control": "no-store"})

    @post("/{ticket_id:uuid}/reply", status_code=303)
    async def reply(
        self,
        request: Request[Any, Any, Any],
        ticket_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[Any]:
        """Send the reply (the ticket becomes ``answered``); a refusal shows the page again with the draft kept."""
        form = await read_form(request)
        draft = str(form.get("content", ""))
        try:
            content = text_field(form, "content", max_chars=MAX_REPLY_CHARS)
            ticket = await tickets.get_for_staff(ticket_id, lock=True)
            message = await tickets.reply_as_staff(ticket, staff.user, content)
        except (ValidationFailed, Conflict) as refused:
            ticket = await tickets.get_for_staff(ticket_id)
            await tickets.record_view(ticket, staff.user, answer_refused=True)
            return await _ticket_page(request, staff, tickets, db_session, ticket, status=refused.status_code,
                                      draft=draft, error=refused.detail)  # fmt: skip
        return see_other(request, _ticket_url(ticket_id, f"#message-{message.id}"))

    @post("/{ticket_id:uuid}/preview", status_code=200)
    async def preview(
        self,
        request: Request[Any, Any, Any],
        ticket_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        """The reply as the user will read it: a fragment for htmx, else the page with the preview and the draft."""
        form = await read_form(request)
        draft = str(form.get("content", ""))
        error = None
        try:
            content = text_field(form, "content", max_chars=MAX_REPLY_CHARS)
        except ValidationFailed as refused:
            content, error = "", refused.detail
        if is_htmx(request):
            return fragment("_reply_preview.html", preview=content, error=error)
        ticket = await tickets.get(ticket_id, staff.user, staff_may_see=True)
        await tickets.record_view(ticket, staff.user)
        return await _ticket_page(request, staff, tickets, db_session, ticket, draft=draft, preview=content,
                                  error=error)  # fmt: skip

    @post("/{ticket_id:uuid}/close", status_code=303)
    async def close(
        self,
        ticket_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
    ) -> Response[Any]:
        """Close the ticket (closing twice changes nothing)."""
        await tickets.close_as_staff(await tickets.get_for_staff(ticket_id, lock=True), staff.user)
        return Redirect(_ticket_url(ticket_id), status_code=303)

    @post("/{ticket_id:uuid}/reopen", status_code=303)
    async def reopen(
        self,
        request: Request[Any, Any, Any],
        ticket_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[Any]:
        """A closed or resolved ticket goes back to ``open``; any other shows the page with the reason (409)."""
        ticket = await tickets.get_for_staff(ticket_id, lock=True)
        try:
            await tickets.reopen_as_staff(ticket, staff.user)
        except Conflict as refused:
            await tickets.record_view(ticket, staff.user, answer_refused=True)
            return await _ticket_page(request, staff, tickets, db_session, ticket, status=refused.status_code,
                                      error=refused.detail)  # fmt: skip
        return Redirect(_ticket_url(ticket_id), status_code=303)

    @post("/{ticket_id:uuid}/assign", status_code=303)
    async def assign(
        self,
        ticket_id: FromPath[uuid.UUID],
        staff: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
    ) -> Response[Any]:
        """Assign the ticket to the signed-in staff member."""
        await tickets.assign(await tickets.get_for_staff(ticket_id, lock=True), staff.user, by=staff.user)
        return Redirect(_ticket_url(ticket_id), status_code=303)
