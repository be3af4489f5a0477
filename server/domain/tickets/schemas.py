"""Wire types of the ticket endpoints (field names are the public contract)."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any, Literal

import msgspec

from server.lib.schema import RequestBody, ResponseBody

__all__ = [
    "MAX_DESCRIPTION_CHARS",
    "AgentReply",
    "Device",
    "Feedback",
    "FollowUp",
    "HistoryEntry",
    "Message",
    "Screenshot",
    "TicketDetail",
    "TicketPage",
    "TicketSummary",
]

MAX_DESCRIPTION_CHARS = 10_000

ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Device(RequestBody, frozen=True, omit_defaults=True):
    """What the desktop app knows about the machine; every field optional, unknown fields refused.

    ``os`` (e.g. ``Windows``), ``os_version`` (``11 23H2``), ``cpu`` (model name), ``ram_gb`` (installed memory, GB),
    ``free_disk_gb`` (free space on the system disk, GB), ``network``: ``online`` (internet reachable),
    ``limited`` (a network but no internet) or ``offline``.
    """

    os: ShortText | None = None
    os_version: ShortText | None = None
    cpu: ShortText | None = None
    ram_gb: Annotated[float, msgspec.Meta(ge=0, le=65536)] | None = None
    free_disk_gb: Annotated[float, msgspec.Meta(ge=0, le=1_000_000)] | None = None
    network: Literal["online", "offline", "limited"] | None = None


class Feedback(RequestBody, frozen=True):
    """Did the answer fix it? ``true`` resolves the ticket (and teaches the knowledge base); ``false`` escalates."""

    resolved: bool
    comment: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


MessageText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_DESCRIPTION_CHARS)]


class FollowUp(RequestBody, frozen=True):
    """A follow-up question on a ticket; the answer streams like the first one."""

    content: MessageText


class AgentReply(RequestBody, frozen=True):
    """An agent's answer to a ticket; the owner sees it on the ticket and in their event stream."""

    content: MessageText


class Message(ResponseBody, frozen=True):
    """One turn of the conversation."""

    id: uuid.UUID
    role: str
    content: str
    citations: list[dict[str, Any]]
    created_at: datetime.datetime


class Screenshot(ResponseBody, frozen=True):
    """One stored screenshot; ``url`` serves its (metadata-free) bytes to the owner and agents."""

    index: int
    url: str
    media_type: str
    width: int
    height: int
    size: int


class HistoryEntry(ResponseBody, frozen=True):
    """One change: ``field`` went ``from`` → ``to``, made by ``actor`` (``user``, ``ai``, ``agent``, ``system``)."""

    at: datetime.datetime
    actor: str
    field: str
    from_: Any = msgspec.field(name="from")
    to: Any = None


class TicketSummary(ResponseBody, frozen=True):
    """A ticket as listed. ``category`` is ``null`` until the user or triage sets it."""

    id: uuid.UUID
    status: str
    priority: str
    category: str | None
    description: str
    device: dict[str, Any] | None
    screenshot_count: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class TicketDetail(TicketSummary, frozen=True):
    """A ticket with its conversation, screenshots (0-based) and history."""

    messages: list[Message]
    screenshots: list[Screenshot]
    history: list[HistoryEntry]


class TicketPage(ResponseBody, frozen=True):
    """One page of tickets, newest first (by ``created_at``)."""

    items: list[TicketSummary]
    total: int
    limit: int
    offset: int
