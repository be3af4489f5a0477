"""``POST /api/v1/analytics/events``: what is stored (and what never is), the switch, validation and the limit."""

from __future__ import annotations

import datetime
import logging
import uuid
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from server.domain.analytics import EVENT_NAMES
from server.domain.analytics.services import BATCHES_PER_HOUR
from tests.server.integration.analytics.conftest import EVENTS_PATH, batch, event, query, stored_counts, today

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.app import TechPalApp
    from server.settings import Settings
    from tests.fixtures.auth import TestUser, UserFactory
    from tests.fixtures.server import LiveServer

CLIENT_IP = "203.0.113.77"


async def test_a_batch_is_stored_without_anything_that_identifies_the_user(
    signed_in_user: TestUser,
    live_server: LiveServer,
    app: TechPalApp,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    day = today(app)
    yesterday = day - datetime.timedelta(days=1)
    session_id = uuid.uuid4()
    body = batch(
        event("app_started", yesterday, 5),  # a number on an event where none means anything is dropped
        event("question_asked", day),
        event("boxes_redacted", day, 3),
        event("answer_received", day, 1234.5),
        session_id=session_id,
        seconds=95,
        app_version="1.2.3",
        os_family="windows",
    )
    headers = {**signed_in_user.headers, "X-Forwarded-For": CLIENT_IP}

    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        response = await http.post(EVENTS_PATH, json=body, headers=headers)

    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 4}
    sessions = await query(settings, "SELECT * FROM analytics_sessions")
    assert sessions == [
        {"id": session_id, "day": yesterday, "app_version": "1.2.3", "os_family": "windows", "seconds": 95}
    ]
    events = await query(settings, "SELECT * FROM analytics_events ORDER BY id")
    assert all(isinstance(row.pop("id"), int) for row in events)
    assert events == [
        {"session_id": session_id, "day": yesterday, "name": "app_started", "value": None},
        {"session_id": session_id, "day": day, "name": "question_asked", "value": None},
        {"session_id": session_id, "day": day, "name": "boxes_redacted", "value": 3.0},
        {"session_id": session_id, "day": day, "name": "answer_received", "value": 1234.5},
    ]
    # No column could hold an account, an address or text, and nothing of the caller is in any row.
    columns = await query(
        settings,
        "SELECT table_name, array_agg(column_name::text ORDER BY column_name) AS names "
        "FROM information_schema.columns WHERE table_name LIKE 'analytics_%' GROUP BY table_name ORDER BY table_name",
    )
    assert columns == [
        {"table_name": "analytics_events", "names": ["day", "id", "name", "session_id", "value"]},
        {"table_name": "analytics_sessions", "names": ["app_version", "day", "id", "os_family", "seconds"]},
    ]
    everything = await query(
        settings,
        "SELECT row_to_json(s)::text AS row FROM analytics_sessions s "
        "UNION ALL SELECT row_to_json(e)::text FROM analytics_events e",
    )
    stored = "\n".join(row["row"] for row in everything)
    caller = [CLIENT_IP, signed_in_user.id, signed_in_user.email, signed_in_user.username, signed_in_user.name]
    for identity in [*caller, signed_in_user.access_token]:
        assert identity not in stored
    # The server saw the client's address (its access line says so) and logged no event data with it.
    [access] = [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("path") == EVENTS_PATH]
    assert access["client_ip"] == CLIENT_IP
    logged = "\n".join(str(r.msg) for r in caplog.records)
    assert str(session_id) not in logged
    assert "question_asked" not in logged


async def test_later_batches_keep_the_first_day_version_and_os_and_the_longest_length(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, app: TechPalApp, settings: Settings
) -> None:
    day = today(app)
    session_id = uuid.uuid4()
    first = batch(event("app_started", day - datetime.timedelta(days=1)), session_id=session_id, seconds=120)
    later = batch(
        event("fixed", day), session_id=session_id, seconds=60, app_version="1.2.4", os_family="macos"
    )  # an older batch arriving late, or a client that changed: the first values stay
    longer = batch(session_id=session_id, seconds=300)  # no events: the length alone

    for body, accepted in ((first, 1), (later, 1), (longer, 0)):
        response = await client.post(EVENTS_PATH, json=body, headers=signed_in_user.headers)
        assert response.status_code == 202, response.text
        assert response.json() == {"accepted": accepted}

    assert await query(settings, "SELECT * FROM analytics_sessions") == [
        {
            "id": session_id,
            "day": day - datetime.timedelta(days=1),
            "app_version": "1.2.3",
            "os_family": "linux",
            "seconds": 300,
        }
    ]
    assert await stored_counts(settings) == (1, 2)


async def test_every_event_name_is_accepted(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, app: TechPalApp, settings: Settings
) -> None:
    body = batch(*(event(name, today(app), 1) for name in EVENT_NAMES))

    response = await client.post(EVENTS_PATH, json=body, headers=signed_in_user.headers)

    assert response.json() == {"accepted": 10}
    rows = await query(settings, "SELECT name, value FROM analytics_events ORDER BY name")
    assert {row["name"]: row["value"] for row in rows} == {
        name: (1.0 if name in ("boxes_redacted", "answer_received") else None) for name in EVENT_NAMES
    }


