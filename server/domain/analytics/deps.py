"""Dependency providers of the analytics slice: the per-request :class:`Analytics` use cases, and the admin check."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.accounts import AUTH_DEPENDENCIES, require_role
from server.domain.analytics.services import Analytics
from server.lib.clock import Clock

__all__ = ["ANALYTICS_DEPENDENCIES", "provide_analytics"]


async def provide_analytics(
    *,
    db_session: NamedDependency[AsyncSession],
    clock: NamedDependency[SkipValidation[Clock]],
) -> Analytics:
    """The analytics use cases bound to this request's session."""
    return Analytics(db_session, clock=clock)


# `admin` is resolved only by the routes that ask for it: 403 `role_required` to everyone but admins.
ANALYTICS_DEPENDENCIES = {
    **AUTH_DEPENDENCIES,
    "analytics": Provide(provide_analytics),
    "admin": Provide(require_role("admin")),
}
