"""GET /health: green once the database answers, 503 while it does not."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from litestar.testing import AsyncTestClient

from server.app import create_app
from server.settings import Secret, Settings

if TYPE_CHECKING:
    from pathlib import Path

    from litestar import Litestar


async def test_health_is_green_when_the_database_answers(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["components"]["database"]["state"] == "ok"
    assert response.headers["cache-control"] == "no-store"


async def test_health_is_503_while_the_database_is_down(settings: Settings, tmp_path: Path) -> None:
    # GIVEN a server whose database socket does not exist (the database is down)
    dead = f"postgresql+asyncpg://techpal:pw@/techpal?host={tmp_path / 'no-such-socket-dir'}"
    app = create_app(settings.replace(db=dataclasses.replace(settings.db, url=Secret(dead))))
    async with AsyncTestClient(app=app) as client:
        # WHEN a load balancer asks for health
        response = await client.get("/health")
    # THEN it hears 503 with the failing component, in the normal JSON shape, and no secret
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["components"]["database"] == {"state": "down", "detail": "The database does not answer."}
    assert "pw" not in response.text


async def test_health_is_described_in_the_openapi_document(client: AsyncTestClient[Litestar]) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    assert set(document["paths"]["/health"]["get"]["responses"]) >= {"200", "503"}
