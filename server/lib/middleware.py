"""Pure ASGI middleware run on every request, errors included: request ids, access log, security headers."""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING, Any

import structlog
from litestar.enums import ScopeType

from server.lib.network import is_trusted, resolve_client_ip

if TYPE_CHECKING:
    from collections.abc import Sequence

    from litestar.types import ASGIApp, Message, Receive, Scope, Send

    from server.settings import ProxyNetwork

__all__ = ["API_CSP", "PAGE_CSP", "RequestContextMiddleware", "SecurityHeadersMiddleware"]

logger = structlog.get_logger("server.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# Our own HTML pages (API docs, verification pages): scripts and styles from this origin only.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)


def _header(scope: Scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", []) if key == name]


class RequestContextMiddleware:
    """Give each request an id and a client address, bind them to every log line, log one access line."""

    def __init__(self, app: ASGIApp, trusted_proxies: Sequence[ProxyNetwork] = ()) -> None:
        self.app = app
        self.trusted_proxies = tuple(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI call: an HTTP request gets its id, client address and access line; others pass through."""
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming[0] if incoming and _REQUEST_ID.match(incoming[0]) else uuid.uuid4().hex
        peer = scope.get("client")
        client_ip = resolve_client_ip(
            peer[0] if peer else None, _header(scope, b"x-forwarded-for"), self.trusted_proxies
        )
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_ip"] = client_ip
        if (
            peer
            and _header(scope, b"x-forwarded-proto")[-1:] == ["https"]
            and is_trusted(peer[0], self.trusted_proxies)
        ):
            scope["scheme"] = "https"  # TLS ended at our trusted proxy: the client's connection is HTTPS
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                # The path only: query strings can carry tokens (verification and reset links).
                logger.info(
                    "request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                    client_ip=client_ip,
                )


class SecurityHeadersMiddleware:
    """Add the security headers every response carries; HTML pages get the page CSP, the rest a closed one."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI call, adding the missing security headers to an HTTP response; others pass through."""
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Read now, not at the start: the request-context middleware inside may have found the request came
                # over TLS through a trusted proxy (X-Forwarded-Proto).
                https = self.hsts or scope.get("scheme") == "https"
                headers = list(message.get("headers", []))
                names = {key.lower() for key, _ in headers}
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                csp = PAGE_CSP if content_type.startswith(b"text/html") else API_CSP
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                    (b"content-security-policy", csp.encode()),
                ]
                if https:
                    extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                if str(scope.get("path", "")).startswith("/api/"):
                    # API answers carry tokens and personal data: no cache (browser, proxy) may keep them.
                    extra.append((b"cache-control", b"no-store"))
                headers.extend((k, v) for k, v in extra if k not in names)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
