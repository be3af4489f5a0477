"""Recording the desktop's batches of events, and summarizing them for admins.

What is stored has no column for an account, an address, a ticket or text: a session row (its random id, first day,
app version, OS family, length) and its events (name, day, one number). The caller's account decides only whether a
batch is stored (the ``analytics`` switch) and which rate-limit counter it counts against; it is never written with
the events, and nothing here logs them. Transactions follow ADR 9: a batch is the request's transaction, all or
nothing.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from server.db.models import analytics_events, analytics_sessions
from server.domain.analytics.schemas import (
    VALUED_EVENTS,
    AnalyticsSummary,
    AnswerLatency,
    FeatureCount,
    SessionLengths,
)
from server.lib.exceptions import FieldError, ValidationFailed
from server.lib.ratelimit import RateLimiter, Rule

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.db.models import User
    from server.domain.analytics.schemas import AnalyticsBatch
    from server.lib.clock import Clock

__all__ = ["BATCHES_PER_HOUR", "DAYS_BACK", "DEFAULT_DAYS", "LONGEST_SPAN", "Analytics"]

# The desktop sends a batch every few minutes at most; far more is a broken or hostile client.
BATCHES_PER_HOUR = 60
BATCH_RULE = Rule("analytics_batch", BATCHES_PER_HOUR, datetime.timedelta(hours=1))
# A batch may hold days the app spent offline, but not older ones; "tomorrow" allows for clocks ahead of UTC.
DAYS_BACK = 7
DEFAULT_DAYS = 30
LONGEST_SPAN = datetime.timedelta(days=366)
PERCENTILES = (0.5, 0.9, 0.99)

_sessions = analytics_sessions.c
_events = analytics_events.c


def _percentiles(column: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    return [func.percentile_cont(fraction).within_group(column) for fraction in PERCENTILES]


def _as_float(value: Any) -> float | None:
    return None if value is None else float(value)


class Analytics:
    """The analytics use cases of one request, on its session."""

    def __init__(self, db: AsyncSession, *, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def record(self, user: User, batch: AnalyticsBatch) -> int:
        """Store a batch from ``user``'s app; how many events were stored.

        Nothing is stored for a user who turned analytics off (0, not an error: the app may not know yet). 422 for
        a day outside the accepted window or a session id that is not random; 429 past :data:`BATCHES_PER_HOUR`.
        """
        if not user.analytics:
            return 0
        today = self.clock().astimezone(datetime.UTC).date()
        self._check(user, batch, today)
        connection = await self.db.connection()
        await RateLimiter(connection.engine, self.clock).hit(BATCH_RULE, str(user.id), connection=connection)
        first_day = min((event.day for event in batch.events), default=today)
        # First seen wins for the day, version and OS; the length only grows (batches may arrive out of order).
        upsert = pg_insert(analytics_sessions).values(
            id=batch.session_id,
            day=first_day,
            app_version=batch.app_version,
            os_family=batch.os_family,
            seconds=batch.session_seconds,
        )
        longest = func.greatest(_sessions.seconds, upsert.excluded.seconds)
        await self.db.execute(upsert.on_conflict_do_update(index_elements=[_sessions.id], set_={"seconds": longest}))
        if batch.events:
            rows = [
                {
                    "session_id": batch.session_id,
                    "day": event.day,
                    "name": event.name,
                    "value": event.value if event.name in VALUED_EVENTS else None,
                }
                for event in batch.events
            ]
            await self.db.execute(insert(analytics_events), rows)
        return len(batch.events)

    @staticmethod
    def _check(user: User, batch: AnalyticsBatch, today: datetime.date) -> None:
        # A session id must be random: a UUID of another version may carry a time or a machine's address, and the
        # account's own id would link the events to it.
        if batch.session_id.version != 4 or batch.session_id == user.id:
            raise ValidationFailed(
                "session_id must be a random UUID (version 4) made when the app starts.",
                code="invalid_session_id",
                errors=[FieldError("session_id", "must be a random UUID (version 4)")],
            )
        earliest, latest = today - datetime.timedelta(days=DAYS_BACK), today + datetime.timedelta(days=1)
        wrong = [
            FieldError(f"events[{index}].day", f"must be between {earliest} and {latest}")
            for index, event in enumerate(batch.events)
            if not earliest <= event.day <= latest
        ]
        if wrong:
            raise ValidationFailed(
                f"Events are accepted for the days from {earliest} to {latest}.", code="day_out_of_range", errors=wrong
            )

    def period(self, first: datetime.date | None, last: datetime.date | None) -> tuple[datetime.date, datetime.date]:
        """The summary's days: the last :data:`DEFAULT_DAYS` by default; 422 when reversed or too long."""
        last = last or self.clock().astimezone(datetime.UTC).date()
        first = first or last - datetime.timedelta(days=DEFAULT_DAYS - 1)
        if last < first:
            raise ValidationFailed(
                "`to` is before `from`.",
                code="invalid_range",
                errors=[FieldError("to", "must not be before `from`", "query")],
            )
        if last - first > LONGEST_SPAN:
            raise ValidationFailed(
                f"A summary spans at most {LONGEST_SPAN.days} days.",
                code="range_too_long",
                errors=[FieldError("from", f"at most {LONGEST_SPAN.days} days before `to`", "query")],
            )
        return first, last

    async def summary(self, first: datetime.date, last: datetime.date) -> AnalyticsSummary:
        """Features used per day, session lengths and answer latencies over the days ``first`` to ``last``."""
        features = await self.db.execute(
            select(_events.day, _events.name, func.count())
            .where(_events.day.between(first, last))
            .group_by(_events.day, _events.name)
            .order_by(_events.day, _events.name)
        )
        sessions = (
            await self.db.execute(
                select(func.count(), *_percentiles(_sessions.seconds)).where(_sessions.day.between(first, last))
            )
        ).one()
        latency = (
            await self.db.execute(
                select(func.count(), *_percentiles(_events.value)).where(
                    _events.name == "answer_received", _events.value.is_not(None), _events.day.between(first, last)
                )
            )
        ).one()
        return AnalyticsSummary(
            from_=first,
            to=last,
            features=[FeatureCount(day=day, name=name, count=count) for day, name, count in features],
            sessions=SessionLengths(
                count=sessions[0],
                p50_seconds=_as_float(sessions[1]),
                p90_seconds=_as_float(sessions[2]),
                p99_seconds=_as_float(sessions[3]),
            ),
            answer_latency_ms=AnswerLatency(
                count=latency[0], p50=_as_float(latency[1]), p90=_as_float(latency[2]), p99=_as_float(latency[3])
            ),
        )
