"""Route guards and role checks.

``bearer_required`` runs before the body is read, so an anonymous caller gets 401 rather than a parse error; the
token itself is checked by the ``principal`` dependency (the one place that authenticates).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.params import SkipValidation

from server.domain.accounts.api_keys import Scope, api_key_scope
from server.domain.accounts.services import Principal
from server.lib.exceptions import NotAuthenticated, PermissionDenied

__all__ = ["BEARER", "Bearer", "bearer", "bearer_required", "require_role"]

# The OpenAPI security requirement of routes behind `bearer_required`.
BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]


@dataclass(frozen=True, slots=True)
class Bearer:
    """What a request authenticates with: its bearer token, and the scope its route accepts an API key for."""

    token: str
    api_key_scope: Scope | None  # None: the route wants a signed-in session


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> Bearer:
    """The token of ``Authorization: Bearer <access token or API key>``; 401 without one."""
    scheme, _sep, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("Sign in: send `Authorization: Bearer <access token>`.")
    return Bearer(token.strip(), api_key_scope(connection.route_handler.opt))


async def bearer_required(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse requests without ``Authorization: Bearer …`` before any body parsing or database work.

    Async although it awaits nothing: Litestar runs a synchronous guard in a worker thread, on every request.
    """
    bearer(connection)


def require_role(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """``dependencies={"staff": Provide(require_role("agent", "admin"))}``: 403 unless the caller has a role."""

    async def check(principal: NamedDependency[SkipValidation[Principal]]) -> Principal:
        if principal.user.role not in roles:
            raise PermissionDenied("Your role does not allow this.", code="role_required")
        return principal

    return check
