"""Text from screenshots, read locally with rapidocr (PP-OCR models in onnxruntime, shipped in the wheel: offline).

Measured on the 2-core box: ~1.5 s for a small dialog, ~2–4 s for a full 1080p desktop; the model loads lazily on
the first screenshot (~1.5 s), once per process. Lines come back in reading order — top to bottom, left to right —
so the text of one dialog stays together for the knowledge-base query.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from PIL import Image
    from rapidocr import RapidOCR

__all__ = ["Ocr", "RapidOcr", "reading_order"]

logger = logging.getLogger(__name__)


class Ocr(Protocol):
    """Reads the text lines of an image (blocking; call it from a worker)."""

    def read(self, image: Image.Image) -> list[str]:
        """The lines of text found, in reading order; ``[]`` when there are none."""
        ...


class _DropEmptyDetection(logging.Filter):
    """rapidocr warns on every image without text; a blank screenshot is not a problem worth a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "detection result is empty" not in record.getMessage()


def _quiet_rapidocr_logging() -> None:
    # rapidocr's logger prints coloured INFO lines to stderr by itself; route it through ours, warnings only.
    rapid = logging.getLogger("RapidOCR")
    for handler in list(rapid.handlers):
        rapid.removeHandler(handler)
    rapid.propagate = True
    rapid.setLevel(logging.WARNING)
    if not any(isinstance(f, _DropEmptyDetection) for f in rapid.filters):
        rapid.addFilter(_DropEmptyDetection())


def reading_order(boxes: Sequence[Any], texts: Sequence[str]) -> list[str]:
    """Sorts detected lines top to bottom, then left to right within a row.

    Boxes are quadrilaterals (four ``(x, y)`` points). Two boxes share a row when the vertical centre of one lies
    inside the other's vertical extent (text of different sizes side by side still lines up).
    """
    items = []
    for box, text in zip(boxes, texts, strict=True):
        points = np.asarray(box, dtype=float).reshape(-1, 2)
        top, bottom = float(points[:, 1].min()), float(points[:, 1].max())
        items.append((top, bottom, float(points[:, 0].min()), text))
    items.sort(key=lambda item: (item[0] + item[1]) / 2)
    rows: list[list[tuple[float, float, float, str]]] = []
    for item in items:
        centre = (item[0] + item[1]) / 2
        if rows:
            row_top = min(i[0] for i in rows[-1])
            row_bottom = max(i[1] for i in rows[-1])
            if row_top <= centre <= row_bottom:
                rows[-1].append(item)
                continue
        rows.append([item])
    return [item[3] for row in rows for item in sorted(row, key=lambda i: i[2])]


class RapidOcr:
    """rapidocr's engine, built once on first use (thread-safe); concurrent :meth:`read` calls share it."""

    def __init__(self) -> None:
        self._engine: RapidOCR | None = None
        self._lock = threading.Lock()

    def _load(self) -> RapidOCR:
        with self._lock:
            if self._engine is None:
                from rapidocr import RapidOCR  # noqa: PLC0415 - ~1 s import; only servers that read screenshots pay

                _quiet_rapidocr_logging()
                self._engine = RapidOCR(params={"Global.log_level": "warning"})
                _quiet_rapidocr_logging()  # the constructor sets the level again
            return self._engine

    def read(self, image: Image.Image) -> list[str]:
        """The text lines of ``image`` in reading order."""
        engine = self._engine or self._load()
        pixels = np.asarray(image.convert("RGB") if image.mode != "RGB" else image)
        result = engine(pixels)
        texts = getattr(result, "txts", None)
        boxes = getattr(result, "boxes", None)
        if not texts or boxes is None:  # blank images give None
            return []
        lines = reading_order(list(boxes), [str(t) for t in texts])
        return [line.strip() for line in lines if line.strip()]
