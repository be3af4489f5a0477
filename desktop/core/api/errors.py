"""What can go wrong talking to the server, as exceptions the UI can show in words.

Every server error is an RFC 7807 problem document with a machine ``code`` and a human ``detail``. The UI shows
:attr:`ApiError.message`, which prefers our own wording for the codes we know (the server's detail is fine for a
developer, but "invalid_credentials" deserves a sentence a person understands) and falls back to the server's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datetime

__all__ = [
    "AccountDeleted",
    "ApiError",
    "FieldError",
    "OtpRequired",
    "QuotaExceeded",
    "ServerUnreachable",
    "SessionExpired",
    "friendly_message",
]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid input, e.g. ``FieldError("password", "Use at least 12 characters.", "body")``."""

    field: str
    message: str
    source: str = "body"


# Our words for the server's codes. Keep them short and say what to do next.
_MESSAGES: dict[str, str] = {
    "invalid_credentials": "That e-mail/username and password don't match. Check them and try again.",
    "email_not_verified": "Please confirm your e-mail address first — open the link in the mail we sent you.",
    "invalid_refresh_token": "Your session has ended. Please sign in again.",
    "session_revoked": "You were signed out (perhaps from another device). Please sign in again.",
    "invalid_token": "This link or code is invalid, already used or expired. Ask for a new one.",
    "not_authenticated": "Please sign in to continue.",
    "weak_password": "Choose a stronger password.",
    "email_taken": "An account with this e-mail address already exists. Try signing in instead.",
    "username_taken": "This username is taken. Please pick another one.",
    "age_required": "You must be 18 or older to use Tech Pal.",
    "role_required": "Your account isn't allowed to do this.",
    "forbidden": "Your account isn't allowed to do this.",
    "not_found": "We couldn't find that — it may have been removed.",
    "validation_error": "Some of the details aren't valid. Please check the highlighted fields.",
    "malformed_body": "The app sent a request the server didn't understand. Please update Tech Pal.",
    "body_too_large": "The screenshots are too large to send. Remove one or capture a smaller region.",
    "unsupported_media_type": "The server refused the file type. Please attach a PNG, JPEG or WebP image.",
    "invalid_ocr": (
        "The server refused the text Tech Pal read on a screenshot. Remove that screenshot and capture it again, "
        "or update Tech Pal."
    ),
    "idempotency_key_reused": "This question was already sent with different content. Please send it again.",
    "rate_limited": "Too many attempts. Please wait a moment and try again.",
    "too_many_uploads": "Two of your questions are still being sent. Wait until one is through, then try again.",
    "too_many_streams": "Tech Pal is open in too many places for this account. Close one and try again.",
    "service_unavailable": "The server is busy or starting up. Please try again in a moment.",
    "quota_exceeded": "You've used all the answers in your plan for this period.",
    "billing_disabled": "Subscriptions are not available on this server.",
    "billing_unavailable": "Billing is temporarily unavailable. Please try again later.",
    "internal_error": "Something went wrong on the server. Please try again later.",
    "account_deleted": "This account is scheduled for deletion. You can restore it until then.",
    "reauthentication_required": "Enter your password to change the e-mail address.",
    "account_not_deleted": "This account is not deleted. Sign in as usual.",
    "invalid_api_key": "That API key is mistyped, unknown or revoked.",
    "api_key_expired": "That API key has expired. Make a new one.",
    "insufficient_scope": "That API key is not allowed to do this.",
    "session_required": "Sign in to do this; an API key can't.",
    "too_many_api_keys": "You have 20 API keys already. Revoke one first.",
    "unknown_policy_version": "The privacy policy changed again meanwhile. Please read the new version.",
    "export_limited": "You can ask for one export of your data a day.",
    "export_not_ready": "Your data is still being prepared. We'll tell you when it is ready.",
    "export_expired": "This export has expired. Ask for a new one.",
    "cannot_remove_own_admin": "You can't remove your own admin role. Ask another admin to do it.",
    "otp_required": "Enter the code from your authenticator app.",
    "invalid_otp": "That code isn't right. Check your authenticator app (or the recovery code) and try again.",
    "challenge_expired": "Signing in took too long or too many codes were wrong. Please sign in again.",
    "invalid_id_token": "Google sign-in couldn't be confirmed. Please try again.",
    "email_unverified": "Google hasn't confirmed this account's e-mail address yet. Confirm it with Google first.",
    "link_requires_password": (
        "Google sign-in can't open the Tech Pal account with this e-mail address. If you haven't confirmed the "
        'address yet, open the link in the mail we sent you (or use "Forgot password?"), then sign in with Google '
        "again. Otherwise sign in with your password."
    ),
    "google_disabled": "Google sign-in is not available on this server.",
    "google_unavailable": "Google sign-in is unavailable right now. Try again in a moment, or use your password.",
    "password_not_set": "Your account has no password yet. Ask for a link to set one first.",
    "two_factor_enabled": "Two-step sign-in is already on.",
    "two_factor_not_pending": "This setup of two-step sign-in has expired. Please start again.",
    "two_factor_disabled": "Two-step sign-in is already off.",
}

