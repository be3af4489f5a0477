"""What agents and admins do with tickets: the work queue, replies, closing, reopening, assignment, the access log.

The JSON agent routes and the support console both call these, so a reply or a close writes the same history rows
and sends the same ``NOTIFY`` whichever screen it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from server.db.models import (
    Category,
    Priority,
    Status,
    Ticket,
    TicketHistory,
    TicketMessage,
    TicketView,
    User,
)
from server.db.transactions import session_of_its_own
from server.domain.tickets.queries import STAFF_ROLES, screenshot_count
from server.domain.tickets.services._changes import TicketChanges
from server.lib.clock import utcnow
from server.lib.exceptions import Conflict, FieldError, ValidationFailed

if TYPE_CHECKING:
    import datetime
    import uuid

__all__ = ["WORK_STATUSES", "QueueFilters", "QueueRow", "StaffWork", "TicketViewEntry"]

# The statuses that need a person, in the order the queue shows them: the user said "still broken", then new
# tickets, then answered ones waiting on the user.
WORK_STATUSES: tuple[Status, ...] = ("escalated", "open", "answered")
_LIKE_SPECIALS = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})


@dataclass(frozen=True, slots=True)
class QueueFilters:
    """What the queue shows: tickets in ``statuses``, optionally of one ``category`` and ``priority``, with ``text``."""

    statuses: tuple[Status, ...] = WORK_STATUSES
    category: Category | None = None
    priority: Priority | None = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One queue line: the ticket, its screenshot count, its owner's name and its assignee's (if any).

    ``user_replied``: the user wrote after the latest agent reply (see :func:`_user_replied`).
    """

    ticket: Ticket
    screenshots: int
    owner_name: str
    assignee_name: str | None
    user_replied: bool = False


def _user_replied() -> ColumnElement[bool]:
    """Whether a ticket needing a person has a user message newer than its latest agent reply.

    A status says nothing of it: the AI answers a user's follow-up, so an agent's ticket stays ``answered`` while the
    user waits on the agent. Per ticket, two lookups in ``ix_ticket_messages_ticket_created`` (ticket_id,
    created_at): the ticket's latest agent message, then a user message after it. No agent reply: false.
    """
    agent, user = aliased(TicketMessage), aliased(TicketMessage)
    last_agent_reply = (
        select(agent.created_at)
        .where(agent.ticket_id == Ticket.id, agent.role == "agent")
        .order_by(agent.created_at.desc())
        .limit(1)
        .correlate(Ticket)
        .scalar_subquery()
    )
    newer = exists().where(user.ticket_id == Ticket.id, user.role == "user", user.created_at > last_agent_reply)
    return and_(Ticket.status.in_(list(WORK_STATUSES)), newer.correlate(Ticket))


@dataclass(frozen=True, slots=True)
class TicketViewEntry:
    """One access-log line: who (their name now, or ``None`` once the account is gone), in which role, what, when."""

    viewed_at: datetime.datetime
    viewer_id: uuid.UUID | None
    viewer_name: str | None
    viewer_role: str
    screenshot: int | None


