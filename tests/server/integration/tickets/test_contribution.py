"""``PATCH /api/v1/me {kb_contribution}``: the opt-out that feedback consults before a fix joins the knowledge base."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tests.fixtures.db import connect

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from tests.fixtures.auth import TestUser


async def test_contribution_defaults_on_and_can_be_turned_off(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, db_url: str
) -> None:
    assert (await client.get("/api/v1/me", headers=signed_in_user.headers)).json()["kb_contribution"] is True

    response = await client.patch("/api/v1/me", json={"kb_contribution": False}, headers=signed_in_user.headers)

    assert response.status_code == 200, response.text
    assert response.json()["kb_contribution"] is False
    assert (await client.get("/api/v1/me", headers=signed_in_user.headers)).json()["kb_contribution"] is False
    connection = await connect(db_url)
    try:
        stored = await connection.fetchval(
            "SELECT kb_contribution FROM users WHERE id = $1", uuid.UUID(signed_in_user.id)
        )
    finally:
        await connection.close()
    assert stored is False
    # Changing something else leaves the choice alone.
    await client.patch("/api/v1/me", json={"name": "Renamed"}, headers=signed_in_user.headers)
    assert (await client.get("/api/v1/me", headers=signed_in_user.headers)).json()["kb_contribution"] is False


async def test_contribution_must_be_a_boolean(client: AsyncTestClient[Litestar], signed_in_user: TestUser) -> None:
    response = await client.patch("/api/v1/me", json={"kb_contribution": "no"}, headers=signed_in_user.headers)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
