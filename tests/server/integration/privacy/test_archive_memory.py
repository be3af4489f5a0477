"""The export streams: a user with many large screenshots costs about one screenshot of memory, not all of them."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
import uuid
import zipfile
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import create_async_engine

from server.domain.privacy.archive import write_archive
from tests.fixtures.db import query
from tests.fixtures.tickets import create_ticket

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.app import TechPalApp
    from server.settings import Settings
    from tests.fixtures.auth import TestUser

SCREENSHOTS = 24
SCREENSHOT_BYTES = 3 * 1024 * 1024  # random bytes: nothing compresses, 72 MiB in all


async def test_a_large_export_is_written_with_bounded_memory(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings, app: TechPalApp
) -> None:
    ticket = (await create_ticket(client, signed_in_user)).json()
    storage = app.context.storage
    for position in range(SCREENSHOTS):
        data = os.urandom(SCREENSHOT_BYTES)
        key = await storage.put(data, media_type="image/png")
        assert key == hashlib.sha256(data).hexdigest()
        await query(
            settings,
            "INSERT INTO ticket_screenshots (id, ticket_id, position, blob_key, media_type, width, height, "
            "size_bytes, model_blob_key, model_media_type, created_at, updated_at) VALUES (gen_random_uuid(), "
            "$1::uuid, $2, $3, 'image/png', 1920, 1080, $4, $3, 'image/png', now(), now())",
            ticket["id"],
            position,
            key,
            SCREENSHOT_BYTES,
        )
    assert settings.db.url is not None
    engine = create_async_engine(settings.db.url.get_secret_value())
    target = settings.data_dir / "big.zip"
    tracemalloc.start()
    try:
        size = await write_archive(engine, storage, uuid.UUID(signed_in_user.id), target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await engine.dispose()

    assert size > SCREENSHOTS * SCREENSHOT_BYTES
    with zipfile.ZipFile(target) as archive:
        shots = [n for n in archive.namelist() if "/screenshots/" in n]
    assert len(shots) == SCREENSHOTS
    assert peak < 4 * SCREENSHOT_BYTES, f"peak {peak / 2**20:.1f} MiB for {size / 2**20:.0f} MiB written"
