"""The usage log: every request with a key, by route template only, shown to its owner, written in batches."""

from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING

from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.db.engine import create_engine
from server.domain.accounts.usage_log import UsageLog
from server.lib.metering import FinishedRequest, RequestMeter
from tests.fixtures.db import query, rows_eventually
from tests.server.integration.api_keys.conftest import KEYS, key_header

if TYPE_CHECKING:
    from server.settings import Settings
    from tests.fixtures.auth import TestUser, UserFactory
    from tests.fixtures.tickets import TicketFactory
    from tests.server.integration.api_keys.conftest import KeyFactory

Client = AsyncTestClient[Litestar]


async def test_each_call_is_logged_by_its_route_and_shown_to_the_owner(
    client: Client, settings: Settings, signed_in_user: TestUser, make_key: KeyFactory, ticket_factory: TicketFactory
) -> None:
    ticket = (await ticket_factory(signed_in_user, description="Laptop fan is loud")).json()
    created = await make_key(signed_in_user, scopes=["tickets:read"])
    headers = key_header(created)
    assert (await client.get("/api/v1/tickets", params={"limit": 5, "offset": 0}, headers=headers)).status_code == 200
    assert (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)).status_code == 200
    assert (await client.get(f"/api/v1/tickets/{uuid.uuid4()}", headers=headers)).status_code == 404
    search = await client.get("/api/v1/kb/search", params={"q": "my secret words"}, headers=headers)
    assert search.status_code == 403
    assert (await client.get("/api/v1/tickets", headers=signed_in_user.headers)).status_code == 200  # a session

    usage = await client.get(f"{KEYS}/{created['id']}/usage", headers=signed_in_user.headers)
    assert usage.status_code == 200, usage.text
    body = usage.json()
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    daily = {(d["method"], d["route"], d["status"]): d["count"] for d in body["daily"]}
    assert daily == {
        ("GET", "/api/v1/tickets", 200): 1,
        ("GET", "/api/v1/tickets/{ticket_id}", 200): 1,
        ("GET", "/api/v1/tickets/{ticket_id}", 404): 1,
        ("GET", "/api/v1/kb/search", 403): 1,
    }
    assert {d["day"] for d in body["daily"]} == {today}
    assert body["days"] == 30
    recent = body["recent"]
    assert [(c["route"], c["status"]) for c in recent] == [
        ("/api/v1/kb/search", 403),
        ("/api/v1/tickets/{ticket_id}", 404),
        ("/api/v1/tickets/{ticket_id}", 200),
        ("/api/v1/tickets", 200),
    ]
    assert all(c["method"] == "GET" and c["duration_ms"] >= 0 for c in recent)
    # What is stored is the template: no query string, no id from the path, nothing the caller typed.
    stored = " ".join(str(dict(row)) for row in await query(settings, "SELECT * FROM api_key_usage"))
    for secret in ("limit", "offset", ticket["id"], "secret words", "my+secret"):
        assert secret not in stored

    listed = (await client.get(KEYS, headers=signed_in_user.headers)).json()
    assert listed[0]["requests_24h"] == 4
    last_used = datetime.datetime.fromisoformat(listed[0]["last_used_at"])
    assert abs(datetime.datetime.now(datetime.UTC) - last_used) < datetime.timedelta(minutes=1)


async def test_another_users_usage_is_not_found_and_the_period_is_bounded(
    client: Client, signed_in_user: TestUser, user_factory: UserFactory, make_key: KeyFactory
) -> None:
    created = await make_key(signed_in_user, scopes=["kb:read"])
    other = await user_factory()
    assert (await client.get(f"{KEYS}/{created['id']}/usage", headers=other.headers)).status_code == 404
    assert (await client.get(f"{KEYS}/{uuid.uuid4()}/usage", headers=signed_in_user.headers)).status_code == 404
    for days in (0, 91):
        response = await client.get(f"{KEYS}/{created['id']}/usage?days={days}", headers=signed_in_user.headers)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error"), response.text
    # A revoked key's history stays readable for its owner.
    assert (await client.delete(f"{KEYS}/{created['id']}", headers=signed_in_user.headers)).status_code == 204
    assert (await client.get(f"{KEYS}/{created['id']}/usage", headers=signed_in_user.headers)).status_code == 200


async def test_the_log_is_written_in_the_background_without_being_asked(
    client: Client, settings: Settings, signed_in_user: TestUser, make_key: KeyFactory
) -> None:
    headers = key_header(await make_key(signed_in_user, scopes=["tickets:read"]))
    for _ in range(3):
        assert (await client.get("/api/v1/tickets", headers=headers)).status_code == 200
    assert settings.db.url is not None
    written = await rows_eventually(settings.db.url.get_secret_value(), "SELECT id FROM api_key_usage", count=3)
    assert len(written) == 3  # the writer runs every second


async def test_a_batch_is_one_transaction_and_survives_a_failed_write(
    settings: Settings, signed_in_user: TestUser, make_key: KeyFactory
) -> None:
    key_id = uuid.UUID((await make_key(signed_in_user, scopes=["kb:read"]))["id"])
    engine = create_engine(settings.db)  # the app's engine belongs to the test client's event loop
    log = UsageLog(engine)
    for n in range(1200):
        log.record(RequestMeter(api_key_id=key_id), FinishedRequest("GET", "/api/v1/kb/search", 200, n))
    log.record(RequestMeter(), FinishedRequest("GET", "/api/v1/me", 200, 1))  # no key: not logged

    await query(settings, "ALTER TABLE api_key_usage ADD CONSTRAINT fail_for_now CHECK (duration_ms < 0) NOT VALID")
    try:
        await log.flush()
    except Exception:
        pass
    else:
        raise AssertionError("the write should have failed")
    assert await query(settings, "SELECT id FROM api_key_usage") == []
    await query(settings, "ALTER TABLE api_key_usage DROP CONSTRAINT fail_for_now")

    assert await log.flush() == 1200
    stored = await query(settings, "SELECT duration_ms FROM api_key_usage ORDER BY id")
    assert [r["duration_ms"] for r in stored] == list(range(1200))
    assert await log.flush() == 0
    await engine.dispose()
