"""One error hierarchy for the whole server, mapped to HTTP by a single handler in :mod:`server.lib.errors`.

Every error a client can see has a stable machine-readable ``code`` and an HTTP status::

    TechPalError                    500 internal_error
    ├── ClientError                 400 bad_request
    │   ├── ValidationFailed        422 validation_error  (+ field ``errors``)
    │   ├── NotAuthenticated        401 not_authenticated
    │   ├── PaymentRequired         402 payment_required  (+ ``extra`` members in the body)
    │   ├── PermissionDenied        403 forbidden
    │   ├── NotFound                404 not_found
    │   ├── Conflict                409 conflict
    │   ├── PayloadTooLarge         413 body_too_large
    │   └── TooManyRequests         429 rate_limited      (+ ``Retry-After``)
    └── ServiceUnavailable          503 service_unavailable

Raise a subclass with a more specific ``code`` where a client needs to tell cases apart (``email_taken``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "ClientError",
    "Conflict",
    "FieldError",
    "NotAuthenticated",
    "NotFound",
    "PayloadTooLarge",
    "PaymentRequired",
    "PermissionDenied",
    "ServiceUnavailable",
    "TechPalError",
    "TooManyRequests",
    "ValidationFailed",
]


@dataclass(frozen=True, slots=True)
class FieldError:
    """What is wrong with one input field."""

    field: str
    message: str
    source: str = "body"


class TechPalError(Exception):
    """Base of every error the server raises on purpose."""

    status_code: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal server error"
    # Whether the keyword arguments in ``extra`` are part of the response body (only where a client needs them).
    exposes_extra: ClassVar[bool] = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.detail = detail or self.title
        self.code = code or self.default_code
        self.headers = headers or {}
        self.extra = extra
        super().__init__(self.detail)


class ClientError(TechPalError):
    """The request cannot be served as sent; repeating it unchanged will fail again."""

    status_code = 400
    default_code = "bad_request"
    title = "Bad request"


class ValidationFailed(ClientError):
    """The body or parameters are well-formed but hold values we do not accept."""

    status_code = 422
    default_code = "validation_error"
    title = "Validation failed"

    def __init__(self, detail: str | None = None, *, errors: list[FieldError] | None = None, **kw: Any) -> None:
        super().__init__(detail, **kw)
        self.errors = errors or []


class NotAuthenticated(ClientError):
    """No valid credentials came with the request."""

    status_code = 401
    default_code = "not_authenticated"
    title = "Not authenticated"


class PaymentRequired(ClientError):
    """The caller's plan does not cover this; ``extra`` says which plan, until when, and how to upgrade."""

    status_code = 402
    default_code = "payment_required"
    title = "Payment required"
    exposes_extra = True


class PermissionDenied(ClientError):
    """The caller is known but may not do this."""

    status_code = 403
    default_code = "forbidden"
    title = "Forbidden"


class NotFound(ClientError):
    """No such object — or not one the caller may see, which we do not distinguish."""

    status_code = 404
    default_code = "not_found"
    title = "Not found"


class Conflict(ClientError):
    """The request clashes with the current state (a duplicate, say)."""

    status_code = 409
    default_code = "conflict"
    title = "Conflict"


class PayloadTooLarge(ClientError):
    """The body is larger than this route accepts."""

    status_code = 413
    default_code = "body_too_large"
    title = "Request body too large"


class TooManyRequests(ClientError):
    """A rate limit was hit; ``retry_after`` says when to try again."""

    status_code = 429
    default_code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int, **kw: Any) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))}, **kw)
        self.retry_after = retry_after


class ServiceUnavailable(TechPalError):
    """A component we depend on is down; retrying later may work."""

    status_code = 503
    default_code = "service_unavailable"
    title = "Service unavailable"
