"""The one place the Stripe SDK is called: a :class:`StripeGateway` over a ``stripe.StripeClient`` instance.

Never the module-global ``stripe.api_key``: the client is built from settings by the app factory, and the tests point
its ``api`` base address at a local fake Stripe. SDK errors become two of ours: :class:`StripeUnavailable` (503
``billing_unavailable``: Stripe down, slow, or refusing our request) and :class:`InvalidSignature` (400).
SDK objects are not dicts in SDK 16, so this module hands out plain values (ids, URLs, ``dict`` snapshots).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import stripe
import structlog

from server.lib.exceptions import ClientError, ServiceUnavailable

if TYPE_CHECKING:
    import uuid
    from collections.abc import Awaitable, Mapping

__all__ = ["InvalidSignature", "StripeGateway", "StripeUnavailable"]

logger = structlog.get_logger(__name__)
# Seconds for one request to Stripe; checkout and portal wait on it, so a hung Stripe must fail fast.
REQUEST_TIMEOUT_S = 10.0
# Stripe's own replay window for webhook signatures.
SIGNATURE_TOLERANCE_S = 300


class _HttpxClient(stripe.HTTPXClient):
    """The SDK's async httpx transport, sending the encoded form as ``content``.

    SDK 16 passes the already-encoded body as ``data=``, which httpx deprecates (a warning on every request).
    """

    def _get_request_args_kwargs(self, method: str, url: str, headers: Mapping[str, str], post_data: Any) -> list[Any]:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        kwargs.pop("data", None)
        if post_data:
            kwargs["content"] = post_data
        return [args, kwargs]


class StripeUnavailable(ServiceUnavailable):
    """Stripe could not be reached or refused the request; checkout and portal are down, nothing else is."""

    default_code = "billing_unavailable"
    title = "Billing unavailable"


class InvalidSignature(ClientError):
    """A webhook request without a valid, fresh ``Stripe-Signature``."""

    default_code = "invalid_signature"
    title = "Invalid signature"


class StripeGateway:
    """Customers, prices, Checkout and Portal sessions, subscriptions, and webhook verification."""

    def __init__(self, secret_key: str, *, webhook_secret: str | None = None, api_base: str | None = None) -> None:
        self._http = _HttpxClient(timeout=REQUEST_TIMEOUT_S)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=self._http,
            max_network_retries=1,
        )
        self._webhook_secret = webhook_secret
        self._price_ids: dict[str, str] = {}

    @property
    def accepts_webhooks(self) -> bool:
        """Whether a webhook signing secret is configured (else every event is refused)."""
        return self._webhook_secret is not None

    async def close(self) -> None:
        """Close the HTTP connections (at app shutdown)."""
        await self._http.close_async()  # type: ignore[no-untyped-call]

    async def create_customer(self, user_id: uuid.UUID, email: str, name: str) -> str:
        """Create the user's customer; the idempotency key makes concurrent or repeated calls return the same one."""
        try:
            customer = await self._client.v1.customers.create_async(
                {"email": email, "name": name, "metadata": {"techpal_user_id": str(user_id)}},
                {"idempotency_key": f"techpal-customer-{user_id}"},
            )
        except stripe.StripeError as exc:
            raise _unavailable("create_customer", exc) from None
        return str(customer.id)

    async def price_id(self, lookup_key: str) -> str:
        """The id of the active Price with ``lookup_key``, asked once per process and cached."""
        if cached := self._price_ids.get(lookup_key):
            return cached
        try:
            prices = await self._client.v1.prices.list_async({"lookup_keys": [lookup_key], "active": True, "limit": 1})
        except stripe.StripeError as exc:
            raise _unavailable("list_prices", exc) from None
        if not prices.data:
            logger.error("stripe_price_missing", lookup_key=lookup_key)
            raise StripeUnavailable(f"No active Stripe Price has the lookup key {lookup_key!r}; tell the operator.")
        self._price_ids[lookup_key] = price_id = str(prices.data[0].id)
        return price_id

    async def checkout_url(
        self, *, customer_id: str, price_id: str, user_id: uuid.UUID, success_url: str, cancel_url: str
    ) -> str:
        """A Checkout Session (mode subscription) for one unit of ``price_id``; Stripe hosts the card form."""
        params: Any = {
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": str(user_id),
            "line_items": [{"price": price_id, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "subscription_data": {"metadata": {"techpal_user_id": str(user_id)}},
        }
        try:
            session = await self._client.v1.checkout.sessions.create_async(params)
        except stripe.StripeError as exc:
            raise _unavailable("create_checkout_session", exc) from None
        return str(session.url)

    async def portal_url(self, *, customer_id: str, return_url: str) -> str:
        """A Customer Portal session where the user changes plan, card, or cancels."""
        try:
            session = await self._client.v1.billing_portal.sessions.create_async(
                {"customer": customer_id, "return_url": return_url}
            )
        except stripe.StripeError as exc:
            raise _unavailable("create_portal_session", exc) from None
        return str(session.url)

    async def subscription(self, subscription_id: str) -> dict[str, Any]:
        """The subscription as Stripe has it now, as a plain ``dict`` (the shape webhook payloads carry)."""
        try:
            found = await self._client.v1.subscriptions.retrieve_async(subscription_id)
        except stripe.StripeError as exc:
            raise _unavailable("retrieve_subscription", exc) from None
        return found.to_dict(recursive=True)

    async def cancel_subscription(self, subscription_id: str) -> None:
        """Cancel at once (no further invoice); one Stripe no longer has counts as cancelled."""
        await _gone_is_fine("cancel_subscription", self._client.v1.subscriptions.cancel_async(subscription_id))

    async def delete_customer(self, customer_id: str) -> None:
        """Delete the customer and what Stripe keeps with it (payment methods); an unknown one is gone already."""
        await _gone_is_fine("delete_customer", self._client.v1.customers.delete_async(customer_id))

    def verify_event(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """The event in ``payload`` once its signature is checked (secret, HMAC, 300 s tolerance) by the SDK."""
        if self._webhook_secret is None:
            raise InvalidSignature("This server has no webhook signing secret configured.")
        if not signature:
            raise InvalidSignature("The Stripe-Signature header is missing.")
        try:
            self._client.construct_event(payload, signature, self._webhook_secret, SIGNATURE_TOLERANCE_S)
        except stripe.SignatureVerificationError:
            raise InvalidSignature("The Stripe-Signature does not match or is too old.") from None
        except (ValueError, TypeError, AttributeError, KeyError):  # signed, but not an event object (not JSON, …)
            raise ClientError("The event is not a JSON object.", code="malformed_event") from None
        event = json.loads(payload)
        if not isinstance(event, dict):
            raise ClientError("The event is not a JSON object.", code="malformed_event")
        return event


async def _gone_is_fine(operation: str, request: Awaitable[object]) -> None:
    """Await a request that removes something; 404 (already gone) is success, other failures are ours."""
    try:
        await request
    except stripe.InvalidRequestError as exc:
        if exc.http_status != 404:
            raise _unavailable(operation, exc) from None
    except stripe.StripeError as exc:
        raise _unavailable(operation, exc) from None


def _unavailable(operation: str, exc: stripe.StripeError) -> StripeUnavailable:
    logger.warning("stripe_request_failed", operation=operation, error=type(exc).__name__, status=exc.http_status)
    return StripeUnavailable("Billing is unavailable right now; please try again in a few minutes.")
