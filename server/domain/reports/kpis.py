"""The AI's honest numbers: of the tickets the AI answered in a period, how many its users confirmed as solved.

These are the definitions; ``docs/kpis.md`` explains them for readers, and both the API
(``GET /api/v1/admin/kpis``) and the CLI (``techpal-server report kpis``) read them from here.

**Answered.** A ticket counts once, in the period holding its *first AI answer* (the first ``assistant`` message
on it; an agent's reply is not an AI answer). The period is whole UTC days, ``from`` and ``to`` both included.
Its answer kind (``retrieval`` or ``model``) and its ISO week are those of that first answer.

**Verdicts.** The owner's "Fixed it" and "Still broken" are ``feedback`` rows in the ticket's history. A verdict
is *about* the latest reply before it (an AI answer or an agent's reply).

Each answered ticket lands in exactly one outcome, the first that applies, so a worse fact always wins over a
better one (a ticket said fixed and later still broken is escalated): :data:`OUTCOMES` in that order. Timing rules
are half-open windows: "within 3 days" of a moment means less than 72 hours after it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import text

from server.domain.tickets import RETRIEVAL_ONLY_MODEL

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = [
    "ANSWER_KINDS",
    "CONFIRMED",
    "ESCALATED",
    "NEAR_DUPLICATE_SIMILARITY",
    "OUTCOMES",
    "PENDING",
    "REOPENED",
    "REOPEN_WINDOW",
    "UNCATEGORIZED",
    "UNCONFIRMED",
    "VERDICT_WINDOW",
    "AnswerKind",
    "Counts",
    "KpiReport",
    "Outcome",
    "Period",
    "measure_kpis",
]

Outcome = Literal["escalated", "reopened", "confirmed", "pending", "unconfirmed"]
AnswerKind = Literal["retrieval", "model"]

ESCALATED: Outcome = "escalated"
"""The owner said "Still broken" — at any time, whatever they said before or after. The AI did not solve it."""

REOPENED: Outcome = "reopened"
"""Not escalated; the owner said "Fixed it", then within :data:`REOPEN_WINDOW` of that asked again about the same
problem: a follow-up question on the ticket, or a new ticket of theirs whose description is a near-duplicate of this
one's (trigram similarity of at least :data:`NEAR_DUPLICATE_SIMILARITY`). The fix did not hold."""

CONFIRMED: Outcome = "confirmed"
"""Neither of the above; the owner said "Fixed it" about an AI answer (the latest reply before the verdict was the
AI's, not an agent's) within :data:`VERDICT_WINDOW` of that answer, and the last "Fixed it" is at least
:data:`REOPEN_WINDOW` old, so the fix has stood for the whole reopening window. The only outcome counted as solved."""

PENDING: Outcome = "pending"
"""Not known yet: either a fix that would be confirmed but is younger than :data:`REOPEN_WINDOW` (it may still be
reopened), or no verdict that counts while the owner still has time to give one (the latest AI answer is younger
than :data:`VERDICT_WINDOW`). Neither solved nor unconfirmed; it lowers the rate until it is decided."""

UNCONFIRMED: Outcome = "unconfirmed"
"""Everything else: no verdict that counts within :data:`VERDICT_WINDOW` of the AI's answer — silence, a "Fixed it"
that came later, or one that followed an agent's reply. Never counted as solved."""

OUTCOMES: tuple[Outcome, ...] = (ESCALATED, REOPENED, CONFIRMED, PENDING, UNCONFIRMED)
ANSWER_KINDS: tuple[AnswerKind, ...] = ("retrieval", "model")

VERDICT_WINDOW = datetime.timedelta(days=3)
REOPEN_WINDOW = datetime.timedelta(days=7)
# pg_trgm's similarity(): shared trigrams over all trigrams of both texts (0..1). At 0.6 "The VPN drops every hour."
# and "VPN still drops every hour!" match (0.68), "My printer says it is offline." and "The printer on floor 2 is
# offline." do not (0.44); more measured pairs in docs/kpis.md.
NEAR_DUPLICATE_SIMILARITY = 0.6
# A first answer with the retrieval-only model (RETRIEVAL_ONLY_MODEL), or none recorded, is a retrieval-only answer;
# any other model's is a model answer.
UNCATEGORIZED = "uncategorized"  # the category of a ticket nobody has categorised

