"""The report use cases: the period asked for, checked, and its KPIs measured on the caller's database session.

Reports only read: in a request the session's transaction commits nothing (ADR 9); the CLI reads in a session of
its own.
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING

from server.domain.reports.kpis import KpiReport, Period, measure_kpis
from server.lib.exceptions import FieldError, ValidationFailed

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.lib.clock import Clock

__all__ = ["DEFAULT_DAYS", "MAX_DAYS", "Reports", "parse_day", "period_of"]

DEFAULT_DAYS = 30  # the period when none is asked for: the 30 days ending today (UTC), today included
MAX_DAYS = 366  # the longest period: a leap year
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(value: str, field: str) -> datetime.date:
    """A ``YYYY-MM-DD`` day; 422 ``validation_error`` naming ``field`` (a query parameter) otherwise."""
    day = None
    if _DAY.fullmatch(value):
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            day = None
    if day is None:
        message = "a day as YYYY-MM-DD, e.g. 2026-12-08"
        raise ValidationFailed(f"{field}: {message}", errors=[FieldError(field, message, "query")])
    return day


def period_of(start: datetime.date | None, end: datetime.date | None, today: datetime.date) -> Period:
    """The period from ``start`` to ``end`` (both included), each defaulting from the other or from ``today``.

    Raises:
        ValidationFailed: ``period_reversed`` when ``to`` is before ``from``, ``period_too_long`` beyond
            :data:`MAX_DAYS` days.
    """
    if end is None:
        end = today if start is None else max(today, start)
    if start is None:
        start = end - datetime.timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        message = "must not be before `from`"
        raise ValidationFailed(f"to: {message}", code="period_reversed", errors=[FieldError("to", message, "query")])
    if (end - start).days + 1 > MAX_DAYS:
        message = f"the period may span at most {MAX_DAYS} days"
        raise ValidationFailed(message, code="period_too_long", errors=[FieldError("to", message, "query")])
    return Period(start, end)


class Reports:
    """Reports for admins, read on ``db`` as of the time ``clock`` tells."""

    def __init__(self, db: AsyncSession, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def kpis(self, start: datetime.date | None, end: datetime.date | None) -> KpiReport:
        """The AI's confirmed results for tickets first answered in the period (default: the last 30 days)."""
        as_of = self.clock()
        period = period_of(start, end, as_of.astimezone(datetime.UTC).date())
        return await measure_kpis(self.db, period, as_of)
