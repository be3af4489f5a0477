"""Wire types of the admins' KPI report (``GET /api/v1/admin/kpis``); the definitions are in ``kpis.py``."""

from __future__ import annotations

import datetime
from typing import TypedDict

import msgspec

from server.domain.reports.kpis import AnswerKind, Counts, KpiReport
from server.lib.schema import ResponseBody

__all__ = ["AnswerKindKpis", "CategoryKpis", "KpiCounts", "KpiReportBody", "WeekKpis", "kpi_body"]

RATE_DIGITS = 4


class KpiCounts(ResponseBody, frozen=True):
    """Answered tickets and their outcomes (they add up to ``answered``); ``confirmed_rate`` is null at 0 answered."""

    answered: int
    confirmed: int
    escalated: int
    reopened: int
    unconfirmed: int
    pending: int
    confirmed_rate: float | None


class CategoryKpis(KpiCounts, frozen=True):
    """The figures of one category (``uncategorized`` for tickets without one)."""

    category: str


class AnswerKindKpis(KpiCounts, frozen=True):
    """The figures of tickets whose first AI answer was retrieval-only (``retrieval``) or a model's (``model``)."""

    answer_kind: AnswerKind


class WeekKpis(KpiCounts, frozen=True):
    """The figures of one ISO week (``week`` is its Monday) of the first AI answers."""

    week: datetime.date


class KpiReportBody(ResponseBody, frozen=True):
    """The AI's confirmed results for tickets first answered from ``from`` to ``to`` (UTC days, both included)."""

    from_: datetime.date = msgspec.field(name="from")
    to: datetime.date
    as_of: datetime.datetime
    totals: KpiCounts
    by_category: list[CategoryKpis]
    by_answer_kind: list[AnswerKindKpis]
    by_week: list[WeekKpis]


class _CountFields(TypedDict):
    answered: int
    confirmed: int
    escalated: int
    reopened: int
    unconfirmed: int
    pending: int
    confirmed_rate: float | None


def _fields(counts: Counts) -> _CountFields:
    rate = counts.confirmed_rate
    return _CountFields(
        answered=counts.answered,
        confirmed=counts.confirmed,
        escalated=counts.escalated,
        reopened=counts.reopened,
        unconfirmed=counts.unconfirmed,
        pending=counts.pending,
        confirmed_rate=None if rate is None else round(rate, RATE_DIGITS),
    )


def kpi_body(report: KpiReport) -> KpiReportBody:
    """The report as the API answers it."""
    return KpiReportBody(
        from_=report.period.start,
        to=report.period.end,
        as_of=report.as_of,
        totals=KpiCounts(**_fields(report.totals)),
        by_category=[CategoryKpis(category=c, **_fields(n)) for c, n in report.by_category],
        by_answer_kind=[AnswerKindKpis(answer_kind=k, **_fields(n)) for k, n in report.by_answer_kind],
        by_week=[WeekKpis(week=w, **_fields(n)) for w, n in report.by_week],
    )
