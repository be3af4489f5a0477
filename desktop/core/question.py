"""A question as the user composed it, before it becomes a ticket.

The same value goes to the API client when online and to the offline queue when not, so both send exactly what
the user saw in the preview. Screenshots here are always the *redacted, encoded* bytes: the unredacted pixels
stay in the capture layer's memory and never reach this module, the network or the disk. Likewise the text read on
a screenshot arrives here only as :class:`~desktop.core.ocr_text.OcrUpload`, the lines no redaction box touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from desktop.core.ocr_text import OcrUpload

__all__ = ["ALLOWED_MEDIA_TYPES", "MAX_SCREENSHOTS", "Attachment", "Question"]

ALLOWED_MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})
MAX_SCREENSHOTS = 5


@dataclass(frozen=True, slots=True)
class Attachment:
    """One redacted, encoded screenshot: ``Attachment("screen-1.webp", b"RIFF…", "image/webp")``.

    ``ocr`` is the text read on it outside every redaction box (sent as its ``ocr_<n>`` part), or ``None`` when
    nothing was read here (the server then reads the image itself).
    """

    filename: str
    data: bytes = field(repr=False)
    media_type: str
    ocr: OcrUpload | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.media_type not in ALLOWED_MEDIA_TYPES:
            raise ValueError(f"screenshots must be PNG, JPEG or WebP, not {self.media_type!r}")
        if not self.filename or "/" in self.filename or "\\" in self.filename:
            raise ValueError(f"not a plain file name: {self.filename!r}")


@dataclass(frozen=True, slots=True)
class Question:
    """What ``POST /api/v1/tickets`` sends.

    Attributes:
        description: The user's words (required, non-blank).
        attachments: 0–5 redacted screenshots.
        priority: ``low`` | ``normal`` | ``high`` | ``urgent``, or ``None`` to let the server triage.
        category: One of the server's categories, or ``None`` to let the server triage.
        device: Device details (OS, version, CPU, RAM, free disk, network), only when the user shares them.
    """

    description: str
    attachments: tuple[Attachment, ...] = ()
    priority: str | None = None
    category: str | None = None
    device: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.description.strip():
            raise ValueError("a question needs a description")
        if len(self.attachments) > MAX_SCREENSHOTS:
            raise ValueError(f"at most {MAX_SCREENSHOTS} screenshots per question")
