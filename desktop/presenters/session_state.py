"""The session's vocabulary: its states, the sign-in steps, the sentences it shows, and small helpers."""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from desktop.core.api.errors import ApiError
from desktop.core.auth import TokenStore

if TYPE_CHECKING:  # the client brings httpx: loaded once a session needs it
    import datetime

    from desktop.core.api.client import ApiClient

__all__ = [
    "INSECURE_URL_TEXT",
    "LOGOUT_AT_EXIT_S",
    "STORE_FAILED_TEXT",
    "UNEXPECTED_TEXT",
    "ClientFactory",
    "SessionState",
    "SignInStep",
    "default_client_factory",
    "deletion_text",
    "device_name",
    "error_message",
    "extract_verification_token",
    "long_date",
]

logger = logging.getLogger(__name__)

ClientFactory = Callable[[str, TokenStore, "str | None"], "ApiClient"]
INSECURE_URL_TEXT = (
    "This server address uses plain http:// to another computer: your password and sign-in would travel "
    "unencrypted. Confirm that you accept this, or use an https:// address."
)
UNEXPECTED_TEXT = "Something unexpected went wrong. Please try again."
# Quitting ends a session whose tokens are not kept; each phase of that request (connect, send, answer) gets this.
LOGOUT_AT_EXIT_S = 2.0
STORE_FAILED_TEXT = (
    "Tech Pal couldn't open this computer's password storage, so you will need to sign in again next time. "
    "Your sign-in is kept in memory only, never written to disk."
)


class SessionState(StrEnum):
    """Where the session is."""

    STARTING = "starting"  # a saved session is being restored (token store opening)
    SIGNED_OUT = "signed_out"
    SIGNED_IN = "signed_in"


class SignInStep(StrEnum):
    """Which request of the sign-in flow a failure belongs to (the dialog shows it on that page)."""

    SERVER = "server"
    SIGN_IN = "sign_in"
    REGISTER = "register"
    VERIFY = "verify"
    RESEND = "resend"
    RESTORE = "restore"
    SIGN_OUT = "sign_out"
    FORGOT = "forgot"  # asking for a link to set a new password
    OTP = "otp"  # the code of two-step sign-in
    GOOGLE = "google"  # Google sign-in (the browser, then the server)


def default_client_factory(server_url: str, tokens: TokenStore, account: str | None) -> ApiClient:
    """The real client."""
    from desktop.core.api.client import ApiClient  # noqa: PLC0415 - httpx loads with the first client

    return ApiClient(server_url, tokens=tokens, account=account)


def device_name(share_device_details: bool) -> str:
    """What the server lists under signed-in devices.

    The computer's network name only when the user shares device details, else a generic "Tech Pal on Linux": a host
    name often carries a person's or a company's name.
    """
    from desktop.core.api.client import default_device_name  # noqa: PLC0415 - only when signing in

    return (platform.node()[:200] if share_device_details else "") or default_device_name()


def extract_verification_token(text: str) -> str:
    """The token from what the user pasted: the token itself, or the whole link from the mail (``?token=…``)."""
    candidate = text.strip()
    if "://" in candidate or candidate.startswith("/") or "?" in candidate:
        values = parse_qs(urlsplit(candidate).query).get("token")
        if values:
            return values[0].strip()
    return candidate


def long_date(value: datetime.datetime) -> str:
    """A day in words, in local time: "27 December 2026"."""
    return value.astimezone().strftime("%d %B %Y").lstrip("0")


def deletion_text(purge_after: datetime.datetime | None) -> str:
    """What sign-in says about a deleted account: until when it can be restored."""
    return f"This account is scheduled for deletion{f' on {long_date(purge_after)}' if purge_after else ''}."


def error_message(exc: BaseException) -> str:
    """The sentence for a failed request (an unexpected error is logged and gets a generic one)."""
    if isinstance(exc, ApiError):
        return exc.message
    logger.error("unexpected error in the session", exc_info=exc)
    return UNEXPECTED_TEXT