_BY_STATUS: dict[int, str] = {
    400: "The server could not handle this request.",
    401: "Please sign in to continue.",
    403: "Your account isn't allowed to do this.",
    404: "We couldn't find that — it may have been removed.",
    408: "The server took too long to answer. Please try again.",
    409: "This conflicts with something that changed meanwhile. Please reload and try again.",
    413: "The screenshots are too large to send. Remove one or capture a smaller region.",
    422: "Some of the details aren't valid. Please check them.",
    429: "Too many attempts. Please wait a moment and try again.",
}


def friendly_message(status: int, code: str, detail: str = "") -> str:
    """Words for a person: our sentence for a known code, else the server's detail, else one per status class."""
    if code in _MESSAGES:
        return _MESSAGES[code]
    if detail:
        return detail
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return "Something went wrong on the server. Please try again later."
    return f"The server refused the request (HTTP {status})."


@dataclass(eq=False)
class ApiError(Exception):
    """A request the server answered with an error, or one that never got an answer.

    Attributes:
        status: HTTP status; 0 when no response arrived (see :class:`ServerUnreachable`).
        code: The server's machine-readable code, e.g. ``"invalid_credentials"``.
        message: A sentence for the user.
        detail: The server's own ``detail`` (for logs and developers).
        field_errors: Per-field problems of a 422, to show next to the inputs.
        retry_after: Seconds to wait, from ``Retry-After`` on 429/503.
    """

    status: int
    code: str
    message: str
    detail: str = ""
    field_errors: list[FieldError] = field(default_factory=list)
    retry_after: float | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    @property
    def is_client_error(self) -> bool:
        """A 4xx that sending the same request again will not fix (408 and 429 are worth retrying)."""
        return 400 <= self.status < 500 and self.status not in (408, 429)

    @property
    def is_transient(self) -> bool:
        """Worth retrying later unchanged: unreachable, timeout, rate limit or a server-side failure."""
        return self.status == 0 or self.status in (408, 429) or self.status >= 500


@dataclass(eq=False)
class ServerUnreachable(ApiError):
    """No answer at all: refused, DNS, TLS, timeout. Questions go to the offline queue."""

    status: int = 0
    code: str = "server_unreachable"
    message: str = "Can't reach the Tech Pal server. Check your connection; we'll keep your question."


@dataclass(eq=False)
class SessionExpired(ApiError):
    """The refresh token is gone or was refused: the UI returns to sign-in (the user's draft stays)."""

    status: int = 401
    code: str = "session_expired"
    message: str = "Your session has ended. Please sign in again."


@dataclass(eq=False)
class QuotaExceeded(ApiError):
    """402 ``quota_exceeded``: show the reset date and an upgrade button, and keep the user's text.

    Attributes:
        plan: The key of the plan whose quota ran out, e.g. ``"free"``.
        quota: Answers per period on that plan.
        resets_at: When the quota resets, if the server said.
        upgrade_plans: Keys of paid plans with a larger quota (empty: nothing to upgrade to); pass one to
            ``ApiClient.checkout_url``.
    """

    status: int = 402
    code: str = "quota_exceeded"
    message: str = _MESSAGES["quota_exceeded"]
    plan: str | None = None
    quota: int | None = None
    resets_at: datetime.datetime | None = None
    upgrade_plans: list[str] = field(default_factory=list)

    @property
    def can_upgrade(self) -> bool:
        """Whether an Upgrade button makes sense."""
        return bool(self.upgrade_plans)


@dataclass(eq=False)
class AccountDeleted(ApiError):
    """403 ``account_deleted`` at sign-in: the account was deleted and can be restored until ``purge_after``.

    Attributes:
        purge_after: When the account is removed for good, if the server said.
    """

    status: int = 403
    code: str = "account_deleted"
    message: str = _MESSAGES["account_deleted"]
    purge_after: datetime.datetime | None = None


@dataclass(eq=False)
class OtpRequired(ApiError):
    """401 ``otp_required`` at sign-in: the password (or Google) was right and two-step sign-in is on.

    Attributes:
        challenge: The opaque string to send back with the code (``ApiClient.login_otp``); valid for 5 minutes.
    """

    status: int = 401
    code: str = "otp_required"
    message: str = _MESSAGES["otp_required"]
    challenge: str = ""
