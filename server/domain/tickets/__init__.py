"""Tickets: a user's problem with screenshots, resolved by the knowledge base and an AI model, or by an agent.

Other slices use what is exported here: the ticket service and its provider, the answer limit, blob
storage and the safe removal of blobs no ticket needs; for the support console, the staff's queue filters, the
access log's lines and the staff event stream.
"""

from server.domain.tickets.deps import TICKET_DEPENDENCIES
from server.domain.tickets.events import TicketEventHub, staff_events
from server.domain.tickets.limits import count_answer, uploads_in_flight
from server.domain.tickets.queries import delete_unreferenced_blobs
from server.domain.tickets.schemas import FollowUp
from server.domain.tickets.services import (
    RETRIEVAL_ONLY_MODEL,
    STAFF_ROLES,
    WORK_STATUSES,
    MessageUsage,
    QueueFilters,
    QueueRow,
    TicketService,
    TicketViewEntry,
)
from server.domain.tickets.storage import BlobStorage, build_blob_storage

__all__ = [
    "RETRIEVAL_ONLY_MODEL",
    "STAFF_ROLES",
    "TICKET_DEPENDENCIES",
    "WORK_STATUSES",
    "BlobStorage",
    "FollowUp",
    "MessageUsage",
    "QueueFilters",
    "QueueRow",
    "TicketEventHub",
    "TicketService",
    "TicketViewEntry",
    "build_blob_storage",
    "count_answer",
    "delete_unreferenced_blobs",
    "staff_events",
    "uploads_in_flight",
]
