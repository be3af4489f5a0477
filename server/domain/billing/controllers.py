"""``/api/v1/billing``: plans, the caller's subscription, Checkout, Portal, and the Stripe webhook.

Also the pages Stripe sends the browser back to.
"""

from __future__ import annotations

import html
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import JSONBody, SkipValidation
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.accounts import AUTH_DEPENDENCIES, BEARER, Principal, bearer_required
from server.domain.billing.schemas import CheckoutRequest, PlanOut, Plans, RedirectUrl, Subscription
from server.domain.billing.services import BillingContext, checkout_url, portal_url, standing_and_usage
from server.domain.billing.webhooks import apply_event, receive

__all__ = ["WEBHOOK_BODY_LIMIT", "BillingController", "BillingPagesController", "BillingWebhookController"]

# Stripe events are a few KB; anything near this is not one.
WEBHOOK_BODY_LIMIT = 256 * 1024


class BillingController(Controller):
    """The caller's plan, quota and subscription (signed-in users)."""

    path = "/api/v1/billing"
    tags = ["billing"]
    dependencies = AUTH_DEPENDENCIES
    security = BEARER
    guards = [bearer_required]

    @get("/plans", summary="The plans on offer", request_max_body_size=0)
    async def plans(
        self,
        principal: NamedDependency[SkipValidation[Principal]],
        billing: NamedDependency[SkipValidation[BillingContext]],
    ) -> Plans:
        """Every plan of the catalogue (none sold when billing is off)."""
        config = billing.settings
        return Plans(
            billing_enabled=config.enabled,
            plans=[PlanOut(p.key, p.name, p.price, p.quota, p.paid) for p in config.plans.plans],
        )

    @get("/subscription", summary="The caller's plan and usage", request_max_body_size=0)
    async def subscription(
        self,
        principal: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
        billing: NamedDependency[SkipValidation[BillingContext]],
    ) -> Subscription:
        """Plan, status, period end, pending cancellation, answers used this period and the quota."""
        config = billing.settings
        standing, used = await standing_and_usage(db_engine, config, principal.user.id)
        return Subscription(
            plan=standing.plan.key,
            plan_name=standing.plan.name,
            status=standing.status,
            current_period_end=standing.period_end if standing.subscription_id else None,
            cancel_at_period_end=standing.cancel_at_period_end,
            usage=used,
            quota=standing.plan.quota,
            resets_at=standing.period_end if standing.plan.quota is not None else None,
            billing_enabled=config.enabled,
        )

    @post("/checkout", summary="Start a subscription (Stripe Checkout)", status_code=200)
    async def checkout(
        self,
        principal: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
        billing: NamedDependency[SkipValidation[BillingContext]],
        data: JSONBody[CheckoutRequest],
    ) -> RedirectUrl:
        """The Checkout URL for ``plan``; a user who already subscribes gets the Portal instead."""
        user = principal.user
        url = await checkout_url(
            db_engine, billing, user_id=user.id, email=user.email, name=user.name, plan_key=data.plan
        )
        return RedirectUrl(url=url)

    @post("/portal", summary="Manage the subscription (Stripe Customer Portal)", status_code=200)
    async def portal(
        self,
        principal: NamedDependency[SkipValidation[Principal]],
        db_engine: NamedDependency[AsyncEngine],
        billing: NamedDependency[SkipValidation[BillingContext]],
    ) -> RedirectUrl:
        """The Customer Portal URL: change plan, card, or cancel (at period end)."""
        user = principal.user
        return RedirectUrl(url=await portal_url(db_engine, billing, user_id=user.id, email=user.email, name=user.name))


class BillingWebhookController(Controller):
    """Stripe's calls: no bearer token, the signature is the authentication."""

    path = "/api/v1/billing"
    tags = ["billing"]

    @post(
        "/webhook",
        summary="Stripe webhook endpoint",
        status_code=200,
        request_max_body_size=WEBHOOK_BODY_LIMIT,
        include_in_schema=True,
    )
    async def webhook(
        self,
        request: Request[Any, Any, Any],
        db_engine: NamedDependency[AsyncEngine],
        billing: NamedDependency[SkipValidation[BillingContext]],
    ) -> Response[dict[str, bool]]:
        """Verify and store the event, answer at once, apply it right after the answer."""
        event_id = await receive(db_engine, billing, await request.body(), request.headers.get("stripe-signature"))
        background = BackgroundTask(apply_event, db_engine, billing, event_id) if event_id else None
        return Response({"received": True}, status_code=200, background=background)


def _page(title: str, body: str) -> Response[str]:
    document = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{html.escape(title)} · Tech Pal</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;line-height:1.5}}</style>
</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"""
    return Response(document, media_type=MediaType.HTML, headers={"Cache-Control": "no-store"})


class BillingPagesController(Controller):
    """Where Stripe sends the browser back: plain pages that point the user back to the app."""

    path = "/billing"
    tags = ["pages"]

    @get("/success", summary="Page: subscription started", media_type=MediaType.HTML, request_max_body_size=0)
    async def success(self) -> Response[str]:
        """After a completed Checkout."""
        return _page(
            "Thank you!",
            "<p>Your subscription is being set up. You can close this tab and return to the Tech Pal app; "
            "your new plan shows there within a minute.</p>",
        )

    @get("/cancelled", summary="Page: checkout cancelled", media_type=MediaType.HTML, request_max_body_size=0)
    async def cancelled(self) -> Response[str]:
        """After an abandoned Checkout."""
        return _page(
            "Checkout cancelled",
            "<p>Nothing was charged. You can close this tab and return to the Tech Pal app.</p>",
        )

    @get("/return", summary="Page: back from the billing portal", media_type=MediaType.HTML, request_max_body_size=0)
    async def portal_return(self) -> Response[str]:
        """After the Customer Portal."""
        return _page("All set", "<p>You can close this tab and return to the Tech Pal app.</p>")
