r"""Turning the server's HTTP answers into results or :class:`~desktop.core.api.errors.ApiError`\ s with a sentence."""

from __future__ import annotations

import datetime
import email.utils
import logging
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from desktop.core.api.errors import (
    AccountDeleted,
    ApiError,
    FieldError,
    OtpRequired,
    QuotaExceeded,
    friendly_message,
)
from desktop.core.api.models import Problem

if TYPE_CHECKING:
    import httpx

__all__ = ["checked", "decode", "unexpected"]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")


def unexpected(response: httpx.Response, exc: Exception) -> ApiError:
    """Log an answer this client could not read; return the ``unexpected_response`` :class:`ApiError` for it."""
    logger.warning("unexpected answer from %s: %s", response.request.url, exc)
    return ApiError(
        status=response.status_code,
        code="unexpected_response",
        message="The server gave an answer this version of Tech Pal doesn't understand. Is the server URL right?",
        detail=str(exc),
    )


def checked(response: httpx.Response) -> httpx.Response:
    """Return a successful response; turn an error status into the matching :class:`ApiError`."""
    if not response.is_error:
        return response
    status = response.status_code
    try:
        problem = msgspec.json.decode(response.content, type=Problem)
    except msgspec.DecodeError:
        problem = Problem(status=status)
    code = problem.code or _fallback_code(status)
    message = friendly_message(status, code, problem.detail)
    if code == "invalid_otp" and problem.attempts_left is not None:
        message = f"{message} {_attempts(problem.attempts_left)}"
    common: dict[str, Any] = {
        "status": status,
        "code": code,
        "message": message,
        "detail": problem.detail,
        "field_errors": [FieldError(e.field, e.message, e.source) for e in problem.errors],
        "retry_after": _retry_after(response.headers.get("Retry-After")),
    }
    if code == "quota_exceeded":
        raise QuotaExceeded(
            **common,
            plan=problem.plan,
            quota=problem.quota,
            resets_at=problem.resets_at,
            upgrade_plans=list(problem.upgrade_plans),
        )
    if code == "account_deleted":
        raise AccountDeleted(**common, purge_after=problem.purge_after)
    if code == "otp_required":
        raise OtpRequired(**common, challenge=problem.challenge or "")
    raise ApiError(**common)


def _attempts(left: int) -> str:
    """How many codes may still be tried before the sign-in must start over."""
    if left <= 0:
        return "No attempts left: sign in again."
    return f"{left} attempt{'s' if left != 1 else ''} left."


def _fallback_code(status: int) -> str:
    return {401: "not_authenticated", 403: "forbidden", 404: "not_found", 429: "rate_limited"}.get(
        status, "internal_error" if status >= 500 else "http_error"
    )


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())


def decode(response: httpx.Response, kind: type[_T]) -> _T:
    """The JSON body of a successful answer as ``kind``; an answer this client cannot read is an :class:`ApiError`."""
    try:
        return msgspec.json.decode(response.content, type=kind)
    except msgspec.DecodeError as exc:
        raise unexpected(response, exc) from exc
