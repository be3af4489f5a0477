"""``GET /api/v1/admin/kpis``: who may read it, the period it accepts, and a conversation held through the real API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.domain.accounts.cli import change_role
from tests.fixtures.db import connect
from tests.fixtures.tickets import create_ticket, parse_sse
from tests.server.integration.reports.conftest import DAY, KPIS, kpis, outcomes

if TYPE_CHECKING:
    import datetime

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser, UserFactory


async def test_only_admins_read_the_kpis(
    client: AsyncTestClient[Litestar], admin: TestUser, user_factory: UserFactory, db_url: str
) -> None:
    user, agent = await user_factory(), await user_factory()
    await change_role(db_url, agent.email, "agent", grant=True)

    anonymous = await client.get(KPIS)
    as_user = await client.get(KPIS, headers=user.headers)
    as_agent = await client.get(KPIS, headers=agent.headers)
    as_admin = await client.get(KPIS, headers=admin.headers)

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")
    assert (as_user.status_code, as_user.json()["code"]) == (403, "role_required")
    assert (as_agent.status_code, as_agent.json()["code"]) == (403, "role_required")
    assert as_admin.status_code == 200, as_admin.text


async def test_the_period_defaults_to_the_last_30_days_and_is_checked(
    client: AsyncTestClient[Litestar], admin: TestUser, now: datetime.datetime
) -> None:
    today = now.date()

    default = await kpis(client, admin)
    only_from = await kpis(client, admin, start=(today - 100 * DAY).isoformat())
    future_from = await kpis(client, admin, start=(today + 3 * DAY).isoformat())
    only_to = await kpis(client, admin, end="2026-03-31")
    leap_year = await kpis(client, admin, start="2028-01-01", end="2028-12-31")  # 366 days: the longest

    assert (default["from"], default["to"]) == ((today - 29 * DAY).isoformat(), today.isoformat())
    assert only_from["to"] == today.isoformat()
    assert future_from["to"] == future_from["from"]  # never before `from`
    assert only_to["from"] == "2026-03-02"
    assert (leap_year["from"], leap_year["to"]) == ("2028-01-01", "2028-12-31")
    assert len(leap_year["by_week"]) == 53  # Monday 2027-12-27 to Monday 2028-12-25

    refused = {
        "to before from": ({"from": "2026-12-08", "to": "2026-12-07"}, "period_reversed"),
        "367 days": ({"from": "2026-01-01", "to": "2027-01-02"}, "period_too_long"),
        "no zero padding": ({"from": "2026-1-1"}, "validation_error"),
        "no such day": ({"to": "2026-02-30"}, "validation_error"),
        "compact form": ({"from": "20261201"}, "validation_error"),
        "a time": ({"from": "2026-12-01T00:00:00Z"}, "validation_error"),
        "empty": ({"to": ""}, "validation_error"),
    }
    for case, (params, code) in refused.items():
        response = await client.get(KPIS, params=params, headers=admin.headers)
        assert (response.status_code, response.json()["code"]) == (422, code), case
        assert response.json()["errors"][0]["source"] == "query", case


async def _answered(client: AsyncTestClient[Litestar], user: TestUser, ticket_id: str) -> None:
    response = await client.post(f"/api/v1/tickets/{ticket_id}/resolve", headers=user.headers)
    assert response.status_code == 200, response.text
    assert [name for name, _ in parse_sse(response.text)][-1] == "done"


async def _feedback(client: AsyncTestClient[Litestar], user: TestUser, ticket_id: str, *, resolved: bool) -> None:
    url = f"/api/v1/tickets/{ticket_id}/feedback"
    response = await client.post(url, json={"resolved": resolved}, headers=user.headers)
    assert response.status_code == 200, response.text


async def _move_back(db_url: str, by: datetime.timedelta) -> None:
    """Every ticket, message and history row happened ``by`` earlier (as if the conversation were that old)."""
    connection = await connect(db_url)
    try:
        await connection.execute(
            "UPDATE tickets SET created_at = created_at - $1::interval, updated_at = updated_at - $1::interval", by
        )
        await connection.execute("UPDATE ticket_messages SET created_at = created_at - $1::interval", by)
        await connection.execute("UPDATE ticket_history SET at = at - $1::interval", by)
    finally:
        await connection.close()


async def test_a_conversation_held_through_the_api_is_counted_as_the_app_recorded_it(
    client: AsyncTestClient[Litestar], admin: TestUser, user_factory: UserFactory, db_url: str
) -> None:
    owner = await user_factory()
    problems = {
        "fixed": "Outlook keeps asking for my password.",
        "broken": "Teams has no sound in meetings.",
        "asked_again": "The second monitor stays black.",
        "silent": "Excel crashes when I open a macro file.",
    }
    tickets = {
        name: (await create_ticket(client, owner, description=text)).json()["id"] for name, text in problems.items()
    }
    for ticket_id in tickets.values():
        await _answered(client, owner, ticket_id)  # no chat model here: retrieval-only answers
    await _feedback(client, owner, tickets["fixed"], resolved=True)
    await _feedback(client, owner, tickets["broken"], resolved=False)
    await _feedback(client, owner, tickets["asked_again"], resolved=True)
    follow_up = await client.post(
        f"/api/v1/tickets/{tickets['asked_again']}/messages",
        json={"content": "It went black again after lunch."},
        headers=owner.headers,
    )
    assert follow_up.status_code == 200, follow_up.text
    await _move_back(db_url, 10 * DAY)  # every window of those tickets has passed
    fresh = (await create_ticket(client, owner, description="Zoom cannot find my webcam.")).json()["id"]
    await _answered(client, owner, fresh)  # answered just now: the user may still answer

    body = await kpis(client, admin)

    assert outcomes(body["totals"]) == {"confirmed": 1, "escalated": 1, "reopened": 1, "unconfirmed": 1, "pending": 1}
    assert body["totals"]["confirmed_rate"] == 0.2
    assert [(k["answer_kind"], k["answered"]) for k in body["by_answer_kind"]] == [("retrieval", 5), ("model", 0)]
