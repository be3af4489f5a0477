"""The server's API as the desktop sees it: a blocking client, typed answers, SSE parsing and error types.

The client and the models load on first use (PEP 562): they bring httpx and msgspec, megabytes the idle tray
without a session never needs. The error types are plain dataclasses and load at once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from desktop.core.api.errors import (
    AccountDeleted,
    ApiError,
    FieldError,
    OtpRequired,
    QuotaExceeded,
    ServerUnreachable,
    SessionExpired,
)

if TYPE_CHECKING:
    from desktop.core.api.client import ApiClient, EventStream, StreamEvent, app_version, user_agent
    from desktop.core.api.models import (
        AnalyticsAccepted,
        AuthProviders,
        Citation,
        DeletionScheduled,
        DeltaEvent,
        DeviceSession,
        DoneEvent,
        ErrorEvent,
        ExportInfo,
        GoogleProvider,
        NoteEvent,
        Plan,
        PlanCatalogue,
        PolicyNotice,
        Profile,
        ProgressEvent,
        Subscription,
        Ticket,
        TicketChanged,
        TicketDetail,
        TicketPage,
        TotpSetup,
        TriageEvent,
    )

_CLIENT_NAMES = ("ApiClient", "EventStream", "StreamEvent", "app_version", "user_agent")
_MODEL_NAMES = (
    "AnalyticsAccepted",
    "AuthProviders",
    "Citation",
    "DeletionScheduled",
    "DeltaEvent",
    "DeviceSession",
    "DoneEvent",
    "ErrorEvent",
    "ExportInfo",
    "GoogleProvider",
    "NoteEvent",
    "Plan",
    "PlanCatalogue",
    "PolicyNotice",
    "Profile",
    "ProgressEvent",
    "Subscription",
    "Ticket",
    "TicketChanged",
    "TicketDetail",
    "TicketPage",
    "TotpSetup",
    "TriageEvent",
)
_LAZY: dict[str, str] = {
    **dict.fromkeys(_CLIENT_NAMES, "desktop.core.api.client"),
    **dict.fromkeys(_MODEL_NAMES, "desktop.core.api.models"),
}

__all__ = [
    "AccountDeleted",
    "AnalyticsAccepted",
    "ApiClient",
    "ApiError",
    "AuthProviders",
    "Citation",
    "DeletionScheduled",
    "DeltaEvent",
    "DeviceSession",
    "DoneEvent",
    "ErrorEvent",
    "EventStream",
    "ExportInfo",
    "FieldError",
    "GoogleProvider",
    "NoteEvent",
    "OtpRequired",
    "Plan",
    "PlanCatalogue",
    "PolicyNotice",
    "Profile",
    "ProgressEvent",
    "QuotaExceeded",
    "ServerUnreachable",
    "SessionExpired",
    "StreamEvent",
    "Subscription",
    "Ticket",
    "TicketChanged",
    "TicketDetail",
    "TicketPage",
    "TotpSetup",
    "TriageEvent",
    "app_version",
    "user_agent",
]


def __getattr__(name: str) -> Any:
    """Import the client or the models when one of their names is first used."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