# One statement, so the whole report reads one snapshot. The outcome CASE is the precedence of OUTCOMES.
_OUTCOMES_SQL = text(
    """
WITH answered AS (
    SELECT t.id, t.owner_id, t.description,
           coalesce(t.category, :uncategorized) AS category,
           first_answer.created_at AS answered_at,
           CASE WHEN first_answer.model IS NULL OR first_answer.model = :retrieval_only
                THEN 'retrieval' ELSE 'model' END AS answer_kind,
           (SELECT max(m.created_at) FROM ticket_messages m
             WHERE m.ticket_id = t.id AND m.role = 'assistant') AS last_answer_at
      FROM tickets t
     CROSS JOIN LATERAL (
           SELECT m.created_at, m.model FROM ticket_messages m
            WHERE m.ticket_id = t.id AND m.role = 'assistant'
            ORDER BY m.created_at, m.id
            LIMIT 1) AS first_answer
     WHERE t.created_at < :end
       AND first_answer.created_at >= :start AND first_answer.created_at < :end
),
verdicts AS (
    SELECT h.ticket_id, h.at, (h.new_value ->> 'resolved')::boolean AS fixed,
           reply.role AS reply_role, reply.created_at AS reply_at, a.owner_id, a.description
      FROM answered a
      JOIN ticket_history h ON h.ticket_id = a.id AND h.field = 'feedback'
      LEFT JOIN LATERAL (
           SELECT m.role, m.created_at FROM ticket_messages m
            WHERE m.ticket_id = h.ticket_id AND m.role IN ('assistant', 'agent') AND m.created_at <= h.at
            ORDER BY m.created_at DESC, m.id DESC
            LIMIT 1) AS reply ON true
),
verdict_facts AS (
    SELECT v.ticket_id,
           bool_or(NOT v.fixed) AS still_broken,
           bool_or(v.fixed AND (
               EXISTS (SELECT 1 FROM ticket_messages m
                        WHERE m.ticket_id = v.ticket_id AND m.role = 'user'
                          AND m.created_at > v.at AND m.created_at < v.at + :reopen_window)
               OR EXISTS (SELECT 1 FROM tickets n
                           WHERE n.owner_id = v.owner_id AND n.id <> v.ticket_id
                             AND n.created_at > v.at AND n.created_at < v.at + :reopen_window
                             AND similarity(n.description, v.description) >= :near_duplicate))) AS asked_again,
           bool_or(v.fixed AND v.reply_role = 'assistant' AND v.at < v.reply_at + :verdict_window) AS fixed_by_ai,
           max(v.at) FILTER (WHERE v.fixed) AS last_fixed_at
      FROM verdicts v
     GROUP BY v.ticket_id
),
facts AS (
    SELECT a.category, a.answer_kind, a.answered_at, a.last_answer_at,
           coalesce(f.still_broken, false) AS still_broken,
           coalesce(f.asked_again, false) AS asked_again,
           coalesce(f.fixed_by_ai, false) AS fixed_by_ai,
           f.last_fixed_at
      FROM answered a
      LEFT JOIN verdict_facts f ON f.ticket_id = a.id
)
SELECT category, answer_kind,
       date_trunc('week', answered_at AT TIME ZONE 'UTC')::date AS week,
       CASE WHEN still_broken THEN 'escalated'
            WHEN asked_again THEN 'reopened'
            WHEN fixed_by_ai AND last_fixed_at + :reopen_window <= :as_of THEN 'confirmed'
            WHEN fixed_by_ai THEN 'pending'
            WHEN last_answer_at + :verdict_window > :as_of THEN 'pending'
            ELSE 'unconfirmed'
       END AS outcome,
       count(*) AS tickets
  FROM facts
 GROUP BY 1, 2, 3, 4
"""
)


