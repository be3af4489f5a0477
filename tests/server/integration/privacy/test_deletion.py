"""Deleting an account: closed at once, restorable for 30 days; an admin's deletion; the purge leaves nothing."""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING

from tests.fixtures.db import query
from tests.fixtures.images import png_bytes
from tests.fixtures.stripe_api import deliver, subscribe
from tests.fixtures.tickets import create_ticket
from tests.server.integration.privacy.conftest import login

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.settings import Settings
    from tests.fixtures.auth import TestUser, UserFactory
    from tests.fixtures.mail import Mailbox
    from tests.fixtures.stripe_api import FakeStripe


async def test_deletion_ends_sessions_and_sign_in_until_restored(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, mailbox: Mailbox
) -> None:
    user = signed_in_user
    wrong = await client.request("DELETE", "/api/v1/me", json={"password": "not it at all"}, headers=user.headers)
    assert (wrong.status_code, wrong.json()["code"]) == (403, "invalid_credentials")
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 200  # nothing happened

    deleted = await client.request("DELETE", "/api/v1/me", json={"password": user.password}, headers=user.headers)

    assert deleted.status_code == 202, deleted.text
    purge_after = datetime.datetime.fromisoformat(deleted.json()["purge_after"])
    in_30_days = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)
    assert abs((purge_after - in_30_days).total_seconds()) < 60
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 401  # every session ended
    refused = await login(client, user)
    assert (refused.status_code, refused.json()["code"]) == (403, "account_deleted")
    assert refused.json()["purge_after"] == deleted.json()["purge_after"]  # the same instant, written the same way
    notice = await mailbox.latest_to(user.email)
    assert "deleted" in notice["Subject"]
    assert "Restore my account" in notice.get_content()

    restore = {"login": user.username, "password": user.password}
    wrong_restore = await client.post("/api/v1/auth/restore", json=restore | {"password": "wrong password!"})
    assert (wrong_restore.status_code, wrong_restore.json()["code"]) == (401, "invalid_credentials")
    assert (await client.post("/api/v1/auth/restore", json=restore)).status_code == 204
    assert (await login(client, user)).status_code == 200
    assert "restored" in (await mailbox.latest_to(user.email))["Subject"]
    again = await client.post("/api/v1/auth/restore", json=restore)
    assert (again.status_code, again.json()["code"]) == (409, "account_not_deleted")


async def test_deletion_cancels_the_subscription_at_stripe_and_drops_exports(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, stripe_api: FakeStripe, settings: Settings
) -> None:
    user = signed_in_user
    subscription = await subscribe(client, stripe_api, user)
    await client.post("/api/v1/me/export", headers=user.headers)
    [export_file] = (settings.data_dir / "exports").glob("*.zip")

    await client.request("DELETE", "/api/v1/me", json={"password": user.password}, headers=user.headers)

    cancels = [r for r in stripe_api.requests if r.method == "DELETE" and r.path.startswith("/v1/subscriptions/")]
    assert [r.path for r in cancels] == [f"/v1/subscriptions/{subscription['id']}"]
    assert stripe_api.state.subscriptions[subscription["id"]]["status"] == "canceled"
    assert not export_file.exists()
    await client.post("/api/v1/auth/restore", json={"login": user.email, "password": user.password})
    headers = {"Authorization": f"Bearer {(await login(client, user)).json()['access_token']}"}
    [export] = (await client.get("/api/v1/me/exports", headers=headers)).json()
    assert export["status"] == "expired"
    again = await client.post("/api/v1/me/export", headers=headers)
    assert again.json()["code"] == "export_limited"  # deleting and restoring does not reset the daily limit


async def test_stripe_down_refuses_the_deletion_and_changes_nothing(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, stripe_api: FakeStripe
) -> None:
    user = signed_in_user
    await subscribe(client, stripe_api, user)
    stripe_api.fail_with(500)

    response = await client.request("DELETE", "/api/v1/me", json={"password": user.password}, headers=user.headers)

    assert (response.status_code, response.json()["code"]) == (503, "billing_unavailable")
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 200


async def test_only_admins_delete_other_accounts(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, settings: Settings, stripe_api: FakeStripe
) -> None:
    admin, target, bystander = await user_factory(), await user_factory(), await user_factory()
    await query(settings, "UPDATE users SET role = 'admin' WHERE email = $1", admin.email)
    path = f"/api/v1/admin/users/{target.id}"

    refused = await client.request("DELETE", path, json={}, headers=bystander.headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "role_required")
    own = await client.request("DELETE", f"/api/v1/admin/users/{admin.id}", json={}, headers=admin.headers)
    assert (own.status_code, own.json()["code"]) == (409, "cannot_delete_self")

    scheduled = await client.request("DELETE", path, json={"immediate": False}, headers=admin.headers)
    assert scheduled.status_code == 202
    assert (await login(client, target)).json()["code"] == "account_deleted"

    await create_ticket(client, bystander, screenshots=[png_bytes(200, 100)])
    subscription = await subscribe(client, stripe_api, bystander)
    purged = await client.request(
        "DELETE", f"/api/v1/admin/users/{bystander.id}", json={"immediate": True}, headers=admin.headers
    )
    assert purged.status_code == 204
    assert await query(settings, "SELECT id FROM users WHERE email = $1", bystander.email) == []
    assert await query(settings, "SELECT id FROM tickets") == []
    assert stripe_api.state.subscriptions[subscription["id"]]["status"] == "canceled"
    assert [r.path for r in stripe_api.requests if r.method == "DELETE" and r.path.startswith("/v1/customers/")] == [
        f"/v1/customers/{subscription['customer']}"
    ]
    gone = await client.request("DELETE", path.replace(target.id, bystander.id), json={}, headers=admin.headers)
    assert gone.status_code == 404


async def test_stripe_events_keep_no_personal_data(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, stripe_api: FakeStripe, settings: Settings
) -> None:
    subscription = await subscribe(client, stripe_api, signed_in_user)
    invoice = stripe_api.invoice(subscription["customer"], subscription["id"])
    invoice |= {
        "customer_email": signed_in_user.email,
        "customer_name": signed_in_user.name,
        "customer_address": {"line1": "1 Privacy Road", "city": "Berlin"},
    }
    assert (await deliver(client, stripe_api.event("invoice.paid", invoice))).status_code == 200

    rows = await query(settings, "SELECT * FROM stripe_events")

    assert {r["type"] for r in rows} == {"checkout.session.completed", "invoice.paid"}
    stored = json.dumps([dict(r) for r in rows], default=str)
    for personal in (signed_in_user.email, signed_in_user.name, "Privacy Road", "Berlin"):
        assert personal not in stored
    assert all(r["customer_id"] == subscription["customer"] for r in rows)
