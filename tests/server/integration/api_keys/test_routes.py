"""Which routes take an API key: exactly the table below; every other signed-in route answers 403 to one."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from litestar import Litestar
from litestar.testing import AsyncTestClient

from server.domain.accounts import bearer_required
from server.domain.accounts.api_keys import api_key_scope
from tests.server.integration.api_keys.conftest import key_header

if TYPE_CHECKING:
    from server.app import TechPalApp
    from tests.fixtures.auth import TestUser
    from tests.server.integration.api_keys.conftest import KeyFactory

Client = AsyncTestClient[Litestar]

# The public contract for integrations (docs/api-keys.md): widening it must be a decision, not an accident.
ACCEPTS_KEYS = {
    ("GET", "/api/v1/tickets"): "tickets:read",
    ("GET", "/api/v1/tickets/{ticket_id:uuid}"): "tickets:read",
    ("GET", "/api/v1/tickets/{ticket_id:uuid}/screenshots/{index:int}"): "tickets:read",
    ("POST", "/api/v1/tickets"): "tickets:write",
    ("POST", "/api/v1/tickets/{ticket_id:uuid}/resolve"): "tickets:write",
    ("POST", "/api/v1/tickets/{ticket_id:uuid}/messages"): "tickets:write",
    ("POST", "/api/v1/tickets/{ticket_id:uuid}/feedback"): "tickets:write",
    ("GET", "/api/v1/kb/search"): "kb:read",
    ("GET", "/api/v1/kb/articles/{article_id:uuid}"): "kb:read",
}
_PARAM = re.compile(r"\{(\w+):(\w+)\}")


def _signed_in_routes(app: TechPalApp) -> dict[tuple[str, str], str | None]:
    """Every (method, path) behind ``bearer_required``, with the scope it accepts a key for (``None``: none)."""
    found: dict[tuple[str, str], str | None] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if bearer_required not in handler.resolve_guards():
                continue
            for method in handler.http_methods - {"OPTIONS"}:  # CORS preflights carry no credentials
                found[(method, route.path)] = api_key_scope(handler.opt)
    return found


def _concrete(path: str) -> str:
    return _PARAM.sub(lambda m: "0" if m.group(2) == "int" else str(uuid.uuid4()), path)


async def test_exactly_the_documented_routes_take_api_keys(app: TechPalApp) -> None:
    routes = _signed_in_routes(app)
    assert {route: scope for route, scope in routes.items() if scope is not None} == ACCEPTS_KEYS
    assert len(routes) > 40  # the account, billing, data-rights, staff and console-API routes are all there


async def test_every_other_signed_in_route_wants_a_session(
    client: Client, app: TechPalApp, signed_in_user: TestUser, make_key: KeyFactory
) -> None:
    headers = key_header(await make_key(signed_in_user))  # every scope
    refused = {}
    for (method, path), scope in sorted(_signed_in_routes(app).items()):
        if scope is not None:
            continue
        response = await client.request(method, _concrete(path), headers=headers, json={})
        code = (
            response.json().get("code") if response.headers.get("content-type", "").startswith("application/") else None
        )
        refused[(method, path)] = (response.status_code, code, response.text[:80])
    assert {outcome[:2] for outcome in refused.values()} == {(403, "session_required")}, [
        (route, outcome) for route, outcome in refused.items() if outcome[:2] != (403, "session_required")
    ]
    assert ("GET", "/api/v1/me/api-keys") in refused
    assert ("DELETE", "/api/v1/me") in refused
    assert ("POST", "/api/v1/billing/portal") in refused
    assert ("POST", "/api/v1/me/export") in refused
