"""Plans, the caller's subscription, Checkout and Portal against the fake Stripe, as a signed-in user sees them."""

from __future__ import annotations

import asyncio
import datetime
from typing import TYPE_CHECKING

from litestar.testing import AsyncTestClient

from server.app import create_app
from tests.fixtures.db import connect
from tests.fixtures.stripe_api import FakeStripe, deliver, subscribe

if TYPE_CHECKING:
    from litestar import Litestar

    from server.settings import Settings
    from tests.fixtures.auth import TestUser, UserFactory


async def test_plans_come_from_the_catalogue(client: AsyncTestClient[Litestar], signed_in_user: TestUser) -> None:
    response = await client.get("/api/v1/billing/plans", headers=signed_in_user.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["billing_enabled"] is True
    assert [(p["key"], p["quota"], p["paid"]) for p in body["plans"]] == [("free", 20, False), ("pro", 500, True)]


async def test_billing_needs_sign_in(client: AsyncTestClient[Litestar]) -> None:
    for method, path in [("GET", "/plans"), ("GET", "/subscription"), ("POST", "/checkout"), ("POST", "/portal")]:
        response = await client.request(method, f"/api/v1/billing{path}", json={"plan": "pro"})
        assert response.status_code == 401, path


async def test_a_new_user_is_on_the_free_plan_for_the_calendar_month(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, stripe_api: FakeStripe
) -> None:
    response = await client.get("/api/v1/billing/subscription", headers=signed_in_user.headers)
    assert response.status_code == 200
    body = response.json()
    now = datetime.datetime.now(datetime.UTC)
    next_month = datetime.datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=datetime.UTC)
    assert body["plan"] == "free"
    assert body["quota"] == 20
    assert body["usage"] == 0
    assert body["current_period_end"] is None
    assert datetime.datetime.fromisoformat(body["resets_at"]) == next_month
    assert stripe_api.requests == []  # looking costs no Stripe call


async def test_checkout_then_webhook_makes_the_plan_active(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, stripe_api: FakeStripe
) -> None:
    response = await client.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=signed_in_user.headers)
    assert response.status_code == 200, response.text
    assert response.json()["url"].startswith("https://checkout.stripe.com/c/pay/cs_")
    session = next(r for r in stripe_api.requests if r.path == "/v1/checkout/sessions")
    assert session.form["mode"] == "subscription"
    assert session.form["line_items[0][price]"] == stripe_api.state.prices["techpal_pro_monthly"]["id"]
    assert session.form["success_url"].endswith("/billing/success")
    assert session.form["client_reference_id"] == signed_in_user.id
    # Stripe redirects the browser to our pages, which send the user back to the app.
    page = await client.get("/billing/success")
    assert page.status_code == 200
    assert "return to the Tech Pal app" in page.text

    created = stripe_api.add_subscription(session.form["customer"])
    completed = stripe_api.checkout_session(session.form["customer"], created["id"], signed_in_user.id)
    assert (await deliver(client, stripe_api.event("checkout.session.completed", completed))).status_code == 200

    body = (await client.get("/api/v1/billing/subscription", headers=signed_in_user.headers)).json()
    period_end = created["items"]["data"][0]["current_period_end"]
    assert body["plan"] == "pro"
    assert body["status"] == "active"
    assert body["quota"] == 500
    assert body["cancel_at_period_end"] is False
    assert datetime.datetime.fromisoformat(body["current_period_end"]).timestamp() == period_end


async def test_two_concurrent_checkouts_make_one_customer(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, stripe_api: FakeStripe, settings: Settings
) -> None:
    responses = await asyncio.gather(
        *[
            client.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=signed_in_user.headers)
            for _ in range(2)
        ]
    )
    assert [r.status_code for r in responses] == [200, 200]
    assert len(stripe_api.customers) == 1
    keys = {r.headers.get("idempotency-key") for r in stripe_api.requests if r.path == "/v1/customers"}
    assert len(keys) == 1
    assert None not in keys
    assert settings.db.url is not None
    connection = await connect(settings.db.url.get_secret_value())
    try:
        rows = await connection.fetch("SELECT stripe_customer_id FROM billing_customers")
    finally:
        await connection.close()
    assert [r["stripe_customer_id"] for r in rows] == list(stripe_api.customers)
    # Prices are looked up once and cached.
    await client.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=signed_in_user.headers)
    assert len([r for r in stripe_api.requests if r.path == "/v1/prices"]) <= 2


