"""Changing tickets: messages, status, triage and feedback, each with its history row and its NOTIFY."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog

# The same generator the models' primary keys use (UUIDv7 with uuid-utils installed, else UUIDv4).
from advanced_alchemy.mixins.uuid import uuid7  # type: ignore[attr-defined]
from sqlalchemy import func, select

from server.db.models import (
    Actor,
    Category,
    FieldSource,
    MessageRole,
    Priority,
    Status,
    Ticket,
    TicketHistory,
    TicketMessage,
)
from server.domain.tickets.queries import (
    EVENTS_CHANNEL,
    SOURCE_OF_ACTOR,
    event_notice,
)
from server.domain.tickets.services._base import MessageUsage, TicketServiceBase
from server.lib.clock import utcnow
from server.lib.exceptions import Conflict

if TYPE_CHECKING:
    import uuid
    from collections.abc import Sequence

__all__ = ["TicketChanges"]

logger = structlog.get_logger(__name__)


class TicketChanges(TicketServiceBase):
    """The changes the AI, the feedback and the agents make."""

    # ------------------------------------------------------------------------------------------ changes
    async def append_message(
        self,
        ticket: Ticket,
        *,
        role: MessageRole,
        content: str,
        author_id: uuid.UUID | None = None,
        citations: Sequence[dict[str, Any]] = (),
        usage: MessageUsage | None = None,
    ) -> TicketMessage:
        """Add a message (``user``, ``assistant`` or ``agent``) and move the ticket's ``updated_at``; no commit.

        ``citations`` are stored as given (JSON objects: ``article_id``, ``source_id``, ``title``, ``source_url``).
        """
        self._require_loaded(ticket)
        message = TicketMessage(
            id=uuid7(),
            ticket_id=ticket.id,
            role=role,
            author_id=author_id,
            content=content,
            citations=list(citations),
            model=usage.model if usage else None,
            tokens_in=usage.tokens_in if usage else None,
            tokens_out=usage.tokens_out if usage else None,
            latency_ms=usage.latency_ms if usage else None,
        )
        self.db.add(message)
        ticket.updated_at = utcnow()
        # A short preview lets the desktop notify ("An agent replied: …") without fetching the ticket.
        await self._notify(
            ticket.id, ticket.owner_id, "message", message_id=message.id, role=role, preview=content[:280]
        )
        await self.db.flush()
        return message

    async def change(
        self,
        ticket: Ticket,
        *,
        actor: Actor,
        actor_id: uuid.UUID | None = None,
        status: Status | None = None,
        priority: Priority | None = None,
        category: Category | None = None,
        source: FieldSource | None = None,
    ) -> list[TicketHistory]:
        """The one way to change status, priority or category: history rows, ``updated_at``, NOTIFY; no commit.

        ``source`` records who chose a priority/category (``user``, ``ai``, ``rules``, ``agent``); it defaults
        from ``actor``. Fields that already hold the new value are skipped; the history rows written are returned.
        """
        self._require_loaded(ticket)
        field_source: str = source or SOURCE_OF_ACTOR[actor]
        now = utcnow()
        written: list[TicketHistory] = []
        for field, new in (("status", status), ("priority", priority), ("category", category)):
            if new is None or getattr(ticket, field) == new:
                continue
            old = getattr(ticket, field)
            setattr(ticket, field, new)
            if field != "status":
                setattr(ticket, f"{field}_source", field_source)
            entry = TicketHistory(
                ticket_id=ticket.id, at=now, actor=actor, actor_id=actor_id, field=field, old_value=old, new_value=new
            )
            self.db.add(entry)
            written.append(entry)
        if written:
            ticket.updated_at = now
            changes = [{"field": e.field, "from": e.old_value, "to": e.new_value} for e in written]
            await self._notify(ticket.id, ticket.owner_id, "changed", changes=changes)
            await self.db.flush()
        return written

    async def triage(
        self,
        ticket: Ticket,
        *,
        category: Category | None,
        priority: Priority | None,
        source: FieldSource,
    ) -> list[TicketHistory]:
        """Set what the AI or the rules chose, except the fields the user chose (their choice always wins)."""
        return await self.change(
            ticket,
            actor="ai" if source == "ai" else "system",
            category=category if ticket.category_source != "user" else None,
            priority=priority if ticket.priority_source != "user" else None,
            source=source,
        )

    def _require_loaded(self, ticket: Ticket) -> None:
        # A ticket outside this session (the one create() returns) would take the history rows but not its own
        # changes: refuse rather than store half a change.
        if ticket not in self.db:
            raise ValueError("load the ticket with TicketService.get() before changing it")

    async def _notify(self, ticket_id: uuid.UUID, owner_id: uuid.UUID, kind: str, **data: Any) -> None:
        """``NOTIFY ticket_events`` with a small JSON payload; PostgreSQL delivers it at commit, never on rollback."""
        await self.db.execute(select(func.pg_notify(EVENTS_CHANNEL, event_notice(ticket_id, owner_id, kind, **data))))

    async def record_feedback(self, ticket: Ticket, *, resolved: bool, comment: str | None) -> bool:
        """The owner says whether the answer worked: ``resolved`` or ``escalated`` (to the agents); no commit.

        Returns whether the ticket became resolved just now (a repeated "fixed it" changes nothing and returns
        ``False``, so the fix reaches the knowledge base once). Load ``ticket`` with ``lock=True``.

        Raises:
            Conflict: ``not_answered`` before any answer, ``ticket_closed`` once closed.
        """
        if resolved and ticket.status == "resolved":
            return False
        if ticket.status == "closed":
            raise Conflict("This ticket is closed.", code="ticket_closed")
        if not any(m.role in {"assistant", "agent"} for m in ticket.messages):
            raise Conflict("There is no answer to give feedback on yet.", code="not_answered")
        self.db.add(
            TicketHistory(
                ticket_id=ticket.id,
                at=utcnow(),
                actor="user",
                actor_id=ticket.owner_id,
                field="feedback",
                new_value={"resolved": resolved, "comment": comment},
            )
        )
        status: Status = "resolved" if resolved else "escalated"
        await self.change(ticket, actor="user", actor_id=ticket.owner_id, status=status)
        return resolved
