"""Reading screenshots after their ticket is stored: the ``tickets.read_screenshot`` job and those who wait for it.

A ticket create checks each upload without decoding it (:func:`~server.domain.tickets.images.inspect_screenshot`),
stores it as uploaded and enqueues one job per screenshot in the same transaction, so the user has the 201 in
milliseconds. The job (:class:`ScreenshotReading`) decodes the upload, stores the sanitised image and the model's
copy in its place, reads the text unless the desktop sent what it read, and marks the row processed; the upload's
own file goes once no row names it. Until then the screenshot is served to nobody (its file may carry metadata):
readers wait a few seconds (:func:`wait_until_read`) and an answer streams ``progress`` while it waits.

The job is idempotent: a second run of a processed row does nothing, so a worker killed mid-way costs one more
run. An upload that cannot be decoded after all, or whose job failed for good, is dropped from the ticket (row and
file) rather than kept half-read.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from typing import TYPE_CHECKING, Final

import structlog
from sqlalchemy import delete, func, select, update

from server.db.models import TicketScreenshot
from server.db.transactions import autocommit_connection, session_of_its_own
from server.domain.tickets.images import ImageRejected, inspect_screenshot, process_screenshot
from server.domain.tickets.queries import SCREENSHOTS, delete_unreferenced_blobs, lock_blobs
from server.lib.clock import utcnow
from server.lib.jobs import JobSpec
from server.lib.workers import BoundedExecutor

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from server.domain.tickets.client_ocr import ClientOcr
    from server.domain.tickets.images import ProcessedImage, Upload
    from server.domain.tickets.ocr import Ocr
    from server.domain.tickets.storage import BlobStorage

__all__ = ["READ_SCREENSHOT", "ScreenshotProcessor", "ScreenshotReading", "wait_until_read"]

logger = structlog.get_logger(__name__)

READ_SCREENSHOT: Final = "tickets.read_screenshot"


class ScreenshotProcessor:
    """Checks uploads and runs :func:`process_screenshot` off the event loop, in a bounded pool of threads.

    Threads, not processes: onnxruntime and Pillow release the GIL while they work. Measured on the 2-core box, an
    ``asyncio.sleep(0.01)`` loop woke at most 14 ms apart while a 1080p OCR ran in a thread (36 ms with two OCRs
    saturating both cores), and a thread shares the one loaded OCR model (~1.5 s and ~100 MB per process to load)
    and needs no pickling of multi-megabyte uploads.

    When ``workers`` jobs run and ``max_waiting`` more wait, or a job has waited ``wait_timeout`` seconds, the caller
    gets a 503 ``busy`` with ``Retry-After`` (a queued job is then retried later).
    """

    def __init__(self, *, ocr: Ocr | None, workers: int = 2, max_waiting: int = 8, wait_timeout: float = 30.0) -> None:
        self._pool = BoundedExecutor(
            workers=workers,
            max_waiting=max_waiting,
            wait_timeout=wait_timeout,
            name="screenshots",
            busy_message="The server is busy reading other screenshots; please try again in a moment.",
        )
        self.ocr = ocr

    async def inspect(self, raw: bytes, *, index: int = 0, client_ocr: ClientOcr | None = None) -> Upload:
        """The upload's cheap checks (header and tail bytes), in a thread; raises :class:`ImageRejected`."""
        return await asyncio.to_thread(inspect_screenshot, raw, index=index, client_ocr=client_ocr)

    async def process(self, raw: bytes, *, index: int = 0, read_text: bool = True) -> ProcessedImage:
        """Decode, sanitise, shrink and (``read_text``) read one upload in the pool."""
        return await self._pool.run(process_screenshot, raw, index=index, ocr=self.ocr if read_text else None)

    async def close(self) -> None:
        """Waits for running jobs, refuses new ones."""
        await self._pool.close()


