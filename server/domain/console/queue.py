"""The console's home: the work queue, and the live event stream that keeps it current.

``GET /console`` lists tickets that need a person: escalated first, then open, then answered, newest activity
first within each group, 25 a page; filters by status (any status, closed ones too), category and priority, and a
text search in the description. The list is its own fragment (``_queue_list.html``): htmx re-fetches it when the
page's script hears an event on ``GET /console/events`` (every ticket's events, as Server-Sent Events, for signed-in
staff), so new escalations and user replies appear without a reload.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter, SkipValidation
from litestar.response import ServerSentEvent
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import CATEGORIES, PRIORITIES, STATUSES, Category, Priority, Status
from server.domain.accounts import Principal
from server.domain.console.deps import CONSOLE_DEPENDENCIES
from server.domain.console.pages import PLAIN_ERRORS, fragment, is_htmx, page
from server.domain.tickets import WORK_STATUSES, QueueFilters, TicketEventHub, TicketService, staff_events
from server.settings import Settings

__all__ = ["PAGE_SIZE", "QueueController"]

PAGE_SIZE = 25
MAX_SEARCH_CHARS = 200
LIST_ID = "queue"  # the list's element id: htmx names it in HX-Target when it refreshes the list alone


Choice = TypeVar("Choice", bound=str)


def _pick(value: str | None, allowed: tuple[Choice, ...]) -> Choice | None:
    """``value`` if it is one of ``allowed``, else ``None`` (an unknown filter value filters nothing)."""
    return next((choice for choice in allowed if choice == value), None)


class QueueController(Controller):
    """The queue page and the staff event stream."""

    path = "/"
    dependencies = CONSOLE_DEPENDENCIES

    @get("/", name="console_queue")
    async def queue(
        self,
        *,
        request: Request[Any, Any, Any],
        staff: NamedDependency[SkipValidation[Principal]],
        tickets: NamedDependency[SkipValidation[TicketService]],
        status: FromQuery[str | None] = None,
        category: FromQuery[str | None] = None,
        priority: FromQuery[str | None] = None,
        q: Annotated[str | None, QueryParameter(description="Text in the description.")] = None,
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=100_000)] = 1,
    ) -> Response[Any]:
        """The queue page, or only its list when htmx refreshes it."""
        chosen_status: Status | None = _pick(status, STATUSES)
        chosen_category: Category | None = _pick(category, CATEGORIES)
        chosen_priority: Priority | None = _pick(priority, PRIORITIES)
        text = (q or "").strip()[:MAX_SEARCH_CHARS]
        filters = QueueFilters(
            statuses=(chosen_status,) if chosen_status else WORK_STATUSES,
            category=chosen_category,
            priority=chosen_priority,
            text=text,
        )
        rows, total = await tickets.staff_queue(filters, limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
        chosen = {"status": chosen_status, "category": chosen_category, "priority": chosen_priority, "q": text}
        query = {key: value for key, value in chosen.items() if value}
        listing: dict[str, Any] = {
            "rows": rows,
            "total": total,
            "page_number": page_number,
            "pages": max(1, math.ceil(total / PAGE_SIZE)),
            "list_id": LIST_ID,
            "list_url": "/console?" + urlencode({**query, "page": page_number}),
            "previous_url": "/console?" + urlencode({**query, "page": page_number - 1}),
            "next_url": "/console?" + urlencode({**query, "page": page_number + 1}),
        }
        if is_htmx(request) and request.headers.get("hx-target") == LIST_ID:
            return fragment("_queue_list.html", **listing)
        return page(
            request,
            "queue.html",
            title="Queue",
            staff=staff,
            chosen=chosen,
            statuses=STATUSES,
            categories=CATEGORIES,
            priorities=PRIORITIES,
            **listing,
        )

    @get(
        "/events",
        name="console_events",
        opt={PLAIN_ERRORS: True},
        summary="Every ticket's events, for signed-in staff (Server-Sent Events)",
    )
    async def events(
        self,
        staff: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
        ticket_events: NamedDependency[SkipValidation[TicketEventHub]],
        settings: NamedDependency[SkipValidation[Settings]],
    ) -> ServerSentEvent:
        """``created``, ``changed`` and ``message`` events of every ticket, as ``GET /api/v1/events`` sends them.

        Counted with the account's other streams (429 ``too_many_streams`` beyond 5); ends when the session ends or
        the account loses its staff role (checked at every keep-alive).
        """
        stream = ticket_events.open_stream(staff.user.id, max_streams=settings.tickets.max_event_streams, staff=True)
        return ServerSentEvent(
            staff_events(ticket_events, stream, staff, db_engine),
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            background=BackgroundTask(stream.aclose),
        )
