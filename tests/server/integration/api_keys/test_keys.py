"""API keys through the real API: shown once, stored as a keyed hash, scoped, revocable, expiring, at most 20."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import re
from typing import TYPE_CHECKING, Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.domain.accounts.api_keys import well_formed
from tests.fixtures.auth import auth_header
from tests.fixtures.db import connect, query
from tests.server.integration.api_keys.conftest import KEYS, key_header

if TYPE_CHECKING:
    from server.app import TechPalApp
    from server.settings import Settings
    from tests.fixtures.auth import TestUser, UserFactory
    from tests.fixtures.tickets import TicketFactory
    from tests.server.integration.api_keys.conftest import KeyFactory

Client = AsyncTestClient[Litestar]
KEY_SHAPE = re.compile(r"tp_[0-9A-Za-z]{49}")


async def test_a_key_is_shown_once_and_stored_only_as_a_keyed_hash(
    client: Client, app: TechPalApp, settings: Settings, signed_in_user: TestUser, make_key: KeyFactory
) -> None:
    created = await make_key(signed_in_user, scopes=["kb:read", "tickets:read"], name="Nightly report")

    key = created["key"]
    assert KEY_SHAPE.fullmatch(key)
    assert created["prefix"] == key[3:11]
    assert created["scopes"] == ["tickets:read", "kb:read"]
    assert created["name"] == "Nightly report"
    assert created["expires_at"] is None
    [row] = await query(settings, "SELECT * FROM api_keys WHERE id = $1", created["id"])
    stored = " ".join(str(value) for value in row.values())
    assert key not in stored
    assert key[3:-6] not in stored  # not even the random part
    assert row["key_hash"] != hashlib.sha256(key.encode()).digest()  # keyed: the database alone tests no guess
    assert row["key_hash"] == app.context.key_hasher.digest(key)
    listed = (await client.get(KEYS, headers=signed_in_user.headers)).json()
    assert [entry["id"] for entry in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert key not in str(listed)
    assert listed[0]["prefix"] == created["prefix"]
    assert listed[0]["last_used_at"] is None
    assert listed[0]["requests_24h"] == 0


async def test_every_key_is_well_formed_and_every_typo_is_caught_by_the_checksum(
    signed_in_user: TestUser, make_key: KeyFactory
) -> None:
    key = (await make_key(signed_in_user))["key"]
    assert well_formed(key)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    for position in range(3, len(key)):
        wrong = alphabet[(alphabet.index(key[position]) + 1) % 62]
        assert not well_formed(key[:position] + wrong + key[position + 1 :]), position
    # Two neighbours swapped is the other everyday typo.
    for position in range(3, len(key) - 1):
        if key[position] != key[position + 1]:
            swapped = key[:position] + key[position + 1] + key[position] + key[position + 2 :]
            assert not well_formed(swapped), position


async def test_a_mistyped_key_is_refused_without_a_database_lookup(
    client: Client, settings: Settings, signed_in_user: TestUser, make_key: KeyFactory
) -> None:
    key = (await make_key(signed_in_user, scopes=["tickets:read"]))["key"]
    typo = key[:10] + ("a" if key[10] != "a" else "b") + key[11:]
    assert settings.db.url is not None
    blocker = await connect(settings.db.url.get_secret_value())
    try:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")
        # Any lookup would wait for the lock (a well-formed key waits until the statement times out).
        refused = await asyncio.wait_for(client.get("/api/v1/tickets", headers=auth_header(typo)), timeout=10)
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_api_key"
        await transaction.rollback()
        assert (await client.get("/api/v1/tickets", headers=auth_header(key))).status_code == 200
    finally:
        await blocker.close()


async def test_scopes_decide_which_routes_a_key_opens(
    client: Client, signed_in_user: TestUser, make_key: KeyFactory, ticket_factory: TicketFactory
) -> None:
    ticket = (await ticket_factory(signed_in_user, description="Printer on floor 3 jams")).json()
    reader = key_header(await make_key(signed_in_user, scopes=["tickets:read"]))
    writer = key_header(await make_key(signed_in_user, scopes=["tickets:write"]))
    kb = key_header(await make_key(signed_in_user, scopes=["kb:read"]))

    assert (await client.get("/api/v1/tickets", headers=reader)).status_code == 200
    read = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=reader)
    assert read.status_code == 200
    assert read.json()["description"] == "Printer on floor 3 jams"
    refused = await client.get("/api/v1/tickets", headers=writer)
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")
    for headers in (reader, kb):
        created = await client.post("/api/v1/tickets", files={"description": (None, "VPN drops")}, headers=headers)
        assert (created.status_code, created.json()["code"]) == (403, "insufficient_scope")
    created = await client.post("/api/v1/tickets", files={"description": (None, "VPN drops")}, headers=writer)
    assert created.status_code == 201, created.text
    feedback = await client.post(f"/api/v1/tickets/{ticket['id']}/feedback", json={"outcome": "fixed"}, headers=reader)
    assert (feedback.status_code, feedback.json()["code"]) == (403, "insufficient_scope")
    search = await client.get("/api/v1/kb/search", params={"q": "printer jam"}, headers=kb)
    assert search.status_code == 200, search.text
    denied = await client.get("/api/v1/kb/search", params={"q": "printer jam"}, headers=reader)
    assert (denied.status_code, denied.json()["code"]) == (403, "insufficient_scope")
    # The key's owner is who it acts as: the tickets it lists are theirs.
    listed = (await client.get("/api/v1/tickets", headers=reader)).json()
    assert {item["id"] for item in listed["items"]} == {ticket["id"], created.json()["id"]}


async def test_an_expired_key_is_refused_with_its_own_code(
    client: Client, settings: Settings, signed_in_user: TestUser, make_key: KeyFactory
) -> None:
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    created = await make_key(signed_in_user, scopes=["tickets:read"], expires_at=soon.isoformat())
    assert datetime.datetime.fromisoformat(created["expires_at"]) == soon
    assert (await client.get("/api/v1/tickets", headers=key_header(created))).status_code == 200

    await query(settings, "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", created["id"])
    expired = await client.get("/api/v1/tickets", headers=key_header(created))
    assert (expired.status_code, expired.json()["code"]) == (401, "api_key_expired")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "scopes": ["tickets:delete"]}, "scopes"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"name": "", "scopes": ["kb:read"]}, "name"),
        ({"name": "x", "scopes": ["kb:read"], "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "scopes": ["kb:read"], "expires_at": "2999-01-01T00:00:00"}, "expires_at"),
        ({"name": "x", "scopes": ["kb:read"], "key": "tp_mine"}, "key"),
    ],
)
async def test_bad_key_requests_are_refused_and_make_nothing(
    client: Client, settings: Settings, signed_in_user: TestUser, body: dict[str, Any], field: str
) -> None:
    response = await client.post(KEYS, json=body, headers=signed_in_user.headers)
    assert response.status_code in {400, 422}, response.text
    assert field in response.text
    assert await query(settings, "SELECT id FROM api_keys") == []


async def test_a_revoked_key_stops_at_once_and_only_its_owner_can_revoke_it(
    client: Client, signed_in_user: TestUser, user_factory: UserFactory, make_key: KeyFactory
) -> None:
    created = await make_key(signed_in_user, scopes=["tickets:read"])
    stranger = await user_factory()
    theirs = await client.delete(f"{KEYS}/{created['id']}", headers=stranger.headers)
    assert theirs.status_code == 404
    assert (await client.get(f"{KEYS}/{created['id']}/usage", headers=stranger.headers)).status_code == 404
    assert (await client.get(KEYS, headers=stranger.headers)).json() == []
    assert (await client.get("/api/v1/tickets", headers=key_header(created))).status_code == 200

    assert (await client.delete(f"{KEYS}/{created['id']}", headers=signed_in_user.headers)).status_code == 204
    after = await client.get("/api/v1/tickets", headers=key_header(created))
    assert (after.status_code, after.json()["code"]) == (401, "invalid_api_key")
    assert (await client.get(KEYS, headers=signed_in_user.headers)).json() == []
    again = await client.delete(f"{KEYS}/{created['id']}", headers=signed_in_user.headers)
    assert again.status_code == 404


async def test_an_account_holds_at_most_twenty_live_keys(
    client: Client, settings: Settings, signed_in_user: TestUser, make_key: KeyFactory
) -> None:
    made = [await make_key(signed_in_user, scopes=["kb:read"], name=f"key {n}") for n in range(20)]
    over = await client.post(KEYS, json={"name": "one more", "scopes": ["kb:read"]}, headers=signed_in_user.headers)
    assert (over.status_code, over.json()["code"]) == (409, "too_many_api_keys")
    # An expired key is no longer live; neither is a revoked one.
    await query(settings, "UPDATE api_keys SET expires_at = now() WHERE id = $1", made[0]["id"])
    await make_key(signed_in_user, scopes=["kb:read"], name="instead of the expired one")
    assert (await client.delete(f"{KEYS}/{made[1]['id']}", headers=signed_in_user.headers)).status_code == 204
    await make_key(signed_in_user, scopes=["kb:read"], name="instead of the revoked one")
    assert len(await query(settings, "SELECT id FROM api_keys")) == 22


async def test_deleting_the_account_or_changing_its_password_revokes_its_keys(
    client: Client, user_factory: UserFactory, make_key: KeyFactory
) -> None:
    leaving, changing = await user_factory(), await user_factory()
    leaving_key = await make_key(leaving, scopes=["tickets:read"])
    changing_key = await make_key(changing, scopes=["tickets:read"])

    deleted = await client.request("DELETE", "/api/v1/me", json={"password": leaving.password}, headers=leaving.headers)
    assert deleted.status_code == 202, deleted.text
    assert (await client.get("/api/v1/tickets", headers=key_header(leaving_key))).status_code == 401

    new_password = "a-much-better-passphrase-7"
    body = {"current_password": changing.password, "new_password": new_password}
    assert (await client.post("/api/v1/me/password", json=body, headers=changing.headers)).status_code == 204
    assert (await client.get("/api/v1/tickets", headers=key_header(changing_key))).status_code == 401
    assert (await client.get(KEYS, headers=changing.headers)).json() == []
