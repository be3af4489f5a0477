"""The embedded default imports the seed in the background after start; /health stays green and shows progress."""

from __future__ import annotations

import asyncio
import lzma
from typing import TYPE_CHECKING

import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.domain.knowledge import services
from server.domain.knowledge.seed import SEED_CORPUS
from tests.fixtures.db import connect

if TYPE_CHECKING:
    from pathlib import Path

    from server.context import Models
    from server.settings import Settings


@pytest.fixture
def small_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    with lzma.open(SEED_CORPUS, "rt", encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(40)]
    path = tmp_path / "seed.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    monkeypatch.setattr(services, "SEED_CORPUS", path)
    return path


async def wait_until_ready(client: AsyncTestClient, total: int) -> list[dict[str, object]]:  # type: ignore[type-arg]
    seen = []
    for _ in range(1200):
        response = await client.get("/health")
        assert response.status_code == 200  # green all along
        seen.append(response.json()["kb"])
        if seen[-1] == {"state": "ready", "done": total, "total": total}:
            break
        await asyncio.sleep(0.05)
    return seen


async def test_first_start_imports_the_seed_in_the_background(
    settings: Settings, db_url: str, small_seed: Path, models: Models
) -> None:
    async with AsyncTestClient(app=create_app(settings.replace(kb_seed=True), models=models)) as client:
        seen = await wait_until_ready(client, 40)
    assert seen[-1] == {"state": "ready", "done": 40, "total": 40}

    connection = await connect(db_url)
    try:
        assert await connection.fetchval("SELECT count(*) FROM kb_articles WHERE origin = 'seed'") == 40
        assert await connection.fetchval("SELECT seed_digest FROM kb_meta") is not None
    finally:
        await connection.close()

    # A second start finds the seed imported and does nothing.
    async with AsyncTestClient(app=create_app(settings.replace(kb_seed=True), models=models)) as client:
        await asyncio.sleep(0.3)
        assert (await client.get("/health")).json()["kb"]["done"] == 0
