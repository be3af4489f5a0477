"""The server's API as the desktop sees it: a blocking client, typed answers, SSE parsing and error types."""

from __future__ import annotations

from desktop.core.api.client import ApiClient, EventStream, StreamEvent, app_version, user_agent
from desktop.core.api.errors import ApiError, FieldError, QuotaExceeded, ServerUnreachable, SessionExpired
from desktop.core.api.models import (
    Citation,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    Plan,
    PlanCatalogue,
    Profile,
    Subscription,
    Ticket,
    TicketChanged,
    TicketDetail,
    TicketPage,
    TriageEvent,
)

__all__ = [
    "ApiClient",
    "ApiError",
    "Citation",
    "DeltaEvent",
    "DoneEvent",
    "ErrorEvent",
    "EventStream",
    "FieldError",
    "Plan",
    "PlanCatalogue",
    "Profile",
    "QuotaExceeded",
    "ServerUnreachable",
    "SessionExpired",
    "StreamEvent",
    "Subscription",
    "Ticket",
    "TicketChanged",
    "TicketDetail",
    "TicketPage",
    "TriageEvent",
    "app_version",
    "user_agent",
]