class ScreenshotReading:
    """The job that turns a stored upload into the screenshot we keep, its model copy and its text."""

    def __init__(self, engine: AsyncEngine, storage: BlobStorage, processor: ScreenshotProcessor) -> None:
        self._engine = engine
        self._storage = storage
        self._processor = processor

    @property
    def spec(self) -> JobSpec:
        """The job as the queue knows it."""
        return JobSpec(READ_SCREENSHOT, self.read, gave_up=self.drop)

    async def read(self, screenshot_id: str) -> None:
        """Process screenshot ``screenshot_id`` unless that is done (or it is gone)."""
        shot_id = uuid.UUID(screenshot_id)
        async with session_of_its_own(self._engine) as db:
            shot = await db.scalar(
                select(TicketScreenshot).where(TicketScreenshot.id == shot_id, TicketScreenshot.processed_at.is_(None))
            )
        if shot is None:
            return
        raw = await self._storage.get(shot.blob_key)
        try:
            image = await self._processor.process(raw, index=shot.position, read_text=shot.ocr_text is None)
        except ImageRejected as rejected:
            logger.warning("screenshot_unreadable", screenshot_id=screenshot_id, code=rejected.code)
            await self.drop(screenshot_id)
            return
        await self._store(shot, image)

    async def _store(self, shot: TicketScreenshot, image: ProcessedImage) -> None:
        written: list[str] = []
        try:
            async with session_of_its_own(self._engine) as db:
                await lock_blobs(db, {image.sha256, hashlib.sha256(image.model_copy).hexdigest(), shot.blob_key})
                data_key = await self._storage.put(image.data, media_type=image.media_type)
                written.append(data_key)
                model_key = await self._storage.put(image.model_copy, media_type=image.model_media_type)
                written.append(model_key)
                stored = await db.execute(
                    update(SCREENSHOTS)
                    .where(SCREENSHOTS.c.id == shot.id, SCREENSHOTS.c.processed_at.is_(None))
                    .values(
                        blob_key=data_key,
                        media_type=image.media_type,
                        width=image.width,
                        height=image.height,
                        size_bytes=len(image.data),
                        model_blob_key=model_key,
                        model_media_type=image.model_media_type,
                        ocr_text=func.coalesce(SCREENSHOTS.c.ocr_text, image.ocr_text),
                        processed_at=utcnow(),
                    )
                )
                if stored.rowcount == 1:  # type: ignore[attr-defined]
                    written = []  # named by the row now
        finally:
            # The upload's file (unless another row still names it), and ours if the row went meanwhile.
            await asyncio.shield(delete_unreferenced_blobs(self._engine, self._storage, [shot.blob_key, *written]))

    async def drop(self, screenshot_id: str) -> None:
        """Remove an unprocessed screenshot from its ticket, and its file unless another row names it."""
        async with session_of_its_own(self._engine) as db:
            key = await db.scalar(
                delete(TicketScreenshot)
                .where(TicketScreenshot.id == uuid.UUID(screenshot_id), TicketScreenshot.processed_at.is_(None))
                .returning(TicketScreenshot.blob_key)
            )
        if key is not None:
            logger.warning("screenshot_dropped", screenshot_id=screenshot_id)
            await delete_unreferenced_blobs(self._engine, self._storage, [key])


async def wait_until_read(engine: AsyncEngine, ticket_id: uuid.UUID, *, within: float) -> bool:
    """Wait until no screenshot of ticket ``ticket_id`` waits for its job; whether that happened ``within`` seconds.

    Polls the database (every 50 ms, slowing to 500 ms): the job may run in any process.
    """
    pending = (
        select(func.count())
        .select_from(SCREENSHOTS)
        .where(SCREENSHOTS.c.ticket_id == ticket_id, SCREENSHOTS.c.processed_at.is_(None))
    )
    deadline = time.monotonic() + within
    pause = 0.05
    while True:
        async with autocommit_connection(engine) as conn:
            if not await conn.scalar(pending):
                return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 1.5, 0.5)
