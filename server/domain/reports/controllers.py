"""HTTP endpoints of reports: ``GET /api/v1/admin/kpis``, the AI's confirmed results (admins only)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter, SkipValidation

from server.domain.accounts import BEARER, Principal, bearer_required
from server.domain.reports.deps import REPORTS_DEPENDENCIES
from server.domain.reports.schemas import KpiReportBody, kpi_body
from server.domain.reports.services import Reports, parse_day

__all__ = ["AdminKpisController"]


class AdminKpisController(Controller):
    """How many problems the AI really solved: counted only when its users confirmed it (docs/kpis.md)."""

    path = "/api/v1/admin/kpis"
    tags = ["reports"]
    dependencies = REPORTS_DEPENDENCIES
    security = BEARER
    guards = [bearer_required]

    @get("/", summary="The AI's confirmed results for a period (admin)", request_max_body_size=0)
    async def kpis(
        self,
        admin: NamedDependency[SkipValidation[Principal]],
        reports: NamedDependency[SkipValidation[Reports]],
        start: Annotated[
            str | None,
            QueryParameter(name="from", description="First day (YYYY-MM-DD, UTC); default: 29 days before `to`."),
        ] = None,
        end: Annotated[
            str | None, QueryParameter(name="to", description="Last day, included (YYYY-MM-DD, UTC); default: today.")
        ] = None,
    ) -> KpiReportBody:
        """Tickets whose first AI answer falls in the period, by outcome; in total, by category, answer kind, week.

        403 ``role_required`` unless admin; 422 ``period_reversed`` (``to`` before ``from``), ``period_too_long``
        (over 366 days) or ``validation_error`` (not a YYYY-MM-DD day).
        """
        report = await reports.kpis(
            parse_day(start, "from") if start is not None else None,
            parse_day(end, "to") if end is not None else None,
        )
        return kpi_body(report)
