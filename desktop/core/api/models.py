"""Wire structs of the server's JSON answers, as the desktop reads them.

Decoding is tolerant: unknown fields are ignored (``forbid_unknown_fields=False``, msgspec's default, stated
explicitly) so a newer server does not break an older app, and fields the app can live without have defaults.
Field names are the server's public contract (snake_case).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import msgspec

__all__ = [
    "AnalyticsAccepted",
    "AuthProviders",
    "Citation",
    "DeletionScheduled",
    "DeltaEvent",
    "DeviceSession",
    "DoneEvent",
    "ErrorEvent",
    "ExportInfo",
    "FieldChange",
    "GoogleProvider",
    "NoteEvent",
    "Plan",
    "PlanCatalogue",
    "PolicyNotice",
    "Problem",
    "ProblemFieldError",
    "Profile",
    "RecoveryCodes",
    "Screenshot",
    "Subscription",
    "Ticket",
    "TicketChanged",
    "TicketDetail",
    "TicketHistoryEntry",
    "TicketMessage",
    "TicketPage",
    "TokenPair",
    "TotpSetup",
    "TriageEvent",
    "UrlResponse",
    "WireStruct",
]


class WireStruct(msgspec.Struct, frozen=True, forbid_unknown_fields=False, kw_only=True):
    """Base of every decoded answer: immutable, tolerant of new fields."""


# ------------------------------------------------------------------------------------------------ errors
class ProblemFieldError(WireStruct, frozen=True):
    """One entry of a problem's ``errors`` list."""

    field: str = ""
    message: str = ""
    source: str = "body"


class Problem(WireStruct, frozen=True):
    """RFC 7807 problem details as the server sends them (plus the 402 quota extras)."""

    status: int = 0
    title: str = ""
    detail: str = ""
    code: str = ""
    errors: list[ProblemFieldError] = msgspec.field(default_factory=list)
    request_id: str | None = None
    # 402 quota_exceeded extras
    plan: str | None = None
    quota: int | None = None
    used: int | None = None
    resets_at: datetime.datetime | None = None
    upgrade_url: str | None = None
    upgrade_plans: list[str] = msgspec.field(default_factory=list)
    # 403 account_deleted: when the deleted account is purged (it can be restored until then)
    purge_after: datetime.datetime | None = None
    # 401 otp_required: the opaque challenge to send back with the code; 401 invalid_otp: tries before it expires
    challenge: str | None = None
    attempts_left: int | None = None


# ------------------------------------------------------------------------------------------------ accounts
class TokenPair(WireStruct, frozen=True):
    """Credentials after login or refresh; ``expires_in`` is the access token's lifetime in seconds."""

    access_token: str
    refresh_token: str
    expires_in: int = 0
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret


class GoogleProvider(WireStruct, frozen=True):
    """The server's Google sign-in client, for the browser flow the app runs.

    An installed app's ``client_secret`` is no secret (every copy of the app holds it); PKCE protects the code.
    """

    client_id: str
    client_secret: str
    issuer: str


class AuthProviders(WireStruct, frozen=True):
    """``GET /api/v1/auth/providers``: the other ways to sign in this server offers (``None``: not offered)."""

    google: GoogleProvider | None = None


class TotpSetup(WireStruct, frozen=True):
    """``POST /api/v1/me/2fa/totp``: the pending secret, and the ``otpauth://`` URI an authenticator app scans."""

    secret: str
    otpauth_uri: str


class RecoveryCodes(WireStruct, frozen=True):
    """``POST /api/v1/me/2fa/totp/confirm``: two-step sign-in is on; each code signs in once without the app."""

    recovery_codes: list[str]


class PolicyNotice(WireStruct, frozen=True):
    """The current privacy policy; ``accepted`` is whether this user has acknowledged this version."""

    version: str
    summary: str = ""
    url: str | None = None
    published_at: datetime.datetime | None = None
    accepted: bool = True  # a notice the app cannot read is not nagged about


class Profile(WireStruct, frozen=True):
    """The signed-in user (``GET``/``PATCH /api/v1/me``); ``pending_email`` is a new address awaiting confirmation.

    ``kb_contribution``, ``analytics`` and ``ai_processing`` are the privacy switches (false = the user objected);
    ``policy`` is ``None`` while the server has published no policy. ``two_factor``: two-step sign-in is on;
    ``has_password`` is false for an account made by Google sign-in that never set one; ``google_linked``: it can
    sign in with Google.
    """

    id: uuid.UUID
    name: str
    username: str
    email: str
    email_verified: bool = True
    role: str = "user"
    created_at: datetime.datetime | None = None
    pending_email: str | None = None
    kb_contribution: bool = True
    analytics: bool = True
    ai_processing: bool = True
    policy: PolicyNotice | None = None
    two_factor: bool = False
    has_password: bool = True
    google_linked: bool = False


class DeviceSession(WireStruct, frozen=True):
    """One signed-in device of ``GET /api/v1/auth/sessions``; ``current`` is the one asking."""

    id: uuid.UUID
    device_name: str = ""
    created_at: datetime.datetime | None = None
    last_used_at: datetime.datetime | None = None
    current: bool = False


# ------------------------------------------------------------------------------------------------ data rights
class ExportInfo(WireStruct, frozen=True):
    """One export of my data (``status``: ``pending``, ``ready`` or ``expired``); the size is known once ready."""

    id: uuid.UUID
    status: str
    created_at: datetime.datetime | None = None
    expires_at: datetime.datetime | None = None
    size_bytes: int | None = None


class DeletionScheduled(WireStruct, frozen=True):
    """``DELETE /api/v1/me``: the account is closed now and purged at ``purge_after`` unless restored before."""

    purge_after: datetime.datetime


