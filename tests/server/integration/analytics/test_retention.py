"""The retention helper: sessions older than 13 months go, with their events; younger ones stay."""

from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import create_async_engine

from server.db.transactions import transaction_of_its_own
from server.domain.analytics import ANALYTICS_KEPT, delete_old_analytics
from tests.server.integration.analytics.conftest import query

if TYPE_CHECKING:
    from server.settings import Settings


async def _remove_as_of(settings: Settings, as_of: datetime.datetime) -> int:
    assert settings.db.url is not None
    engine = create_async_engine(settings.db.url.get_secret_value())
    try:
        async with transaction_of_its_own(engine) as conn:
            return await delete_old_analytics(conn, as_of)
    finally:
        await engine.dispose()


async def test_sessions_older_than_13_months_go_with_their_events(settings: Settings) -> None:
    as_of = datetime.datetime(2027, 3, 15, 2, 0, tzinfo=datetime.UTC)
    cutoff = datetime.date(2026, 2, 13)  # 395 days before 2027-03-15
    assert ANALYTICS_KEPT.days == 395
    days = {
        "too old": cutoff - datetime.timedelta(days=1),
        "on the cutoff": cutoff,
        "recent": datetime.date(2027, 3, 1),
    }
    ids = {label: uuid.uuid4() for label in days}
    for label, day in days.items():
        await query(settings, "INSERT INTO analytics_sessions VALUES ($1, $2, '1.2.3', 'linux', 60)", ids[label], day)
        for name in ("app_started", "fixed"):
            await query(
                settings,
                "INSERT INTO analytics_events (session_id, day, name) VALUES ($1, $2, $3)",
                ids[label],
                day,
                name,
            )

    assert await _remove_as_of(settings, as_of) == 1

    kept = await query(settings, "SELECT id FROM analytics_sessions")
    assert {row["id"] for row in kept} == {ids["on the cutoff"], ids["recent"]}
    events = await query(settings, "SELECT session_id FROM analytics_events")
    assert sorted(str(row["session_id"]) for row in events) == sorted(
        [str(ids["on the cutoff"])] * 2 + [str(ids["recent"])] * 2
    )
    # A second run finds nothing more; a time without a zone is UTC.
    assert await _remove_as_of(settings, as_of.replace(tzinfo=None)) == 0
