"""The Stripe webhook: signatures, redeliveries, out-of-order events, payment mails, and recovery after a crash."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.context import Models, build_context
from server.domain.billing.event_fields import applied_fields
from tests.fixtures.db import fetch_rows
from tests.fixtures.stripe_api import WEBHOOK_PATH, FakeStripe, deliver, subscribe

if TYPE_CHECKING:
    from litestar import Litestar

    from server.settings import Settings
    from tests.fixtures.auth import TestUser
    from tests.fixtures.mail import SmtpCapture


async def query(settings: Settings, sql: str, *args: Any) -> list[Any]:
    """Rows straight from the database."""
    assert settings.db.url is not None
    return await fetch_rows(settings.db.url.get_secret_value(), sql, *args)


async def view(client: AsyncTestClient[Litestar], user: TestUser) -> dict[str, Any]:
    response = await client.get("/api/v1/billing/subscription", headers=user.headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def subscriber(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, stripe_api: FakeStripe
) -> tuple[TestUser, dict[str, Any]]:
    """A user with an active pro subscription (created at Checkout)."""
    return signed_in_user, await subscribe(client, stripe_api, signed_in_user)


async def test_a_redelivered_event_is_stored_and_applied_once(
    client: AsyncTestClient[Litestar],
    subscriber: tuple[TestUser, dict[str, Any]],
    stripe_api: FakeStripe,
    smtp_server: SmtpCapture,
    settings: Settings,
) -> None:
    user, sub = subscriber
    invoice = stripe_api.event("invoice.paid", stripe_api.invoice(sub["customer"], sub["id"]))
    answers = [await deliver(client, invoice) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    paid = [m for m in smtp_server.messages() if m["To"] == user.email and "Payment received" in m["Subject"]]
    assert len(paid) == 1
    text = paid[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "9.00 EUR" in text
    assert "Pro" in text
    event_id = json.loads(invoice)["id"]
    rows = await query(settings, "SELECT applied_at, error FROM stripe_events WHERE event_id = $1", event_id)
    assert len(rows) == 1
    assert rows[0]["applied_at"] is not None
    assert rows[0]["error"] is None

    cancel = stripe_api.update_subscription(sub["id"], cancel_at_period_end=True)
    update = stripe_api.event("customer.subscription.updated", cancel)
    await asyncio.gather(*[deliver(client, update) for _ in range(5)])  # concurrently, too
    body = await view(client, user)
    assert body["plan"] == "pro"
    assert body["cancel_at_period_end"] is True
    assert len(await query(settings, "SELECT 1 FROM billing_subscriptions")) == 1


async def test_an_older_event_never_overwrites_newer_state(
    client: AsyncTestClient[Litestar], subscriber: tuple[TestUser, dict[str, Any]], stripe_api: FakeStripe
) -> None:
    user, sub = subscriber
    now = int(time.time())
    cancelled = stripe_api.update_subscription(sub["id"], status="canceled", cancel_at_period_end=False)
    renewed = dict(sub, cancel_at_period_end=True)
    # Stripe sends "deleted" last, but it arrives first; the older "updated" comes after it.
    assert (
        await deliver(client, stripe_api.event("customer.subscription.deleted", cancelled, created=now + 20))
    ).status_code == 200
    assert (
        await deliver(client, stripe_api.event("customer.subscription.updated", renewed, created=now + 10))
    ).status_code == 200
    assert (
        await deliver(client, stripe_api.event("customer.subscription.created", sub, created=now + 5))
    ).status_code == 200
    body = await view(client, user)
    assert body["plan"] == "free"
    assert body["quota"] == 20


async def test_a_newer_update_applies_after_an_older_one(
    client: AsyncTestClient[Litestar], subscriber: tuple[TestUser, dict[str, Any]], stripe_api: FakeStripe
) -> None:
    user, sub = subscriber
    now = int(time.time())
    older = dict(sub, cancel_at_period_end=True)
    newer = dict(sub, cancel_at_period_end=False)
    await deliver(client, stripe_api.event("customer.subscription.updated", newer, created=now + 30))
    await deliver(client, stripe_api.event("customer.subscription.updated", older, created=now + 15))
    assert (await view(client, user))["cancel_at_period_end"] is False


async def test_a_failed_payment_sets_past_due_and_mails_the_user(
    client: AsyncTestClient[Litestar],
    subscriber: tuple[TestUser, dict[str, Any]],
    stripe_api: FakeStripe,
    smtp_server: SmtpCapture,
) -> None:
    user, sub = subscriber
    failed = stripe_api.invoice(sub["customer"], sub["id"], status="open")
    assert (await deliver(client, stripe_api.event("invoice.payment_failed", failed))).status_code == 200
    past_due = stripe_api.update_subscription(sub["id"], status="past_due")
    later = int(time.time()) + 1
    await deliver(client, stripe_api.event("customer.subscription.updated", past_due, created=later))
    body = await view(client, user)
    assert body["status"] == "past_due"
    assert body["plan"] == "pro"  # Stripe still retries; the plan ends only when Stripe cancels
    mails = [m for m in smtp_server.messages() if m["To"] == user.email and "Payment failed" in m["Subject"]]
    assert len(mails) == 1
    text = mails[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "9.00 EUR" in text
    assert "update your payment method" in text


@pytest.mark.parametrize("case", ["forged", "stale", "missing", "garbled"])
async def test_unsigned_forged_or_stale_events_are_refused(
    client: AsyncTestClient[Litestar],
    subscriber: tuple[TestUser, dict[str, Any]],
    stripe_api: FakeStripe,
    settings: Settings,
    case: str,
) -> None:
    user, sub = subscriber
    payload = stripe_api.event(
        "customer.subscription.deleted", dict(sub, status="canceled"), created=int(time.time()) + 60
    )
    headers = {
        "forged": stripe_api.signed(payload, secret="whsec_attacker"),
        "stale": stripe_api.signed(payload, timestamp=int(time.time()) - 301),
        "missing": {"Content-Type": "application/json"},
        "garbled": {"Stripe-Signature": "t=abc,v1=zz", "Content-Type": "application/json"},
    }[case]
    response = await client.post(WEBHOOK_PATH, content=payload, headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert (await view(client, user))["plan"] == "pro"
    stored = await query(settings, "SELECT 1 FROM stripe_events WHERE event_id = $1", json.loads(payload)["id"])
    assert stored == []


async def test_other_event_types_are_acknowledged_and_ignored(
    client: AsyncTestClient[Litestar], stripe_api: FakeStripe, settings: Settings
) -> None:
    payload = stripe_api.event("customer.created", {"id": "cus_x", "object": "customer"})
    response = await deliver(client, payload)
    assert response.status_code == 200
    assert await query(settings, "SELECT 1 FROM stripe_events") == []


async def test_unknown_customers_and_malformed_events_never_cause_a_5xx(
    client: AsyncTestClient[Litestar], stripe_api: FakeStripe, settings: Settings
) -> None:
    stranger = stripe_api.add_subscription("cus_unknown")
    response = await deliver(client, stripe_api.event("customer.subscription.updated", stranger))
    assert response.status_code == 200
    [row] = await query(settings, "SELECT applied_at, error FROM stripe_events")
    assert row["applied_at"] is not None
    assert "unknown customer" in row["error"]
    assert await query(settings, "SELECT 1 FROM billing_subscriptions") == []

    bad_object = stripe_api.event("customer.subscription.updated", {"id": "sub_x", "items": 7})
    assert (await deliver(client, bad_object)).status_code == 200
    for payload in [b"not json", b"[1, 2]", json.dumps({"id": "evt_1", "type": "invoice.paid"}).encode()]:
        response = await deliver(client, payload)
        assert response.status_code == 400, payload
        assert response.json()["code"] == "malformed_event"


async def test_oversized_bodies_are_refused(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post(WEBHOOK_PATH, content=b"x" * (300 * 1024), headers={"Stripe-Signature": "t=1,v1=0"})
    assert response.status_code == 413


async def test_events_stored_before_a_crash_are_applied_at_the_next_start(
    client: AsyncTestClient[Litestar],
    subscriber: tuple[TestUser, dict[str, Any]],
    stripe_api: FakeStripe,
    settings: Settings,
) -> None:
    user, sub = subscriber
    event = json.loads(stripe_api.event("customer.subscription.updated", dict(sub, cancel_at_period_end=True)))
    # Stored by the endpoint, then the process died before applying it.
    await query(
        settings,
        "INSERT INTO stripe_events (event_id, type, created, object, received_at) "
        "VALUES ($1, $2, $3, $4::jsonb, now())",
        event["id"],
        event["type"],
        event["created"] + 1,
        json.dumps(applied_fields(event["type"], event["data"]["object"])),
    )
    assert (await view(client, user))["cancel_at_period_end"] is False
    async with AsyncTestClient(app=create_app(settings), base_url="http://127.0.0.1:8000") as restarted:
        for _ in range(100):
            rows = await query(settings, "SELECT applied_at FROM stripe_events WHERE event_id = $1", event["id"])
            if rows[0]["applied_at"] is not None:
                break
            await asyncio.sleep(0.05)
        assert (await view(restarted, user))["cancel_at_period_end"] is True
    assert [r.path for r in stripe_api.requests if r.path.startswith("/v1/subscriptions")] == [
        f"/v1/subscriptions/{sub['id']}"  # the one re-fetch of the checkout; the replay itself asked Stripe nothing
    ]


async def test_a_checkout_whose_subscription_stripe_cannot_return_is_retried_later(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, stripe_api: FakeStripe, settings: Settings
) -> None:
    await client.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=signed_in_user.headers)
    customer = next(iter(stripe_api.customers))
    sub = stripe_api.add_subscription(customer)
    stripe_api.fail_with(500)
    payload = stripe_api.event(
        "checkout.session.completed", stripe_api.checkout_session(customer, sub["id"], signed_in_user.id)
    )
    assert (await deliver(client, payload)).status_code == 200  # stored; applying failed
    [row] = await query(settings, "SELECT applied_at, error FROM stripe_events")
    assert row["applied_at"] is None
    assert row["error"]
    stripe_api.fail_with(None)
    assert (await deliver(client, payload)).status_code == 200  # Stripe retries: now it applies
    assert (await view(client, signed_in_user))["plan"] == "pro"


async def test_an_event_that_failed_to_apply_is_retried_without_a_redelivery(
    signed_in_user: TestUser, stripe_api: FakeStripe, settings: Settings, models: Models
) -> None:
    context = build_context(settings, models=models)  # a second server process, as it were, retrying every 0.2 s
    context = dataclasses.replace(context, billing=dataclasses.replace(context.billing, retry_interval=0.2))
    async with AsyncTestClient(app=create_app(context=context)) as client:
        await client.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=signed_in_user.headers)
        customer = next(iter(stripe_api.customers))
        sub = stripe_api.add_subscription(customer)
        stripe_api.fail_with(500)
        payload = stripe_api.event(
            "checkout.session.completed", stripe_api.checkout_session(customer, sub["id"], signed_in_user.id)
        )
        assert (await deliver(client, payload)).status_code == 200  # stored; applying failed
        stripe_api.fail_with(None)  # Stripe is back, and will not send this event again
        for _ in range(50):
            if (await view(client, signed_in_user))["plan"] == "pro":
                break
            await asyncio.sleep(0.1)
        assert (await view(client, signed_in_user))["plan"] == "pro"
