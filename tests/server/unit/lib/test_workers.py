"""The bounded pool: refuses work beyond its queue with 503 busy, times out waits, never blocks the event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING

import pytest

from server.domain.tickets.images import ImageRejected, ProcessedImage
from server.domain.tickets.reading import ScreenshotProcessor
from server.lib.exceptions import ServiceUnavailable
from server.lib.workers import BoundedExecutor
from tests.fixtures.images import DIALOG_ERROR, decompression_bomb_png, desktop_screenshot, png_bytes

if TYPE_CHECKING:
    from server.context import Models


async def _until(condition: object) -> None:
    assert callable(condition)
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def test_runs_the_callable_in_a_thread_and_returns_its_result() -> None:
    pool = BoundedExecutor(workers=2)
    try:
        name = await pool.run(lambda: threading.current_thread().name)
        assert name != threading.current_thread().name
        assert await pool.run(divmod, 7, 2) == (3, 1)
        with pytest.raises(ZeroDivisionError):
            await pool.run(divmod, 1, 0)
    finally:
        await pool.close()


async def test_refuses_beyond_workers_plus_queue_with_busy_and_retry_after() -> None:
    pool = BoundedExecutor(workers=1, max_waiting=1, wait_timeout=10)
    release = threading.Event()
    try:
        running = asyncio.create_task(pool.run(release.wait, 5))
        waiting = asyncio.create_task(pool.run(lambda: "second"))
        await _until(lambda: pool.running == 1 and pool.waiting == 1)

        with pytest.raises(ServiceUnavailable) as caught:
            await pool.run(lambda: "third")

        assert caught.value.code == "busy"
        assert caught.value.status_code == 503
        assert int(caught.value.headers["Retry-After"]) >= 1
        release.set()
        assert await running is True
        assert await waiting == "second"
        assert (pool.running, pool.waiting) == (0, 0)
        assert await pool.run(lambda: "room again") == "room again"
    finally:
        release.set()
        await pool.close()


async def test_a_wait_longer_than_the_timeout_is_refused() -> None:
    pool = BoundedExecutor(workers=1, max_waiting=4, wait_timeout=0.2)
    release = threading.Event()
    try:
        running = asyncio.create_task(pool.run(release.wait, 5))
        await _until(lambda: pool.running == 1)
        started = time.monotonic()

        with pytest.raises(ServiceUnavailable) as caught:
            await pool.run(lambda: "too late")

        assert caught.value.code == "busy"
        assert 0.15 < time.monotonic() - started < 2
        assert pool.waiting == 0
        release.set()
        await running
    finally:
        release.set()
        await pool.close()


async def test_a_cancelled_caller_keeps_its_worker_until_the_thread_ends() -> None:
    pool = BoundedExecutor(workers=1, max_waiting=0, wait_timeout=10)
    release = threading.Event()
    try:
        task = asyncio.create_task(pool.run(release.wait, 5))
        await _until(lambda: pool.running == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        # The thread still works, so the pool is still full.
        with pytest.raises(ServiceUnavailable):
            await pool.run(lambda: "no room")

        release.set()
        await _until(lambda: pool.running == 0)
        assert await pool.run(lambda: "room") == "room"
    finally:
        release.set()
        await pool.close()


async def test_a_closed_pool_refuses_work() -> None:
    pool = BoundedExecutor(workers=1)
    await pool.close()

    with pytest.raises(ServiceUnavailable) as caught:
        await pool.run(lambda: None)

    assert caught.value.code == "service_unavailable"


def test_nonsense_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="workers"):
        BoundedExecutor(workers=0)


async def test_rejections_happen_before_taking_a_worker() -> None:
    processor = ScreenshotProcessor(workers=1, max_waiting=0, ocr=None)
    try:
        with pytest.raises(ImageRejected) as caught:
            await processor.process(decompression_bomb_png(), index=1)
        assert caught.value.code == "image_too_many_pixels"
        processed = await processor.process(png_bytes(), index=0)
        assert isinstance(processed, ProcessedImage)
        assert processed.ocr_text == ""
    finally:
        await processor.close()


@pytest.mark.slow
async def test_a_full_pool_answers_busy_while_the_event_loop_keeps_ticking(models: Models) -> None:
    processor = ScreenshotProcessor(workers=1, max_waiting=0, wait_timeout=30, ocr=models.ocr)
    gaps: list[float] = []
    ocr_running = True

    async def ticker() -> None:
        last = time.perf_counter()
        while ocr_running:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    try:
        ticks = asyncio.create_task(ticker())
        first = asyncio.create_task(processor.process(desktop_screenshot(), index=0))
        await asyncio.sleep(0.05)  # the first job has taken the only worker

        with pytest.raises(ServiceUnavailable) as caught:
            await processor.process(png_bytes(), index=1)
        assert caught.value.code == "busy"
        assert "Retry-After" in caught.value.headers
        assert "busy" in caught.value.detail

        started = time.perf_counter()
        processed = await first
        ocr_running = False
        await ticks
        assert DIALOG_ERROR in processed.ocr_text
        # OCR took seconds; the loop ticked all along (100/s when idle). A blocked loop would show one gap as long
        # as the whole OCR; on a loaded 2-core box the loop thread still waits its turn, hence the relative bound.
        ocr_seconds = time.perf_counter() - started
        assert ocr_seconds > 0.5
        assert len(gaps) > 30
        assert max(gaps) < min(1.0, ocr_seconds / 4), (max(gaps), ocr_seconds)
    finally:
        ocr_running = False
        await processor.close()
