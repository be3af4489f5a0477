"""HTTP endpoints of anonymized analytics: the desktop's ``POST /api/v1/analytics/events`` and the admins' summary.

One controller for both, so the app registers one entry; the summary's route asks for ``admin``, which checks the
role.
"""

from __future__ import annotations

import datetime
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter, SkipValidation

from server.domain.accounts import BEARER, Principal, bearer_required
from server.domain.analytics.deps import ANALYTICS_DEPENDENCIES
from server.domain.analytics.schemas import MAX_EVENTS, Accepted, AnalyticsBatch, AnalyticsSummary
from server.domain.analytics.services import BATCHES_PER_HOUR, DAYS_BACK, Analytics

__all__ = ["AnalyticsController"]

# A full batch of events is about 15 KiB of JSON.
BODY_LIMIT = 64 * 1024


class AnalyticsController(Controller):
    """Usage events from the desktop (signed-in users), and their summary (admins)."""

    path = "/api/v1"
    tags = ["analytics"]
    dependencies = ANALYTICS_DEPENDENCIES
    request_max_body_size = BODY_LIMIT
    security = BEARER
    guards = [bearer_required]

    @post(
        "/analytics/events",
        status_code=202,
        summary="Send a batch of anonymized usage events",
        description=(
            f"At most {MAX_EVENTS} events, each on a day from {DAYS_BACK} days ago to tomorrow; stored without the "
            "account or the client's address. 202 `{accepted: 0}` and nothing stored for a user whose `analytics` "
            f"is off. 422 `validation_error`, `day_out_of_range` or `invalid_session_id` (nothing stored); "
            f"{BATCHES_PER_HOUR} batches an hour per account (429 `rate_limited`)."
        ),
    )
    async def record_events(
        self,
        data: JSONBody[AnalyticsBatch],
        principal: NamedDependency[SkipValidation[Principal]],
        analytics: NamedDependency[SkipValidation[Analytics]],
    ) -> Response[Accepted]:
        """The whole batch is stored, or none of it."""
        accepted = await analytics.record(principal.user, data)
        return Response(Accepted(accepted=accepted), status_code=202)

    @get(
        "/admin/analytics",
        summary="Usage summary: features per day, session lengths, answer latency (admin)",
        request_max_body_size=0,
    )
    async def summary(
        self,
        admin: NamedDependency[SkipValidation[Principal]],  # resolving it checks the role
        analytics: NamedDependency[SkipValidation[Analytics]],
        from_: Annotated[
            datetime.date | None, QueryParameter(name="from", description="First day (default: 29 days before `to`).")
        ] = None,
        to: Annotated[datetime.date | None, QueryParameter(description="Last day, included (default: today).")] = None,
    ) -> AnalyticsSummary:
        """Percentiles are continuous (interpolated), null over nothing; 403 unless admin.

        422 ``invalid_range`` when ``to`` is before ``from``, ``range_too_long`` past 366 days.
        """
        first, last = analytics.period(from_, to)
        return await analytics.summary(first, last)