@dataclass(frozen=True, slots=True)
class Period:
    """Whole UTC days from ``start`` to ``end``, both included."""

    start: datetime.date
    end: datetime.date

    @property
    def start_at(self) -> datetime.datetime:
        """The first instant of the period."""
        return datetime.datetime.combine(self.start, datetime.time(), tzinfo=datetime.UTC)

    @property
    def end_before(self) -> datetime.datetime:
        """The first instant after the period (midnight UTC after ``end``)."""
        return datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC)

    def weeks(self) -> list[datetime.date]:
        """The Monday of every ISO week the period touches, in order (the first and last may be partial)."""
        monday = self.start - datetime.timedelta(days=self.start.weekday())
        weeks = []
        while monday <= self.end:
            weeks.append(monday)
            monday += datetime.timedelta(days=7)
        return weeks


@dataclass(frozen=True, slots=True)
class Counts:
    """How many answered tickets ended in each outcome; ``answered`` is their sum."""

    confirmed: int = 0
    escalated: int = 0
    reopened: int = 0
    unconfirmed: int = 0
    pending: int = 0

    @property
    def answered(self) -> int:
        """Every ticket the AI answered: the denominator of the rate."""
        return self.confirmed + self.escalated + self.reopened + self.unconfirmed + self.pending

    @property
    def confirmed_rate(self) -> float | None:
        """``confirmed / answered``; ``None`` without answered tickets (no rate rather than a made-up 0 %)."""
        return self.confirmed / self.answered if self.answered else None

    def plus(self, outcome: Outcome, tickets: int) -> Counts:
        """These counts with ``tickets`` more in ``outcome``."""
        current = {name: getattr(self, name) for name in OUTCOMES}
        current[outcome] += tickets
        return Counts(**current)


@dataclass(frozen=True, slots=True)
class KpiReport:
    """The figures of one period as of one moment; splits are in display order."""

    period: Period
    as_of: datetime.datetime
    totals: Counts
    by_category: list[tuple[str, Counts]]  # categories with answered tickets, most answered first
    by_answer_kind: list[tuple[AnswerKind, Counts]]  # both kinds, always
    by_week: list[tuple[datetime.date, Counts]]  # every week of the period, empty ones included


async def measure_kpis(db: AsyncSession, period: Period, as_of: datetime.datetime) -> KpiReport:
    """The KPIs of the tickets whose first AI answer falls in ``period``, judged with what is known at ``as_of``."""
    rows = await db.execute(
        _OUTCOMES_SQL,
        {
            "start": period.start_at,
            "end": period.end_before,
            "as_of": as_of,
            "verdict_window": VERDICT_WINDOW,
            "reopen_window": REOPEN_WINDOW,
            "near_duplicate": NEAR_DUPLICATE_SIMILARITY,
            "retrieval_only": RETRIEVAL_ONLY_MODEL,
            "uncategorized": UNCATEGORIZED,
        },
    )
    return _report(period, as_of, [(r.category, r.answer_kind, r.week, r.outcome, r.tickets) for r in rows])


def _report(
    period: Period,
    as_of: datetime.datetime,
    rows: Iterable[tuple[str, AnswerKind, datetime.date, Outcome, int]],
) -> KpiReport:
    totals = Counts()
    categories: dict[str, Counts] = {}
    kinds: dict[AnswerKind, Counts] = dict.fromkeys(ANSWER_KINDS, Counts())
    weeks: dict[datetime.date, Counts] = dict.fromkeys(period.weeks(), Counts())
    for category, kind, week, outcome, tickets in rows:
        totals = totals.plus(outcome, tickets)
        categories[category] = categories.get(category, Counts()).plus(outcome, tickets)
        kinds[kind] = kinds[kind].plus(outcome, tickets)
        weeks[week] = weeks[week].plus(outcome, tickets)
    return KpiReport(
        period=period,
        as_of=as_of,
        totals=totals,
        by_category=sorted(categories.items(), key=lambda item: (-item[1].answered, item[0])),
        by_answer_kind=list(kinds.items()),
        by_week=list(weeks.items()),
    )
