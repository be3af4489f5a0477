"""Analytics tests: batches as the desktop sends them, and reading back what the database holds.

The server trusts ``127.0.0.1`` as a proxy here, so a live server sees the client address a test puts in
``X-Forwarded-For`` and the tests can look for it in the stored rows.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixtures.db import fetch_rows

if TYPE_CHECKING:
    from server.app import TechPalApp
    from server.settings import Settings
    from tests.fixtures.auth import TestUser

EVENTS_PATH = "/api/v1/analytics/events"
SUMMARY_PATH = "/api/v1/admin/analytics"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The usual test settings, trusting the loopback address as a proxy."""
    proxies = (ipaddress.ip_network("127.0.0.1/32"),)
    return settings.replace(server=dataclasses.replace(settings.server, trusted_proxies=proxies))


def today(app: TechPalApp) -> datetime.date:
    """The server's today (UTC), by its clock."""
    return app.context.clock().astimezone(datetime.UTC).date()


def event(name: str, day: datetime.date, value: float | None = None) -> dict[str, Any]:
    """One event as the desktop sends it."""
    return {"name": name, "day": day.isoformat(), "value": value}


def batch(
    *events: dict[str, Any],
    session_id: uuid.UUID | None = None,
    seconds: int = 60,
    app_version: str = "1.2.3",
    os_family: str = "linux",
) -> dict[str, Any]:
    """A batch body: ``events`` of one app session (a new random one unless given)."""
    return {
        "session_id": str(session_id or uuid.uuid4()),
        "app_version": app_version,
        "os_family": os_family,
        "session_seconds": seconds,
        "events": list(events),
    }


async def query(settings: Settings, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of ``sql`` on the test's database, as dicts."""
    assert settings.db.url is not None
    return [dict(row) for row in await fetch_rows(settings.db.url.get_secret_value(), sql, *args)]


async def stored_counts(settings: Settings) -> tuple[int, int]:
    """How many sessions and events the analytics tables hold."""
    [row] = await query(
        settings,
        "SELECT (SELECT count(*) FROM analytics_sessions) AS sessions, "
        "(SELECT count(*) FROM analytics_events) AS events",
    )
    return row["sessions"], row["events"]


async def make_admin(settings: Settings, user: TestUser) -> None:
    """Give ``user`` the admin role (read from the database on each request)."""
    await query(settings, "UPDATE users SET role = 'admin' WHERE id = $1", uuid.UUID(user.id))