async def test_a_subscriber_is_sent_to_the_portal_not_a_second_subscription(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, stripe_api: FakeStripe
) -> None:
    await subscribe(client, stripe_api, signed_in_user)
    sessions_before = len([r for r in stripe_api.requests if r.path == "/v1/checkout/sessions"])
    response = await client.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=signed_in_user.headers)
    assert response.status_code == 200
    assert response.json()["url"].startswith("https://billing.stripe.com/p/session/")
    assert len([r for r in stripe_api.requests if r.path == "/v1/checkout/sessions"]) == sessions_before


async def test_portal_returns_a_portal_session_of_the_users_own_customer(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, stripe_api: FakeStripe
) -> None:
    response = await client.post("/api/v1/billing/portal", headers=signed_in_user.headers)
    assert response.status_code == 200, response.text
    assert response.json()["url"].startswith("https://billing.stripe.com/p/session/")
    portal = next(r for r in stripe_api.requests if r.path == "/v1/billing_portal/sessions")
    customer = stripe_api.customers[portal.form["customer"]]
    assert customer["metadata"]["techpal_user_id"] == signed_in_user.id
    assert portal.form["return_url"].endswith("/billing/return")


async def test_unknown_or_free_plan_cannot_be_bought(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, stripe_api: FakeStripe
) -> None:
    for plan in ["gold", "free"]:
        response = await client.post("/api/v1/billing/checkout", json={"plan": plan}, headers=signed_in_user.headers)
        assert response.status_code == 422
        assert response.json()["code"] == "unknown_plan"
    response = await client.post("/api/v1/billing/checkout", json={}, headers=signed_in_user.headers)
    assert response.status_code in {400, 422}
    assert stripe_api.requests == []


async def test_a_stripe_outage_only_affects_checkout_and_portal(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, stripe_api: FakeStripe
) -> None:
    user = await user_factory()
    stripe_api.fail_with(500)
    for path, body in [("/checkout", {"plan": "pro"}), ("/portal", None)]:
        response = await client.post(f"/api/v1/billing{path}", json=body, headers=user.headers)
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "billing_unavailable"
    assert (await client.get("/health")).status_code == 200
    login = {"login": user.email, "password": user.password, "device_name": "tests"}
    assert (await client.post("/api/v1/auth/login", json=login)).status_code == 200
    assert (await client.get("/api/v1/billing/subscription", headers=user.headers)).json()["plan"] == "free"
    stripe_api.fail_with(None)
    response = await client.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=user.headers)
    assert response.status_code == 200  # back once Stripe is


async def test_an_unreachable_stripe_answers_503_and_start_up_makes_no_call(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings
) -> None:
    unreachable = settings.replace(
        billing=type(settings.billing)(
            secret_key=settings.billing.secret_key,
            webhook_secret=settings.billing.webhook_secret,
            api_base="http://127.0.0.1:9",  # discard port: connection refused
        )
    )
    async with AsyncTestClient(app=create_app(unreachable), base_url="http://127.0.0.1:8000") as other:
        assert (await other.get("/health")).status_code == 200
        response = await other.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=signed_in_user.headers)
        assert response.status_code == 503
        assert response.json()["code"] == "billing_unavailable"


async def test_another_users_billing_is_never_visible(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, stripe_api: FakeStripe
) -> None:
    alice, bob = await user_factory(), await user_factory()
    alice_sub = await subscribe(client, stripe_api, alice)
    bob_view = (await client.get("/api/v1/billing/subscription", headers=bob.headers)).json()
    assert bob_view["plan"] == "free"
    assert bob_view["quota"] == 20
    assert (await client.get("/api/v1/billing/subscription", headers=alice.headers)).json()["plan"] == "pro"

    response = await client.post("/api/v1/billing/portal", headers=bob.headers)
    assert response.status_code == 200
    bob_portal = [r for r in stripe_api.requests if r.path == "/v1/billing_portal/sessions"][-1]
    assert bob_portal.form["customer"] != alice_sub["customer"]
    assert stripe_api.customers[bob_portal.form["customer"]]["metadata"]["techpal_user_id"] == bob.id
    # Bob's checkout is a real checkout (Alice's subscription does not make him a subscriber).
    response = await client.post("/api/v1/billing/checkout", json={"plan": "pro"}, headers=bob.headers)
    assert response.json()["url"].startswith("https://checkout.stripe.com/")