async def test_with_analytics_off_nothing_is_stored(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, app: TechPalApp, settings: Settings
) -> None:
    off = await client.patch("/api/v1/me", json={"analytics": False}, headers=signed_in_user.headers)
    assert off.json()["analytics"] is False

    response = await client.post(
        EVENTS_PATH, json=batch(event("app_started", today(app))), headers=signed_in_user.headers
    )

    assert response.status_code == 202
    assert response.json() == {"accepted": 0}
    assert await stored_counts(settings) == (0, 0)
    # Turned back on, the same batch is stored: the switch alone made the difference.
    await client.patch("/api/v1/me", json={"analytics": True}, headers=signed_in_user.headers)
    again = await client.post(EVENTS_PATH, json=batch(event("app_started", today(app))), headers=signed_in_user.headers)
    assert again.json() == {"accepted": 1}
    assert await stored_counts(settings) == (1, 1)


def _days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


# Each case: how to spoil a valid batch (given the server's today), and the code of the 422.
INVALID: dict[str, tuple[Any, str]] = {
    "unknown name": (lambda b, d: b["events"].append(event("user_email", d)), "validation_error"),
    "too many events": (lambda b, d: b.update(events=[event("fixed", d)] * 201), "validation_error"),
    "day too old": (lambda b, d: b["events"].append(event("fixed", d - _days(8))), "day_out_of_range"),
    "day too far ahead": (lambda b, d: b["events"].append(event("fixed", d + _days(2))), "day_out_of_range"),
    "host name as version": (lambda b, d: b.update(app_version="laptop-42.corp.example"), "validation_error"),
    "text as version": (lambda b, d: b.update(app_version="1.2.3 Jane Doe"), "validation_error"),
    "version too long": (lambda b, d: b.update(app_version="1." + "1" * 39), "validation_error"),
    "unknown os": (lambda b, d: b.update(os_family="ubuntu"), "validation_error"),
    "extra field": (lambda b, d: b.update(hostname="laptop-42"), "validation_error"),
    "extra event field": (lambda b, d: b["events"][0].update(ticket_id=str(uuid.uuid4())), "validation_error"),
    "negative value": (lambda b, d: b["events"].append(event("answer_received", d, -1)), "validation_error"),
    "value too large": (lambda b, d: b["events"].append(event("answer_received", d, 1e7 + 1)), "validation_error"),
    "text as value": (
        lambda b, d: b["events"].append({"name": "answer_received", "day": d.isoformat(), "value": "slow"}),
        "validation_error",
    ),
    "negative length": (lambda b, d: b.update(session_seconds=-1), "validation_error"),
    "time-based session id": (lambda b, d: b.update(session_id=str(uuid.uuid1())), "invalid_session_id"),
}


@pytest.mark.parametrize("case", INVALID)
async def test_an_invalid_batch_is_422_and_stores_nothing(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, app: TechPalApp, settings: Settings, case: str
) -> None:
    spoil, code = INVALID[case]
    body = batch(event("app_started", today(app)), event("question_asked", today(app)))
    spoil(body, today(app))

    response = await client.post(EVENTS_PATH, json=body, headers=signed_in_user.headers)

    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert await stored_counts(settings) == (0, 0)


async def test_the_account_id_is_refused_as_a_session_id(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, app: TechPalApp, settings: Settings
) -> None:
    body = batch(event("app_started", today(app)), session_id=uuid.UUID(signed_in_user.id))

    response = await client.post(EVENTS_PATH, json=body, headers=signed_in_user.headers)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_session_id"
    assert await stored_counts(settings) == (0, 0)


async def test_the_edges_of_the_day_window_are_accepted(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, app: TechPalApp
) -> None:
    day = today(app)
    body = batch(event("fixed", day - _days(7)), event("fixed", day + _days(1)))

    response = await client.post(EVENTS_PATH, json=body, headers=signed_in_user.headers)

    assert response.json() == {"accepted": 2}


async def test_without_a_token_it_is_401(
    client: AsyncTestClient[Litestar], app: TechPalApp, settings: Settings
) -> None:
    response = await client.post(EVENTS_PATH, json=batch(event("app_started", today(app))))

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert await stored_counts(settings) == (0, 0)


async def test_batches_past_the_hourly_limit_are_429_and_store_nothing(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, app: TechPalApp, settings: Settings
) -> None:
    busy, other = await user_factory(), await user_factory()
    day = today(app)
    for _ in range(BATCHES_PER_HOUR):
        response = await client.post(EVENTS_PATH, json=batch(event("fixed", day)), headers=busy.headers)
        assert response.status_code == 202

    refused = await client.post(EVENTS_PATH, json=batch(event("fixed", day)), headers=busy.headers)

    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0
    assert await stored_counts(settings) == (BATCHES_PER_HOUR, BATCHES_PER_HOUR)
    # The limit is per account.
    accepted = await client.post(EVENTS_PATH, json=batch(event("fixed", day)), headers=other.headers)
    assert accepted.status_code == 202
