"""ORM tickets → wire structs (never return ORM objects)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.domain.tickets.schemas import HistoryEntry, Message, Screenshot, TicketDetail, TicketSummary

if TYPE_CHECKING:
    from server.db.models import Ticket

__all__ = ["screenshot_url", "ticket_detail", "ticket_summary"]


def screenshot_url(ticket: Ticket, index: int) -> str:
    """Where screenshot ``index`` of ``ticket`` is served (owner and agents only)."""
    return f"/api/v1/tickets/{ticket.id}/screenshots/{index}"


def ticket_summary(ticket: Ticket, screenshot_count: int) -> TicketSummary:
    """The list form of a ticket."""
    return TicketSummary(
        id=ticket.id,
        status=ticket.status,
        priority=ticket.priority,
        category=ticket.category,
        description=ticket.description,
        device=ticket.device,
        screenshot_count=screenshot_count,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
    )


def _history_value(field: str, value: Any, *, staff: bool) -> Any:
    # Who works on a ticket is the staff's business: its owner learns that a staff member took it, not which one.
    if field == "assignee" and not staff and value is not None:
        return "staff"
    return value


def ticket_detail(ticket: Ticket, *, staff: bool = False) -> TicketDetail:
    """A ticket loaded with its messages, screenshots and history; ``staff``: for an agent or admin, not the owner."""
    summary = ticket_summary(ticket, len(ticket.screenshots))
    return TicketDetail(
        **{name: getattr(summary, name) for name in summary.__struct_fields__},
        messages=[
            Message(id=m.id, role=m.role, content=m.content, citations=list(m.citations), created_at=m.created_at)
            for m in ticket.messages
        ],
        screenshots=[
            Screenshot(
                index=s.position,
                url=screenshot_url(ticket, s.position),
                media_type=s.media_type,
                width=s.width,
                height=s.height,
                size=s.size_bytes,
            )
            for s in ticket.screenshots
        ],
        history=[
            HistoryEntry(
                at=h.at,
                actor=h.actor,
                field=h.field,
                from_=_history_value(h.field, h.old_value, staff=staff),
                to=_history_value(h.field, h.new_value, staff=staff),
            )
            for h in ticket.history
        ],
    )
