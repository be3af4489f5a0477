"""API-key tests: make keys through the real API as a signed-in user."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixtures.auth import auth_header

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser

KEYS = "/api/v1/me/api-keys"
ALL_SCOPES = ["tickets:read", "tickets:write", "kb:read"]

KeyFactory = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def make_key(client: AsyncTestClient[Litestar]) -> KeyFactory:
    """Make keys through the API; each call returns the 201 body, ``key`` included.

    Call it with the user, and optionally ``scopes``, ``name`` and ``expires_at``.
    """

    async def make(user: TestUser, *, scopes: list[str] = ALL_SCOPES, name: str = "CI sync", **extra: Any) -> Any:
        response = await client.post(KEYS, json={"name": name, "scopes": scopes, **extra}, headers=user.headers)
        assert response.status_code == 201, response.text
        return response.json()

    return make


def key_header(created: dict[str, Any]) -> dict[str, str]:
    """``Authorization`` for a key as :func:`make_key` returned it."""
    return auth_header(created["key"])
