"""Background jobs of the capture flow: redact + encode, and OCR suggestions.

Each runs on a private one-thread :class:`~desktop.services.workers.WorkerPool` and reports through signals of a
QObject that lives in the GUI thread, so Qt queues the delivery. Connect those signals to slots of QObjects, never to
lambdas: a lambda has no thread affinity, so Qt would run it in the worker thread (ADR 3).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from desktop.core.ocr_text import OcrReading
from desktop.core.redaction import apply_redactions, suggest_redactions
from desktop.services.capture.encode import encode_screenshot
from desktop.services.capture.ocr import OcrEngine, OcrUnavailableError, Reader, as_engine, load_rapidocr
from desktop.services.workers import WorkerPool

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from PIL import Image

    from desktop.core.geometry import Rect

__all__ = ["ImageEncoder", "SuggestionFinder"]

logger = logging.getLogger(__name__)

_SHUTDOWN_WAIT_MS = 30_000


class ImageEncoder(QObject):
    """Redacts and encodes screenshots off the GUI thread; only the newest request matters.

    Signals:
        encoded(int, EncodedImage): The request id and the bytes of the redacted image.
        failed(int, str): The request id and a message for the user.
    """

    encoded = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, parent: QObject | None = None) -> None:
        """Create an encoder with its own one-thread pool (results arrive in request order)."""
        super().__init__(parent)
        self._pool = WorkerPool(max_threads=1, parent=self)
        self._next_id = 0

    def request(self, image: Image.Image, boxes: Sequence[Rect]) -> int:
        """Queue "fill ``boxes`` black, then encode"; drops queued, not yet started requests. Returns its id."""
        self._next_id += 1
        request_id = self._next_id
        boxes = list(boxes)
        self._pool.clear()

        def work() -> None:
            try:
                result = encode_screenshot(apply_redactions(image, boxes))
            except Exception as exc:  # Pillow errors must reach the user as words, not kill the thread
                logger.exception("encoding the screenshot failed")
                self.failed.emit(request_id, f"The screenshot could not be prepared: {exc}")
                return
            self.encoded.emit(request_id, result)

        self._pool.start(work)
        return request_id

    def shutdown(self) -> None:
        """Drop queued requests and wait for a running one."""
        self._pool.wait(_SHUTDOWN_WAIT_MS)


class SuggestionFinder(QObject):
    """Finds secret-looking text with local OCR, loading the engine on first use in the worker thread.

    Keep one for the app's lifetime: the engine (about 2 s to load) is then loaded once, on first use.

    Signals:
        found(int, list, object): The request id, ``(Rect, SecretKind, str)`` suggestions for its image, and the
            :class:`~desktop.core.ocr_text.OcrReading` they came from (all the text, for the upload to filter).
        unavailable(int, str): The request id; OCR cannot run here, and the message says so in words.
    """

    found = Signal(int, list, object)
    unavailable = Signal(int, str)

    def __init__(
        self, load_engine: Callable[[], OcrEngine | Reader] = load_rapidocr, parent: QObject | None = None
    ) -> None:
        """Create a finder; ``load_engine`` is called once, in the worker thread, on the first :meth:`find`."""
        super().__init__(parent)
        self._load_engine = load_engine
        self._engine: OcrEngine | None = None
        self._pool = WorkerPool(max_threads=1, parent=self)
        self._next_id = 0

    def find(self, image: Image.Image) -> int:
        """Start looking; returns the request id its answer (``found`` or ``unavailable``) will carry."""
        self._next_id += 1
        request_id = self._next_id

        def work() -> None:
            try:
                if self._engine is None:
                    self._engine = as_engine(self._load_engine())
                engine = self._engine
                reading = OcrReading(engine.name, engine.version, tuple(engine.read(image)))
            except OcrUnavailableError as exc:
                self.unavailable.emit(request_id, str(exc))
                return
            except Exception as exc:  # OCR is a convenience: any failure leaves manual boxes working
                logger.exception("text recognition failed")
                self.unavailable.emit(request_id, f"Text recognition failed: {exc}")
                return
            self.found.emit(request_id, suggest_redactions(reading.lines), reading)

        self._pool.start(work)
        return request_id

    def shutdown(self) -> None:
        """Drop queued work and wait for a running recognition (up to ~30 s on a slow machine)."""
        self._pool.wait(_SHUTDOWN_WAIT_MS)
