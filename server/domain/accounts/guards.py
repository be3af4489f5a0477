"""Route guards and role checks.

``bearer_required`` runs before the body is read, so an anonymous caller gets 401 rather than a parse error; the
token itself is checked by the ``principal`` dependency (the one place that authenticates).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.params import SkipValidation

from server.domain.accounts.services import Principal
from server.lib.exceptions import NotAuthenticated, PermissionDenied

__all__ = ["BEARER", "bearer_required", "bearer_token", "require_role"]

# The OpenAPI security requirement of routes behind `bearer_required`.
BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The access token of ``Authorization: Bearer <access token>``; 401 without one."""
    scheme, _sep, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("Sign in: send `Authorization: Bearer <access token>`.")
    return token.strip()


async def bearer_required(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse requests without ``Authorization: Bearer …`` before any body parsing or database work.

    Async although it awaits nothing: Litestar runs a synchronous guard in a worker thread, on every request.
    """
    bearer_token(connection)


def require_role(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """``dependencies={"staff": Provide(require_role("agent", "admin"))}``: 403 unless the caller has a role."""

    async def check(principal: NamedDependency[SkipValidation[Principal]]) -> Principal:
        if principal.user.role not in roles:
            raise PermissionDenied("Your role does not allow this.", code="role_required")
        return principal

    return check
