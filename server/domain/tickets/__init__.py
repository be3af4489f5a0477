"""Tickets: a user's problem with screenshots, resolved by the knowledge base and an AI model, or by an agent.

Other slices use what is exported here: the ticket service and its provider, the answer limit, blob
storage and the safe removal of blobs no ticket needs.
"""

from server.domain.tickets.deps import TICKET_DEPENDENCIES
from server.domain.tickets.limits import count_answer, uploads_in_flight
from server.domain.tickets.queries import delete_unreferenced_blobs
from server.domain.tickets.schemas import FollowUp
from server.domain.tickets.services import MessageUsage, TicketService
from server.domain.tickets.storage import BlobStorage

__all__ = [
    "TICKET_DEPENDENCIES",
    "BlobStorage",
    "FollowUp",
    "MessageUsage",
    "TicketService",
    "count_answer",
    "delete_unreferenced_blobs",
    "uploads_in_flight",
]
