"""Dependency providers of the reports slice: the per-request :class:`Reports` and the admin check."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from server.domain.accounts import AUTH_DEPENDENCIES, require_role
from server.domain.reports.services import Reports
from server.lib.clock import Clock

__all__ = ["REPORTS_DEPENDENCIES", "provide_reports"]


async def provide_reports(
    *, db_session: NamedDependency[AsyncSession], clock: NamedDependency[SkipValidation[Clock]]
) -> Reports:
    """The report use cases bound to this request's session and the app's clock."""
    return Reports(db_session, clock)


REPORTS_DEPENDENCIES = {
    **AUTH_DEPENDENCIES,
    "reports": Provide(provide_reports),
    "admin": Provide(require_role("admin")),
}
