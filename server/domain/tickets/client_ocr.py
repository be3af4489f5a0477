"""What the desktop's OCR read on a screenshot, sent with it: used instead of reading the image on the server.

The desktop reads each screenshot to suggest redactions; it sends the lines no redaction box touches as a form part
``ocr_<n>`` (``n``: the screenshot's 0-based index) holding ``{"engine", "version", "lines": [{"text", "box": [x, y,
w, h]}]}``. The form checks the document's shape (:func:`parse_client_ocr`); the image's worker checks that every box
lies inside the decoded image (:func:`client_ocr_text`), and a screenshot that came with lines is not read again
(about 3 s of CPU for a 1080p desktop). The text is the user's as much as the description is: it goes where the
server's own OCR text would, marked untrusted for the model like it.
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

from server.domain.tickets.ocr import reading_order
from server.lib.exceptions import FieldError, ValidationFailed
from server.lib.schema import RequestBody

__all__ = [
    "CLIENT_OCR_PART",
    "MAX_CLIENT_OCR_BYTES",
    "MAX_CLIENT_OCR_LINES",
    "ClientOcr",
    "client_ocr_index",
    "client_ocr_text",
    "invalid_ocr",
    "parse_client_ocr",
]

CLIENT_OCR_PART = re.compile(r"ocr_(\d)")
MAX_CLIENT_OCR_LINES = 2000
MAX_CLIENT_OCR_BYTES = 512 * 1024

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Coordinate = Annotated[int, msgspec.Meta(ge=0, le=100_000)]


class ClientOcrLine(RequestBody, frozen=True):
    """One line of text and its box, ``[x, y, width, height]`` in the uploaded image's pixels."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    box: Annotated[list[Coordinate], msgspec.Meta(min_length=4, max_length=4)]


class ClientOcr(RequestBody, frozen=True):
    """The lines the desktop's OCR engine read on one screenshot, none of them under a redaction box."""

    engine: Name
    version: Name
    lines: Annotated[list[ClientOcrLine], msgspec.Meta(max_length=MAX_CLIENT_OCR_LINES)]


def invalid_ocr(index: int, message: str) -> ValidationFailed:
    """422 ``invalid_ocr`` naming the part."""
    field = f"ocr_{index}"
    return ValidationFailed(f"{field}: {message}", code="invalid_ocr", errors=[FieldError(field, message)])


def client_ocr_index(part_name: str) -> int | None:
    """The screenshot index an ``ocr_<n>`` part belongs to, or ``None`` for another part."""
    match = CLIENT_OCR_PART.fullmatch(part_name)
    return int(match.group(1)) if match else None


def parse_client_ocr(raw: bytes, index: int) -> ClientOcr:
    """The document of part ``ocr_<index>``; 422 ``invalid_ocr`` when it is not one."""
    try:
        return msgspec.json.decode(raw, type=ClientOcr)
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:  # ValueError: control characters
        raise invalid_ocr(index, str(exc)) from None


def client_ocr_text(ocr: ClientOcr, width: int, height: int, index: int) -> str:
    """The lines as OCR text in reading order, once every box is checked against the ``width`` × ``height`` image."""
    quads = []
    for number, line in enumerate(ocr.lines):
        x, y, w, h = line.box
        if w < 1 or h < 1 or x + w > width or y + h > height:
            raise invalid_ocr(index, f"line {number}: the box {line.box} is not inside the {width}×{height} image")
        quads.append([(x, y), (x + w, y), (x + w, y + h), (x, y + h)])
    texts = [" ".join(line.text.split()) for line in ocr.lines]
    return "\n".join(text for text in reading_order(quads, texts) if text)
