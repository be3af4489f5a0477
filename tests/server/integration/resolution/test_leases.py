"""One answer per ticket at a time across server processes: the lease in the database, not a dict in one process."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from server.domain.resolution.runs import ResolutionRuns
from server.lib.exceptions import Conflict
from tests.fixtures.db import fetch_rows
from tests.fixtures.tickets import create_ticket, parse_sse

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.app import TechPalApp
    from server.settings import Settings
    from tests.fixtures.auth import TestUser


@pytest.fixture
async def other_process(settings: Settings, app: TechPalApp) -> AsyncIterator[ResolutionRuns]:
    """The runs of a second server process: its own engine on the same database."""
    assert settings.db.url is not None
    engine = create_async_engine(settings.db.url.get_secret_value())
    try:
        yield ResolutionRuns(engine, app.context.storage)
    finally:
        await engine.dispose()


async def test_a_ticket_answered_in_another_process_is_refused_here_until_that_answer_ends(
    client: AsyncTestClient[Litestar], settings: Settings, signed_in_user: TestUser, other_process: ResolutionRuns
) -> None:
    ticket = (await create_ticket(client, signed_in_user, description="Outlook keeps asking for my password")).json()
    await other_process.claim(uuid.UUID(ticket["id"]))

    refused = await client.post(f"/api/v1/tickets/{ticket['id']}/resolve", headers=signed_in_user.headers)
    assert (refused.status_code, refused.json()["code"]) == (409, "resolution_in_progress")
    follow_up = await client.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"content": "Any news?"}, headers=signed_in_user.headers
    )
    assert (follow_up.status_code, follow_up.json()["code"]) == (409, "resolution_in_progress")
    assert settings.db.url is not None
    messages = await fetch_rows(
        settings.db.url.get_secret_value(), "SELECT role FROM ticket_messages WHERE ticket_id = $1::uuid", ticket["id"]
    )
    assert messages == []  # the refused follow-up stored no question

    await other_process.release(uuid.UUID(ticket["id"]))
    answered = await client.post(f"/api/v1/tickets/{ticket['id']}/resolve", headers=signed_in_user.headers)
    assert answered.status_code == 200
    assert "done" in [name for name, _data in parse_sse(answered.text)]
    # The answer gave its lease back: the other process may answer the follow-up now.
    await other_process.claim(uuid.UUID(ticket["id"]))


async def test_a_lease_whose_process_died_runs_out(
    client: AsyncTestClient[Litestar], settings: Settings, signed_in_user: TestUser, other_process: ResolutionRuns
) -> None:
    ticket = (await create_ticket(client, signed_in_user, description="VPN drops every hour")).json()
    await other_process.claim(uuid.UUID(ticket["id"]))
    with pytest.raises(Conflict):
        await other_process.claim(uuid.UUID(ticket["id"]))

    assert settings.db.url is not None
    await fetch_rows(
        settings.db.url.get_secret_value(),
        "UPDATE resolution_leases SET expires_at = now() - interval '1 second' WHERE ticket_id = $1::uuid",
        ticket["id"],
    )
    answered = await client.post(f"/api/v1/tickets/{ticket['id']}/resolve", headers=signed_in_user.headers)
    assert answered.status_code == 200
