"""Base wire types: every request body inherits :class:`RequestBody`, every response :class:`ResponseBody`."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["Problem", "ProblemFieldError", "RequestBody", "ResponseBody"]

# Characters PostgreSQL text cannot store (NUL) or that have no business in user input (other C0 controls but tab,
# newline and carriage return). Rejecting them at the edge turns a would-be 500 into a clear 422.
_FORBIDDEN_CONTROLS = frozenset(chr(c) for c in range(32)) - {"\t", "\n", "\r"}


def _check_text(value: Any, path: str) -> None:
    if isinstance(value, str):
        if not _FORBIDDEN_CONTROLS.isdisjoint(value):
            raise ValueError(f"`{path}` contains control characters (such as NUL) that are not allowed")
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            _check_text(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path)
            _check_text(item, f"{path}.{key}")


class RequestBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A JSON request body: unknown fields and control characters in text are refused with a 422."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            _check_text(getattr(self, name), name)


class ResponseBody(msgspec.Struct, frozen=True):
    """A JSON response body."""


class ProblemFieldError(ResponseBody, frozen=True):
    """One invalid input field."""

    field: str
    message: str
    source: str


class Problem(ResponseBody, frozen=True, omit_defaults=True):
    """The one error shape (RFC 9457 problem details plus a stable ``code``)."""

    status: int
    code: str
    title: str
    detail: str
    type: str = "about:blank"
    errors: list[ProblemFieldError] = msgspec.field(default_factory=list)
    request_id: str | None = None