# ------------------------------------------------------------------------------------------------ tickets
class Screenshot(WireStruct, frozen=True):
    """One stored screenshot of a ticket; ``url`` is relative to the server."""

    index: int = 0
    url: str = ""
    media_type: str | None = None
    width: int | None = None
    height: int | None = None
    size: int | None = None


class TicketMessage(WireStruct, frozen=True):
    """One message of a ticket's conversation (``role``: user, assistant or agent).

    Stored citations carry no ``number``: the answer's ``[n]`` is the n-th entry of ``citations``.
    """

    id: uuid.UUID
    role: str
    content: str
    created_at: datetime.datetime | None = None
    citations: list[Citation] = msgspec.field(default_factory=list)


class TicketHistoryEntry(WireStruct, frozen=True):
    """One recorded change: ``field`` went ``from_`` → ``to``, by ``actor`` (user, ai, agent, system)."""

    at: datetime.datetime | None = None
    actor: str | None = None
    field: str | None = None
    from_: Any = msgspec.field(default=None, name="from")
    to: Any = None


class Ticket(WireStruct, frozen=True):
    """A ticket as listed and as returned by create."""

    id: uuid.UUID
    status: str
    priority: str | None = None
    category: str | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None
    description: str = ""
    device: dict[str, Any] | None = None
    screenshot_count: int = 0


class TicketDetail(Ticket, frozen=True):
    """``GET /api/v1/tickets/{id}``: the ticket with its conversation, screenshots and history."""

    messages: list[TicketMessage] = msgspec.field(default_factory=list)
    screenshots: list[Screenshot] = msgspec.field(default_factory=list)
    history: list[TicketHistoryEntry] = msgspec.field(default_factory=list)


class TicketPage(WireStruct, frozen=True):
    """One page of ``GET /api/v1/tickets``."""

    items: list[Ticket]
    total: int = 0
    limit: int = 0
    offset: int = 0


# ------------------------------------------------------------------------------------------------ streamed answer
class TriageEvent(WireStruct, frozen=True):
    """``event: triage`` — the category and priority in effect, and whether the AI (or rules) chose each."""

    category: str | None = None
    priority: str | None = None
    category_by_ai: bool = False
    priority_by_ai: bool = False


class Citation(WireStruct, frozen=True):
    """``event: citation`` — a knowledge-base article the answer cites as ``[number]``.

    ``number`` is 0 in a stored message's citation list, where the position gives the number.
    """

    title: str
    number: int = 0
    article_id: str | None = None
    source_id: str | None = None
    source_url: str | None = None


class DeltaEvent(WireStruct, frozen=True):
    """``event: delta`` — the next piece of the answer's Markdown."""

    text: str


class DoneEvent(WireStruct, frozen=True):
    """``event: done`` — the complete answer is stored as ``message_id``."""

    message_id: str | None = None


class ErrorEvent(WireStruct, frozen=True):
    """``event: error`` — the chat model failed; ``message`` is for people.

    Not necessarily the end: the server may go on with a retrieval-only answer and ``done``. Only a stream that
    ends without ``done`` is a failed answer.
    """

    code: str = "error"
    message: str = ""


class ProgressEvent(WireStruct, frozen=True):
    """``event: progress`` — what the answer waits for before it starts (``reading_screenshot``)."""

    code: str = "progress"
    message: str = ""


class NoteEvent(WireStruct, frozen=True):
    """``event: note`` — something to know about how this answer is made (first in the stream); not an error."""

    code: str = "note"
    message: str = ""


class FieldChange(WireStruct, frozen=True):
    """One changed field in a :class:`TicketChanged`."""

    field: str
    from_: Any = msgspec.field(default=None, name="from")
    to: Any = None


class TicketChanged(WireStruct, frozen=True):
    """One event of ``GET /api/v1/events``.

    ``kind``: ``created``, ``message`` (with ``message_id``, ``role`` — an ``agent`` reply deserves a
    notification — and ``preview``, the message's first 280 characters) or ``changed`` (with ``changes``, e.g.
    status → ``escalated``). When the data has no ``kind``, the SSE event name is used.
    """

    ticket_id: str | None = None
    kind: str = ""
    message_id: str | None = None
    role: str | None = None
    changes: list[FieldChange] = msgspec.field(default_factory=list)
    preview: str | None = None

    @property
    def new_status(self) -> str | None:
        """The status this change set, if it set one."""
        for change in self.changes:
            if change.field == "status" and isinstance(change.to, str):
                return change.to
        return None


# ------------------------------------------------------------------------------------------------ billing
class Plan(WireStruct, frozen=True):
    """One plan of the catalogue; ``quota`` is AI answers per period (``None`` = unlimited)."""

    key: str
    name: str = ""
    price: str | None = None
    quota: int | None = None
    paid: bool = False


class PlanCatalogue(WireStruct, frozen=True):
    """``GET /api/v1/billing/plans``: the plans, and whether this server sells anything at all."""

    plans: list[Plan]
    billing_enabled: bool = True


class Subscription(WireStruct, frozen=True):
    """``GET /api/v1/billing/subscription``; ``quota`` is ``None`` for unlimited plans (e.g. ``self_hosted``)."""

    plan: str
    status: str
    plan_name: str = ""
    current_period_end: datetime.datetime | None = None
    cancel_at_period_end: bool = False
    usage: int = 0
    quota: int | None = None
    resets_at: datetime.datetime | None = None
    billing_enabled: bool = True


class UrlResponse(WireStruct, frozen=True):
    """``{url}`` of a Checkout or Portal session, to open in the browser."""

    url: str


# ------------------------------------------------------------------------------------------------ analytics
class AnalyticsAccepted(WireStruct, frozen=True):
    """``POST /api/v1/analytics/events`` (202): how many of the batch's events the server stored."""

    accepted: int
