"""Ticket use cases: create, read, list, and the changes the AI, the feedback and the agents make.

A create is idempotent and stores its screenshots all-or-nothing.

Every change of status, priority or category goes through :meth:`TicketService.change`, every message through
:meth:`TicketService.append_message` and an assignment through :meth:`TicketService.assign`: each writes its history
row, moves ``updated_at`` and sends ``NOTIFY ticket_events`` in the same transaction, so a listener (the SSE stream,
in any process) hears about a change exactly when it is committed. Nothing here commits the request's session: the
request does (ADR 9). A create with screenshots or an idempotency key writes in a transaction of its own (see
:meth:`TicketService.create`). The staff's work (the queue, replies, closing, reopening, assignment, the access log)
is in ``_staff``.

Screenshot blobs are content-addressed and may be shared by tickets. Storing and deleting them takes a
transaction-scoped advisory lock per blob, so a failed request's clean-up can never delete a blob that a
concurrent request is about to reference.
"""

from __future__ import annotations

from server.domain.tickets.queries import EVENTS_CHANNEL, STAFF_ROLES
from server.domain.tickets.services._base import RETRIEVAL_ONLY_MODEL, CreatedTicket, MessageUsage, ModelScreenshot
from server.domain.tickets.services._create import TicketCreation
from server.domain.tickets.services._staff import WORK_STATUSES, QueueFilters, QueueRow, StaffWork, TicketViewEntry

__all__ = [
    "EVENTS_CHANNEL",
    "RETRIEVAL_ONLY_MODEL",
    "STAFF_ROLES",
    "WORK_STATUSES",
    "CreatedTicket",
    "MessageUsage",
    "ModelScreenshot",
    "QueueFilters",
    "QueueRow",
    "TicketService",
    "TicketViewEntry",
]


class TicketService(TicketCreation, StaffWork):
    """Ticket use cases on the request's database session (they flush; the request commits)."""
