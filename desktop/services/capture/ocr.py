"""Optional local OCR (``rapidocr``), imported only when first used, from a worker thread.

The import pulls in onnxruntime and OpenCV (tens of MB); the idle tray must not pay for it. The engine's name and
version go with the text it read when that text is uploaded with the screenshot.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from desktop.core.geometry import Rect, from_drag
from desktop.core.redaction import OcrLine

__all__ = ["RAPIDOCR_PARAMS", "OcrEngine", "OcrUnavailableError", "Reader", "as_engine", "load_rapidocr"]

logger = logging.getLogger(__name__)


Reader = Callable[[Image.Image], list[OcrLine]]
_UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class OcrEngine:
    """A loaded engine: its name and version, and ``read`` (image → lines in reading order, in its pixels)."""

    name: str
    version: str
    read: Reader


def as_engine(loaded: OcrEngine | Reader) -> OcrEngine:
    """``loaded`` as an engine; a bare reader (a stand-in in tests and scripts) has no name or version to tell."""
    return loaded if isinstance(loaded, OcrEngine) else OcrEngine(_UNKNOWN, _UNKNOWN, loaded)


# Screenshots are upright and their text is crisp: skip the angle classifier, and never upscale for detection
# (rapidocr's default scales the short side up to 736 px: a 520x70 dialog strip took 17 s instead of 0.14 s).
RAPIDOCR_PARAMS = {
    "Global.log_level": "error",
    "Global.use_cls": False,
    "Det.limit_type": "max",
    "Det.limit_side_len": 2000,
}


class OcrUnavailableError(RuntimeError):
    """No OCR engine can be loaded here; the message is for the user."""


def load_rapidocr() -> OcrEngine:
    """Import rapidocr and build an engine (about 2 s). Blocks: call from a worker thread.

    Raises:
        OcrUnavailableError: If rapidocr (an optional extra) is not installed or fails to load.
    """
    try:
        import numpy as np  # noqa: PLC0415 - lazy on purpose, see module docstring
        from rapidocr import RapidOCR  # noqa: PLC0415
    except ImportError as exc:
        raise OcrUnavailableError("Text recognition is not installed.") from exc
    try:
        engine = RapidOCR(params=RAPIDOCR_PARAMS)
    except Exception as exc:  # a broken model file or runtime must not break redaction
        logger.warning("rapidocr failed to load: %r", exc)
        raise OcrUnavailableError("Text recognition could not start.") from exc

    def recognise(image: Image.Image) -> list[OcrLine]:
        result = engine(np.asarray(image.convert("RGB")))
        boxes = getattr(result, "boxes", None)
        texts = getattr(result, "txts", None)
        if boxes is None or texts is None:
            return []
        lines = []
        for quad, text in zip(boxes, texts, strict=False):
            xs = [float(point[0]) for point in quad]
            ys = [float(point[1]) for point in quad]
            box: Rect = from_drag((min(xs), min(ys)), (max(xs), max(ys)))
            lines.append(OcrLine(str(text), box))
        return lines

    return OcrEngine("rapidocr", _version("rapidocr"), recognise)


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:  # imported from a bundle without its metadata
        return _UNKNOWN
