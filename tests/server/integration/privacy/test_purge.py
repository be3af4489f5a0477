"""The purge, 30 days after a deletion: no row, no file and no mail of the account remains; others keep theirs.

Run 31 days ahead, the other retention rules remove their share too (the other account's export, every outbox
mail); ``test_retention`` shows each rule removes exactly what is due.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from typing import TYPE_CHECKING

from tests.fixtures.db import query, rows_eventually
from tests.fixtures.images import png_bytes
from tests.fixtures.server import run_server_command
from tests.fixtures.stripe_api import WEBHOOK_SECRET, subscribe
from tests.fixtures.tickets import create_ticket
from tests.server.integration.privacy.conftest import login

if TYPE_CHECKING:
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.settings import Settings
    from tests.fixtures.auth import UserFactory
    from tests.fixtures.mail import OutboxReader
    from tests.fixtures.stripe_api import FakeStripe

# Every column that can hold a user's or a ticket's id, found from the schema rather than listed by hand.
UUID_COLUMNS = """
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = 'public' AND data_type = 'uuid'
"""


async def purge_command(settings: Settings, stripe_api: FakeStripe, *args: str) -> str:
    """``techpal-server data purge ARGS`` as the operator runs it, against the test's database and Stripe."""
    assert settings.db.url is not None
    code, output = await run_server_command(
        settings.data_dir,
        settings.db.url.get_secret_value(),
        "data",
        "purge",
        *args,
        TECHPAL_STRIPE_SECRET_KEY="sk_test_" + "s" * 24,
        TECHPAL_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        TECHPAL_STRIPE_API_BASE=stripe_api.url,
    )
    assert code == 0, output
    return output


def files_under(root: Path) -> set[str]:
    """Names of every file under ``root``."""
    return {name for _, _, names in os.walk(root) for name in names}


async def test_the_purge_removes_every_row_file_and_mail_of_the_account_and_nothing_else(
    client: AsyncTestClient[Litestar],
    user_factory: UserFactory,
    settings: Settings,
    stripe_api: FakeStripe,
    mailbox: OutboxReader,
) -> None:
    leaving, staying = await user_factory(), await user_factory()
    shared, own = png_bytes(300, 200), png_bytes(320, 210)
    ticket = (await create_ticket(client, leaving, screenshots=[shared, own], idempotency_key="k-1")).json()
    await client.post(f"/api/v1/tickets/{ticket['id']}/resolve", headers=leaving.headers)
    await client.post(f"/api/v1/tickets/{ticket['id']}/feedback", json={"resolved": True}, headers=leaving.headers)
    kept = (await create_ticket(client, staying, screenshots=[shared])).json()
    subscription = await subscribe(client, stripe_api, leaving)
    await client.post("/api/v1/me/export", headers=leaving.headers)
    await client.post("/api/v1/me/export", headers=staying.headers)
    keys = "SELECT blob_key, model_blob_key FROM ticket_screenshots WHERE ticket_id = $1::uuid"
    leaving_files = {k for row in await query(settings, keys, ticket["id"]) for k in row}
    staying_files = {k for row in await query(settings, keys, kept["id"]) for k in row}
    assert leaving_files - staying_files
    assert leaving_files & staying_files
    assert leaving_files | staying_files <= files_under(settings.data_dir / "blobs")
    body = {"name": "Reporting", "scopes": ["tickets:read"]}
    key = (await client.post("/api/v1/me/api-keys", json=body, headers=leaving.headers)).json()
    assert (await client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {key['key']}"})).status_code == 200
    assert settings.db.url is not None
    usage = "SELECT 1 FROM api_key_usage WHERE key_id = $1::uuid"
    assert await rows_eventually(settings.db.url.get_secret_value(), usage, key["id"])  # written within a second
    leaving_ids = {leaving.id, ticket["id"], key["id"]}  # the key's usage has no foreign key to cascade along
    assert await client.request("DELETE", "/api/v1/me", json={"password": leaving.password}, headers=leaving.headers)

    not_yet = await purge_command(settings, stripe_api)
    assert "accounts deleted 30 or more days ago: 0 removed" in not_yet
    as_of = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=31)).isoformat()
    output = await purge_command(settings, stripe_api, "--as-of", as_of)

    assert "accounts deleted 30 or more days ago: 1 removed" in output
    for column in await query(settings, UUID_COLUMNS):
        table, name = column["table_name"], column["column_name"]
        left = await query(settings, f'SELECT 1 FROM "{table}" WHERE "{name}"::text = ANY($1::text[])', leaving_ids)
        assert left == [], f"{table}.{name} still refers to the purged account"
    for table in [r["table_name"] for r in await query(settings, UUID_COLUMNS)]:
        rows = await query(settings, f'SELECT 1 FROM "{table}" t WHERE t::text ILIKE $1', f"%{leaving.email}%")
        assert rows == [], f"{table} still holds the purged account's address"
    digest = hashlib.sha256(leaving.id.encode()).hexdigest()[:40]
    assert await query(settings, "SELECT 1 FROM rate_counters WHERE key = $1", digest) == []
    blobs_after = files_under(settings.data_dir / "blobs")
    assert not (leaving_files - staying_files) & blobs_after
    assert staying_files <= blobs_after  # the shared screenshot stays for the other account's ticket
    assert list((settings.data_dir / "exports").glob("*")) == []  # its export (the other one is past 7 days)
    assert all(m["To"] != leaving.email for m in mailbox.messages())
    deleted_customer = f"/v1/customers/{subscription['customer']}"
    assert [r.path for r in stripe_api.requests if r.method == "DELETE" and "customers" in r.path] == [deleted_customer]
    assert (await login(client, leaving)).json()["code"] == "invalid_credentials"
    kept_view = await client.get(f"/api/v1/tickets/{kept['id']}/screenshots/0", headers=staying.headers)
    assert kept_view.status_code == 200
    again = await client.post(
        "/api/v1/auth/register",
        json={
            "name": "New Person",
            "email": leaving.email,
            "username": leaving.username,
            "password": "a brand new passphrase",
            "age_confirmed": True,
        },
    )
    assert again.status_code == 201, again.text


async def test_a_due_purge_takes_the_accounts_mails_and_export_but_not_anyone_elses(
    client: AsyncTestClient[Litestar],
    user_factory: UserFactory,
    settings: Settings,
    stripe_api: FakeStripe,
    mailbox: OutboxReader,
) -> None:
    leaving, staying = await user_factory(), await user_factory()
    for user in (leaving, staying):
        await client.post("/api/v1/me/export", headers=user.headers)
    await client.request("DELETE", "/api/v1/me", json={"password": leaving.password}, headers=leaving.headers)
    assert any(m["To"] == leaving.email for m in mailbox.messages())
    await query(settings, "UPDATE users SET purge_after = now() - interval '1 second' WHERE email = $1", leaving.email)

    output = await purge_command(settings, stripe_api)  # as of now: only what is due

    assert "accounts deleted 30 or more days ago: 1 removed" in output
    assert "outbox mails older than 30 days: 0 removed" in output
    recipients = [m["To"] for m in mailbox.messages()]
    assert leaving.email not in recipients
    assert staying.email in recipients
    assert len(list((settings.data_dir / "exports").glob("*.zip"))) == 1
    assert (await client.get("/api/v1/me/exports", headers=staying.headers)).json()[0]["status"] == "ready"
