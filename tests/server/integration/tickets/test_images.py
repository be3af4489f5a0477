"""The screenshot pipeline inside the running app.

OCR in the pool never stalls other requests; blobs land under the data dir only for accepted screenshots.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from server.domain.tickets.reading import ScreenshotProcessor
from server.lib.exceptions import ServiceUnavailable
from tests.fixtures.images import DIALOG_ERROR, desktop_screenshot

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.context import Models


@pytest.mark.slow
async def test_health_stays_green_while_ocr_saturates_the_pool(
    client: AsyncTestClient[Litestar], models: Models
) -> None:
    processor = ScreenshotProcessor(workers=1, max_waiting=0, ocr=models.ocr)
    # Warm: the first request opens the pool's connection, which under two saturated cores takes a while by itself.
    assert (await client.get("/health")).status_code == 200
    try:
        job = asyncio.create_task(processor.process(desktop_screenshot()))
        await asyncio.sleep(0.05)
        with pytest.raises(ServiceUnavailable) as caught:
            await processor.process(desktop_screenshot(), index=1)
        assert caught.value.code == "busy"

        latencies = []
        ocr_started = time.perf_counter()
        while not job.done():
            started = time.perf_counter()
            response = await client.get("/health")
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
            await asyncio.sleep(0.05)

        assert DIALOG_ERROR in (await job).ocr_text
        ocr_seconds = time.perf_counter() - ocr_started
        # OCR took seconds and /health answered all along; a blocked loop would hold one request for the whole OCR.
        assert len(latencies) >= 5
        assert max(latencies) < min(1.0, ocr_seconds / 4), (latencies, ocr_seconds)
    finally:
        await processor.close()
