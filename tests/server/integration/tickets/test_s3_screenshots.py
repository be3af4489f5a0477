"""With ``TECHPAL_BLOB_URL=s3://…`` the whole screenshot path runs on the bucket: store, serve, export, retention."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import pytest

from server.domain.privacy import run_retention
from tests.fixtures.images import png_bytes
from tests.fixtures.tickets import create_ticket
from tests.server.integration.privacy.conftest import lifecycle_on_this_loop

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.app import TechPalApp
    from server.settings import Settings
    from tests.fixtures.auth import TestUser
    from tests.fixtures.s3 import S3Bucket


@pytest.fixture
def settings(settings: Settings, s3_bucket: S3Bucket) -> Settings:
    """The usual test settings, storing blobs in the test's bucket."""
    return settings.replace(blob_url=s3_bucket.url, s3_endpoint_url=s3_bucket.endpoint)


async def test_a_screenshot_is_stored_in_the_bucket_and_served_from_it(
    client: AsyncTestClient[Litestar], settings: Settings, s3_bucket: S3Bucket, signed_in_user: TestUser
) -> None:
    shot = png_bytes(2000, 1250)  # over 1568 px: the model gets a smaller copy
    ticket = (await create_ticket(client, signed_in_user, screenshots=[shot])).json()

    served = await client.get(ticket["screenshots"][0]["url"], headers=signed_in_user.headers)
    assert served.status_code == 200
    assert served.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(s3_bucket.object_keys()) == 2  # the screenshot and the model's copy
    assert all(key.startswith("screenshots/") for key in s3_bucket.object_keys())
    assert not (settings.data_dir / "blobs").exists()  # nothing on the server's disk


async def test_retention_removes_objects_no_ticket_names(
    client: AsyncTestClient[Litestar], app: TechPalApp, s3_bucket: S3Bucket, signed_in_user: TestUser
) -> None:
    await create_ticket(client, signed_in_user, screenshots=[png_bytes(2000, 1250)])
    orphan = await app.context.storage.put(b"left by an upload that failed", media_type="application/octet-stream")
    assert len(s3_bucket.object_keys()) == 3

    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2)  # past the grace for uploads
    async with lifecycle_on_this_loop(app) as life:
        results = await run_retention(life, later)

    [removed] = [r.removed for r in results if r.rule == "screenshot files no ticket refers to"]
    assert removed == 1
    assert len(s3_bucket.object_keys()) == 2
    assert not any(key.endswith(orphan) for key in s3_bucket.object_keys())
