"""``GET /api/v1/admin/analytics``: features per day and percentiles over crafted events, for admins only."""

from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.server.integration.analytics.conftest import (
    EVENTS_PATH,
    SUMMARY_PATH,
    batch,
    event,
    make_admin,
    query,
    today,
)

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.app import TechPalApp
    from server.settings import Settings
    from tests.fixtures.auth import TestUser, UserFactory

EMPTY_SESSIONS = {"count": 0, "p50_seconds": None, "p90_seconds": None, "p99_seconds": None}
EMPTY_LATENCY = {"count": 0, "p50": None, "p90": None, "p99": None}


async def _send(client: AsyncTestClient[Litestar], user: TestUser, body: dict[str, Any]) -> None:
    response = await client.post(EVENTS_PATH, json=body, headers=user.headers)
    assert response.status_code == 202, response.text


async def _summary(client: AsyncTestClient[Litestar], admin: TestUser, **params: str) -> dict[str, Any]:
    response = await client.get(SUMMARY_PATH, params=params, headers=admin.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_features_per_day_and_percentiles_over_crafted_sessions(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, app: TechPalApp, settings: Settings
) -> None:
    admin, user = await user_factory(), await user_factory()
    await make_admin(settings, admin)
    d = today(app)
    y = d - datetime.timedelta(days=1)
    # Five sessions of 10, 20, 30, 40 and 100 seconds; answers took 100, 200, 300 and 400 ms (one more has no time).
    await _send(client, user, batch(event("app_started", y), event("answer_received", y, 100), seconds=10))
    await _send(client, user, batch(event("app_started", d), event("answer_received", d, 200), seconds=20))
    await _send(
        client,
        user,
        batch(event("app_started", d), event("question_asked", d), event("answer_received", d, 300), seconds=30),
    )
    await _send(
        client,
        user,
        batch(event("app_started", d), event("boxes_redacted", d, 2), event("answer_received", d, 400), seconds=40),
    )
    await _send(client, user, batch(event("app_started", d), event("answer_received", d), seconds=100))
    # A session from before the period, with numbers that would show if it were counted.
    old, old_day = uuid.uuid4(), d - datetime.timedelta(days=40)
    await query(settings, "INSERT INTO analytics_sessions VALUES ($1, $2, '1.0', 'linux', 99999)", old, old_day)
    await query(
        settings,
        "INSERT INTO analytics_events (session_id, day, name, value) VALUES ($1, $2, 'answer_received', 1e6)",
        old,
        old_day,
    )

    summary = await _summary(
        client,
        admin,
        **{"from": (d - datetime.timedelta(days=7)).isoformat(), "to": (d + datetime.timedelta(days=1)).isoformat()},
    )

    assert summary["from"] == (d - datetime.timedelta(days=7)).isoformat()
    assert summary["to"] == (d + datetime.timedelta(days=1)).isoformat()
    assert summary["features"] == [
        {"day": y.isoformat(), "name": "answer_received", "count": 1},
        {"day": y.isoformat(), "name": "app_started", "count": 1},
        {"day": d.isoformat(), "name": "answer_received", "count": 4},
        {"day": d.isoformat(), "name": "app_started", "count": 4},
        {"day": d.isoformat(), "name": "boxes_redacted", "count": 1},
        {"day": d.isoformat(), "name": "question_asked", "count": 1},
    ]
    # percentile_cont interpolates at p × (n − 1) between the sorted values:
    # seconds [10, 20, 30, 40, 100]: p50 at 2 → 30; p90 at 3.6 → 40 + 0.6 × 60 = 76; p99 at 3.96 → 40 + 0.96 × 60.
    assert summary["sessions"] == {
        "count": 5,
        "p50_seconds": pytest.approx(30),
        "p90_seconds": pytest.approx(76),
        "p99_seconds": pytest.approx(97.6),
    }
    # latency [100, 200, 300, 400]: p50 at 1.5 → 250; p90 at 2.7 → 370; p99 at 2.97 → 397.
    assert summary["answer_latency_ms"] == {
        "count": 4,
        "p50": pytest.approx(250),
        "p90": pytest.approx(370),
        "p99": pytest.approx(397),
    }
    # One day: yesterday's session and answer alone.
    one_day = await _summary(client, admin, **{"from": y.isoformat(), "to": y.isoformat()})
    assert [f["name"] for f in one_day["features"]] == ["answer_received", "app_started"]
    assert one_day["sessions"] == {"count": 1, "p50_seconds": 10, "p90_seconds": 10, "p99_seconds": 10}
    assert one_day["answer_latency_ms"] == {"count": 1, "p50": 100, "p90": 100, "p99": 100}


async def test_by_default_the_last_30_days_and_nothing_gives_null_percentiles(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, app: TechPalApp, settings: Settings
) -> None:
    await make_admin(settings, signed_in_user)

    summary = await _summary(client, signed_in_user)

    d = today(app)
    assert summary == {
        "from": (d - datetime.timedelta(days=29)).isoformat(),
        "to": d.isoformat(),
        "features": [],
        "sessions": EMPTY_SESSIONS,
        "answer_latency_ms": EMPTY_LATENCY,
    }


async def test_only_admins_see_the_summary(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, settings: Settings
) -> None:
    user, agent = await user_factory(), await user_factory()
    await query(settings, "UPDATE users SET role = 'agent' WHERE id = $1", uuid.UUID(agent.id))

    for caller in (user, agent):
        refused = await client.get(SUMMARY_PATH, headers=caller.headers)
        assert refused.status_code == 403
        assert refused.json()["code"] == "role_required"
    anonymous = await client.get(SUMMARY_PATH)
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"


# Days before today for `from`, days after today for `to`, and the code.
BAD_PERIODS = {"reversed": (0, -1, "invalid_range"), "367 days": (367, 0, "range_too_long")}


@pytest.mark.parametrize("case", BAD_PERIODS)
async def test_a_reversed_or_too_long_period_is_422(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, app: TechPalApp, settings: Settings, case: str
) -> None:
    back, forward, code = BAD_PERIODS[case]
    await make_admin(settings, signed_in_user)
    d = today(app)
    params = {
        "from": (d - datetime.timedelta(days=back)).isoformat(),
        "to": (d + datetime.timedelta(days=forward)).isoformat(),
    }

    response = await client.get(SUMMARY_PATH, params=params, headers=signed_in_user.headers)

    assert response.status_code == 422
    assert response.json()["code"] == code


async def test_the_longest_period_and_malformed_days(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, app: TechPalApp, settings: Settings
) -> None:
    await make_admin(settings, signed_in_user)
    d = today(app)

    longest = await _summary(client, signed_in_user, **{"from": (d - datetime.timedelta(days=366)).isoformat()})
    malformed = await client.get(SUMMARY_PATH, params={"from": "last week"}, headers=signed_in_user.headers)

    assert longest["to"] == d.isoformat()
    assert malformed.status_code == 422
    assert malformed.json()["code"] == "validation_error"
