"""What local OCR read on a screenshot, and the part of it that goes with the upload (the form part ``ocr_<n>``).

The desktop reads every screenshot to suggest redactions; sending the text it read spares the server a second OCR
pass. Redacted text must never leave the machine, so :func:`shareable_text` drops a line whole as soon as its box
shares one pixel with an applied redaction box: OCR boxes are estimates, and half a line would leak what the fill
hides. The rest is shaped to the server's rules for the part: boxes clamped to the image (a line left with no pixel
is dropped), control and other invisible characters replaced, blank lines dropped, texts cut at 1,000 characters,
engine and version at 40, and at most the first 2,000 lines (the engine's order, which is reading order) in at most
512 KiB of JSON.

Boxes are in the pixels of the image as uploaded. The capture flow crops a region before it is read and never scales
the image it encodes, so the engine's boxes already are. Pure Python, no Qt.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from desktop.core.geometry import Rect, clamp
from desktop.core.redaction import OcrLine

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_LINES",
    "MAX_NAME_CHARS",
    "MAX_TEXT_CHARS",
    "MEDIA_TYPE",
    "OcrReading",
    "OcrUpload",
    "part_name",
    "shareable_text",
]

MEDIA_TYPE: Final = "application/json"
MAX_LINES: Final = 2000
MAX_TEXT_CHARS: Final = 1000
MAX_NAME_CHARS: Final = 40
MAX_DOCUMENT_BYTES: Final = 512 * 1024
_UNKNOWN: Final = "unknown"


def part_name(index: int) -> str:
    """The form part of the text of screenshot ``index`` (0-based among the request's screenshots)."""
    return f"ocr_{index}"


@dataclass(frozen=True, slots=True)
class OcrReading:
    """Everything an engine read on one image, redacted parts included: it stays on this machine.

    Attributes:
        engine: The engine's name, e.g. ``"rapidocr"``.
        version: The engine's version, e.g. ``"3.4.0"``.
        lines: The lines in the engine's (reading) order, boxes in the image's pixels.
    """

    engine: str
    version: str
    lines: tuple[OcrLine, ...] = field(repr=False)  # never in a log line


@dataclass(frozen=True, slots=True)
class OcrUpload:
    """The text that goes with one screenshot: only lines no applied box touches. Made by :func:`shareable_text`."""

    engine: str
    version: str
    lines: tuple[OcrLine, ...] = field(repr=False)

    def document(self) -> dict[str, Any]:
        """``{"engine", "version", "lines": [{"text", "box": [x, y, w, h]}]}``, as the part holds it."""
        return {"engine": self.engine, "version": self.version, "lines": [_line(ln.text, ln.box) for ln in self.lines]}

    def to_json(self) -> bytes:
        """The part's body: compact UTF-8 JSON (within :data:`MAX_DOCUMENT_BYTES` when made by ``shareable_text``)."""
        return _encode(self.document())


def shareable_text(reading: OcrReading, redactions: Iterable[Rect], width: int, height: int) -> OcrUpload:
    """The lines of ``reading`` that may leave the machine with a ``width`` x ``height`` image.

    Args:
        reading: What the engine read on the image, before any redaction.
        redactions: The applied (filled) boxes, in the image's pixels.
        width: The uploaded image's width in pixels.
        height: The uploaded image's height in pixels.

    Returns:
        The untouched lines, clamped and cleaned, within the line and size limits (possibly none).
    """
    fills = [box for box in redactions if not box.empty]
    bounds = Rect(0, 0, width, height)
    engine = _clean(reading.engine, MAX_NAME_CHARS) or _UNKNOWN
    version = _clean(reading.version, MAX_NAME_CHARS) or _UNKNOWN
    budget = MAX_DOCUMENT_BYTES - len(_encode({"engine": engine, "version": version, "lines": []}))
    kept: list[OcrLine] = []
    for line in reading.lines:
        if len(kept) == MAX_LINES:
            break
        if any(line.box.overlaps(fill) for fill in fills):
            continue  # under a fill, even in part: the whole line stays here
        box = clamp(line.box, bounds)
        text = _clean(line.text, MAX_TEXT_CHARS)
        if box.empty or not text:
            continue
        cost = len(_encode(_line(text, box))) + (1 if kept else 0)  # a comma before every line but the first
        if cost > budget:
            break  # the first lines in reading order, not a selection from all of them
        budget -= cost
        kept.append(OcrLine(text, box))
    return OcrUpload(engine, version, tuple(kept))


def _line(text: str, box: Rect) -> dict[str, Any]:
    return {"text": text, "box": [box.x, box.y, box.width, box.height]}


def _clean(text: str, limit: int) -> str:
    """``text`` with control, format and unassigned code points as spaces, trimmed, at most ``limit`` characters."""
    visible = "".join(" " if unicodedata.category(char).startswith("C") else char for char in text)
    return visible.strip()[:limit].rstrip()


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