class StaffWork(TicketChanges):
    """Agents' and admins' work on everyone's tickets (the callers checked the role)."""

    # ------------------------------------------------------------------------------------------ the queue
    async def staff_queue(self, filters: QueueFilters, *, limit: int, offset: int) -> tuple[list[QueueRow], int]:
        """Tickets matching ``filters``, grouped by status in :data:`WORK_STATUSES` order, newest activity first.

        A ticket the user wrote on since an agent's latest reply joins the escalated group (both wait on a person).
        Statuses outside that order (``resolved``, ``closed``, when asked for) come last. Returns the page and the
        total that match. One query for the page, one for the total.
        """
        where: list[ColumnElement[bool]] = [Ticket.status.in_(list(filters.statuses))]
        if filters.category is not None:
            where.append(Ticket.category == filters.category)
        if filters.priority is not None:
            where.append(Ticket.priority == filters.priority)
        if filters.text.strip():
            pattern = f"%{filters.text.strip().translate(_LIKE_SPECIALS)}%"
            where.append(Ticket.description.ilike(pattern, escape="\\"))
        # PostgreSQL evaluates the row's mark after the LIMIT, for the rows returned only; the rank, once per match.
        replied = _user_replied()
        by_status = case({status: rank for rank, status in enumerate(WORK_STATUSES)}, value=Ticket.status, else_=99)
        group = case((or_(Ticket.status == WORK_STATUSES[0], replied), 0), else_=by_status)
        owner, assignee = aliased(User), aliased(User)
        total = await self.db.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
        rows = await self.db.execute(
            select(Ticket, screenshot_count(), owner.name, assignee.name, replied)
            .join(owner, owner.id == Ticket.owner_id)
            .outerjoin(assignee, assignee.id == Ticket.assignee_id)
            .where(*where)
            .order_by(group, Ticket.updated_at.desc(), Ticket.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [QueueRow(row[0], int(row[1]), row[2], row[3], bool(row[4])) for row in rows], int(total)

    # ------------------------------------------------------------------------------------------ actions
    async def reply_as_staff(self, ticket: Ticket, staff: User, content: str) -> TicketMessage:
        """Add ``content`` as an ``agent`` message and set the ticket ``answered``; the owner's stream hears both.

        Load ``ticket`` with ``lock=True``. Raises 422 ``validation_error`` for a blank reply and 409
        ``ticket_closed`` for a closed ticket.
        """
        text = content.strip()
        if not text:
            raise ValidationFailed("content is empty", errors=[FieldError("content", "must not be blank")])
        if ticket.status == "closed":
            raise Conflict("This ticket is closed.", code="ticket_closed")
        message = await self.append_message(ticket, role="agent", content=text, author_id=staff.id)
        await self.change(ticket, actor="agent", actor_id=staff.id, status="answered")
        return message

    async def close_as_staff(self, ticket: Ticket, staff: User) -> None:
        """Status ``closed`` (closing twice changes nothing)."""
        await self.change(ticket, actor="agent", actor_id=staff.id, status="closed")

    async def reopen_as_staff(self, ticket: Ticket, staff: User) -> None:
        """A ``closed`` or ``resolved`` ticket goes back to ``open`` (and into the queue); 409 ``ticket_not_closed``."""
        if ticket.status not in {"closed", "resolved"}:
            raise Conflict("Only a closed or resolved ticket can be reopened.", code="ticket_not_closed")
        await self.change(ticket, actor="agent", actor_id=staff.id, status="open")

    async def assign(self, ticket: Ticket, assignee: User, *, by: User) -> bool:
        """Make ``assignee`` the one working on ``ticket``; whether anything changed. Load it with ``lock=True``.

        The history row holds both user ids; the event reaches staff streams only (``staff_only``).
        """
        self._require_loaded(ticket)
        if ticket.assignee_id == assignee.id:
            return False
        previous = str(ticket.assignee_id) if ticket.assignee_id else None
        now = utcnow()
        ticket.assignee_id, ticket.updated_at = assignee.id, now
        self.db.add(
            TicketHistory(
                ticket_id=ticket.id,
                at=now,
                actor="agent",
                actor_id=by.id,
                field="assignee",
                old_value=previous,
                new_value=str(assignee.id),
            )
        )
        change = {"field": "assignee", "from": previous, "to": str(assignee.id)}
        await self._notify(ticket.id, ticket.owner_id, "changed", changes=[change], staff_only=True)
        await self.db.flush()
        return True

    # ------------------------------------------------------------------------------------------ the access log
    async def record_view(
        self, ticket: Ticket, viewer: User, *, screenshot: int | None = None, answer_refused: bool = False
    ) -> None:
        """Log that ``viewer`` (an agent or admin, not the owner) opened ``ticket`` or its ``screenshot``.

        Written in the request's transaction: a view that answers 200 commits it, one that fails leaves no row. A
        page that shows the ticket although it answers 4xx (a refused reply shown again with its reason) passes
        ``answer_refused``: its row is written in a transaction of its own, since the request's rolls back.
        """
        if viewer.role not in STAFF_ROLES or viewer.id == ticket.owner_id:
            return
        row = {
            "ticket_id": ticket.id,
            "viewer_id": viewer.id,
            "viewer_role": viewer.role,
            "screenshot": screenshot,
            "viewed_at": utcnow(),
        }
        if answer_refused and self._engine is not None:
            async with session_of_its_own(self._engine) as own:
                own.add(TicketView(**row))
            return
        self.db.add(TicketView(**row))
        await self.db.flush()

    async def views_of(self, ticket_id: uuid.UUID, *, limit: int = 200) -> list[TicketViewEntry]:
        """The newest ``limit`` access-log lines of a ticket, newest first."""
        rows = await self.db.execute(
            select(TicketView, User.name)
            .outerjoin(User, User.id == TicketView.viewer_id)
            .where(TicketView.ticket_id == ticket_id)
            .order_by(TicketView.id.desc())
            .limit(limit)
        )
        return [
            TicketViewEntry(view.viewed_at, view.viewer_id, name, view.viewer_role, view.screenshot)
            for view, name in rows
        ]
