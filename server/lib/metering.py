"""What one request used: the rate limits it counted against and the API key it came with.

A :class:`RequestMeter` lives for one HTTP request in a context variable that :class:`MeteringMiddleware` sets; the
rate limiter adds each limit it counted that clients may see (:func:`report_quota`), authentication names the API key
(:func:`meter_api_key`). The middleware turns the limits into the ``RateLimit-Policy`` and ``RateLimit`` headers of
draft-ietf-httpapi-ratelimit-headers (one list item per limit, e.g. ``"api_key";q=120;w=60``) and hands each finished
request to ``on_finished`` — the API-key usage log.

A context variable rather than request state: the rate limiter and the services know no request, and Litestar's
dependency tasks copy the context, so they all see the one meter object.
"""

from __future__ import annotations

import math
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from litestar.enums import ScopeType

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable

    from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "FinishedRequest",
    "MeteringMiddleware",
    "Quota",
    "RequestMeter",
    "meter_api_key",
    "ratelimit_headers",
    "report_quota",
]


@dataclass(frozen=True, slots=True)
class Quota:
    """One limit as counted for this request: ``limit`` per ``window`` seconds, ``remaining`` until ``reset``."""

    policy: str
    limit: int
    window: int
    remaining: int
    reset: int


@dataclass(slots=True)
class RequestMeter:
    """The limits counted for one request (the last count of each policy) and the API key that made it."""

    quotas: dict[str, Quota] = field(default_factory=dict)
    api_key_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class FinishedRequest:
    """A request after its response: the route's template (never the path or query), status and duration."""

    method: str
    route: str
    status: int
    duration_ms: int


_meter: ContextVar[RequestMeter | None] = ContextVar("request_meter", default=None)


def report_quota(quota: Quota) -> None:
    """Publish ``quota`` in this request's ``RateLimit`` headers (outside a request: nothing to do)."""
    meter = _meter.get()
    if meter is not None:
        meter.quotas[quota.policy] = quota


def meter_api_key(key_id: uuid.UUID) -> None:
    """Record that this request was made with the API key ``key_id`` (for the usage log)."""
    meter = _meter.get()
    if meter is not None:
        meter.api_key_id = key_id


def ratelimit_headers(quotas: list[Quota]) -> list[tuple[bytes, bytes]]:
    """The ``RateLimit-Policy`` and ``RateLimit`` header fields (structured-field lists) for ``quotas``."""
    if not quotas:
        return []
    policy = ", ".join(f'"{q.policy}";q={q.limit};w={q.window}' for q in quotas)
    state = ", ".join(f'"{q.policy}";r={q.remaining};t={q.reset}' for q in quotas)
    return [(b"ratelimit-policy", policy.encode()), (b"ratelimit", state.encode())]


class MeteringMiddleware:
    """Give each HTTP request a meter; add its ``RateLimit`` headers; report it when done to ``on_finished``."""

    def __init__(self, app: ASGIApp, on_finished: Callable[[RequestMeter, FinishedRequest], None]) -> None:
        self.app = app
        self.on_finished = on_finished

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI call; HTTP requests are metered, others pass through."""
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        meter = RequestMeter()
        token = _meter.set(meter)
        status = 500
        started = time.perf_counter()

        async def send_with_limits(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = ratelimit_headers(list(meter.quotas.values()))
                if extra:
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_limits)
        finally:
            _meter.reset(token)
            if meter.api_key_id is not None:
                duration = math.ceil((time.perf_counter() - started) * 1000)
                route = str(scope.get("path_template") or "unmatched")[:200]
                self.on_finished(meter, FinishedRequest(str(scope.get("method", "")), route, status, duration))
