"""The single exception handler: every error leaves the server as a :class:`~server.lib.schema.Problem`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import msgspec
import sqlalchemy.exc
import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    SerializationException,
    ValidationException,
)

from server.lib.exceptions import TechPalError
from server.lib.schema import Problem, ProblemFieldError

__all__ = ["PROBLEM_MEDIA_TYPE", "problem_response", "to_problem_response"]

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = structlog.get_logger(__name__)

# Codes for Litestar's own HTTP errors, by status.
_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "service_unavailable",
}


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    errors: list[ProblemFieldError] | None = None,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[Any]:
    """Build the one error response shape (``extra``: further members for the client, after the standard ones)."""
    problem = Problem(
        status=status,
        code=code,
        title=title or HTTPStatus(status).phrase,
        detail=detail,
        errors=errors or [],
        request_id=request_id,
    )
    content: Any = problem
    if extra:
        content = {
            **msgspec.to_builtins(problem),
            **{k: v for k, v in extra.items() if k not in Problem.__struct_fields__},
        }
    return Response(content, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_errors(extra: Any) -> list[ProblemFieldError]:
    errors = []
    for item in extra if isinstance(extra, list) else []:
        if isinstance(item, dict):
            source = item.get("source", "body")
            errors.append(
                ProblemFieldError(
                    field=str(item.get("key", "")),
                    message=str(item.get("message", "invalid value")),
                    source=str(getattr(source, "value", source)),
                )
            )
    return errors


def _is_malformed_body(exc: HTTPException) -> bool:
    return isinstance(exc.__cause__, SerializationException) or "malformed" in exc.detail.lower()


def to_problem_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Map any exception to a problem-details response; unknown ones become an opaque 500."""
    request_id = request.scope.get("state", {}).get("request_id")
    if isinstance(exc, TechPalError):
        errors = [ProblemFieldError(e.field, e.message, e.source) for e in getattr(exc, "errors", [])]
        if exc.status_code >= 500:
            logger.warning("request_failed", code=exc.code, status=exc.status_code)
        return problem_response(
            exc.status_code,
            exc.code,
            exc.detail,
            title=exc.title,
            errors=errors,
            request_id=request_id,
            headers=exc.headers,
            extra=exc.extra if exc.exposes_extra else None,
        )
    if isinstance(exc, HTTPException):
        return _litestar_problem(exc, request_id)
    if isinstance(exc, sqlalchemy.exc.TimeoutError):  # every pooled connection busy: overload, not a bug
        logger.warning("database_pool_exhausted")
        return problem_response(
            503,
            "busy",
            "The server is busy; please try again in a moment.",
            request_id=request_id,
            headers={"Retry-After": "2"},
        )
    logger.error("unhandled_error", exc_type=type(exc).__name__, exc_info=exc)
    return problem_response(
        500, "internal_error", "Something went wrong on our side; it has been logged.", request_id=request_id
    )


def _litestar_problem(exc: HTTPException, request_id: str | None) -> Response[Any]:
    """Litestar's own errors (body parsing, validation, routing, limits) in our shape and codes."""
    errors = _field_errors(exc.extra) if isinstance(exc, ValidationException) else []
    if exc.status_code == 400 and not errors and _is_malformed_body(exc):
        return problem_response(400, "malformed_body", _clean_detail(exc.detail), request_id=request_id)
    if any(e.field == "data" and e.message == "'data'" for e in errors):
        # Litestar's way of saying the body was empty (a KeyError on its reserved `data` kwarg).
        return problem_response(400, "malformed_body", "The request body is empty.", request_id=request_id)
    if isinstance(exc, ValidationException):
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or exc.detail
        return problem_response(422, "validation_error", detail, errors=errors, request_id=request_id)
    status = exc.status_code
    detail = exc.detail if exc.detail != HTTPStatus(status).phrase else _default_detail(status)
    return problem_response(
        status, _HTTP_CODES.get(status, "http_error"), detail, request_id=request_id, headers=exc.headers
    )


def _clean_detail(detail: str) -> str:
    # msgspec's messages name byte offsets; keep them, drop Litestar's exception-class prefixes.
    return detail.split(" - ", 1)[-1] if " - " in detail else detail


def _default_detail(status: int) -> str:
    return {
        404: "There is nothing at this address.",
        405: "This address does not accept that method.",
        413: "The request body is larger than this route accepts.",
    }.get(status, HTTPStatus(status).description or HTTPStatus(status).phrase)
