"""View-model of the redaction window: the boxes, local OCR suggestions and the encoded bytes that will be sent.

The boxes live in the Qt-free :class:`~desktop.core.redaction.RedactionSet`. Encoding ("fill the applied boxes
black, then encode") and OCR run on the shared :class:`~desktop.services.capture.workers.ImageEncoder` and
:class:`~desktop.services.capture.workers.SuggestionFinder`; only the answer to the newest request counts. While OCR
runs, Attach waits, so a quick click cannot skip the suggestions. Pixels stay in memory throughout. Attach hands over
the text OCR read too, less every line an applied box touches (:func:`~desktop.core.ocr_text.shareable_text`), so
the server need not read the image again; without an OCR answer (off, failed, or not waited for) there is none.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Final

from PIL import Image
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.core.analytics import EventName
from desktop.core.ocr_text import shareable_text
from desktop.core.redaction import Redaction, RedactionOrigin, RedactionSet, SecretKind

if TYPE_CHECKING:
    from desktop.core.analytics import AnalyticsRecorder
    from desktop.core.geometry import Rect
    from desktop.core.ocr_text import OcrReading
    from desktop.services.capture.encode import EncodedImage
    from desktop.services.capture.workers import ImageEncoder, SuggestionFinder

__all__ = [
    "LOOKING_TEXT",
    "NOTHING_FOUND_TEXT",
    "OCR_OFF_SUFFIX",
    "PREPARING_TEXT",
    "SKIPPED_TEXT",
    "RedactionPresenter",
    "masked_label",
]

LOOKING_TEXT: Final = "Looking for emails, IP addresses, keys and passwords… (Attach waits for this)"
SKIPPED_TEXT: Final = "Stopped looking. Draw boxes over anything private."
NOTHING_FOUND_TEXT: Final = (
    "No emails, IP addresses, keys or passwords found. Draw boxes over anything else that is private."
)
OCR_OFF_SUFFIX: Final = "Suggestions are off: draw boxes over anything private."
PREPARING_TEXT: Final = "Preparing…"
REENCODE_DELAY_MS: Final = 120


def _mask(text: str) -> str:
    """Enough of a secret to recognise it in the list, not enough to read it over a shoulder."""
    return text[:3] + "…" if len(text) > 4 else "…"  # a short secret is hidden entirely


def masked_label(item: Redaction) -> str:
    """The list row of a box: its label (a suggestion's text masked) and its size."""
    text = item.label if item.origin is RedactionOrigin.USER else f"{item.label}: {_mask(item.text)}"
    return f"{text} ({item.box.width} × {item.box.height})"


class RedactionPresenter(QObject):
    """One screenshot being redacted. Create it, bind a view, then call :meth:`start`.

    Args:
        image: The unredacted screenshot (physical pixels); it stays in memory only.
        encoder: Redacts and encodes off the GUI thread; shared, not owned.
        finder: Local OCR suggestions; ``None`` when OCR is switched off. Shared, not owned.
        parent: Owning QObject.
        analytics: Records how many boxes an attached screenshot went out with (the count only).

    Signals:
        box_added(object): A new :class:`Redaction` (drawn or suggested).
        box_removed(int): The id of a removed box.
        box_enabled_changed(int, bool): A box was ticked or unticked.
        ocr_text_changed(str): The line about suggestions.
        looking_changed(bool): OCR started or ended (Attach waits while it runs).
        size_text_changed(str): What will be sent ("Preparing…" while encoding).
        result_changed(): The encoding of the current boxes arrived, or went stale.
        can_attach_changed(bool): Whether Attach is possible now.
        accepted(bytes, str, object): The encoded redacted image, its media type, and the text to send with it
            (:class:`~desktop.core.ocr_text.OcrUpload`, or ``None`` without an OCR answer).
        cancelled(): The user gave up.
    """

    box_added = Signal(object)
    box_removed = Signal(int)
    box_enabled_changed = Signal(int, bool)
    ocr_text_changed = Signal(str)
    looking_changed = Signal(bool)
    size_text_changed = Signal(str)
    result_changed = Signal()
    can_attach_changed = Signal(bool)
    accepted = Signal(bytes, str, object)
    cancelled = Signal()

    def __init__(
        self,
        image: Image.Image,
        encoder: ImageEncoder,
        finder: SuggestionFinder | None = None,
        parent: QObject | None = None,
        *,
        analytics: AnalyticsRecorder | None = None,
    ) -> None:
        super().__init__(parent)
        self._image = image.convert("RGB") if image.mode != "RGB" else image
        self._encoder = encoder
        self._finder = finder
        self._analytics = analytics
        self._boxes = RedactionSet(self._image.width, self._image.height)
        self._latest_request = 0
        self._latest_ocr_request = 0
        self._looking = False
        self._reading: OcrReading | None = None  # all the text OCR read, redacted parts included: never emitted
        self._result: EncodedImage | None = None
        self._finished = False
        self._connected = True  # to the shared workers; dropped when finished
        self._reencode_timer = QTimer(self)
        self._reencode_timer.setSingleShot(True)
        self._reencode_timer.setInterval(REENCODE_DELAY_MS)
        self._reencode_timer.timeout.connect(self._request_encoding)
        encoder.encoded.connect(self._on_encoded)
        encoder.failed.connect(self._on_encode_failed)
        if finder is not None:
            finder.found.connect(self._on_suggestions)
            finder.unavailable.connect(self._on_ocr_unavailable)

    # ------------------------------------------------------------------------------------------------ state

    @property
    def image(self) -> Image.Image:
        """The unredacted screenshot (RGB)."""
        return self._image

    @property
    def boxes(self) -> RedactionSet:
        """The boxes drawn and suggested so far."""
        return self._boxes

    @property
    def encoder(self) -> ImageEncoder:
        """The shared encoder."""
        return self._encoder

    @property
    def result(self) -> EncodedImage | None:
        """The encoding of the current boxes, once ready."""
        return self._result

    @property
    def looking(self) -> bool:
        """OCR is running."""
        return self._looking

    @property
    def can_attach(self) -> bool:
        """The current boxes are encoded, OCR is not running, and the window is still open."""
        return self._result is not None and not self._looking and not self._finished

    def preview(self) -> Image.Image | None:
        """The decoded upload (exactly what will be sent), once encoded."""
        if self._result is None:
            return None
        with Image.open(io.BytesIO(self._result.data)) as decoded:
            return decoded.convert("RGB")

    # ------------------------------------------------------------------------------------------------ actions

    def start(self) -> None:
        """Start OCR (lazily loaded in its worker) and the first encoding."""
        if self._finder is not None:
            self.ocr_text_changed.emit(LOOKING_TEXT)
            self._latest_ocr_request = self._finder.find(self._image)
            self._set_looking(True)
        else:
            self.ocr_text_changed.emit(f"Text recognition is off. {OCR_OFF_SUFFIX}")
        self._request_encoding()

    @Slot(object)
    def add_box(self, box: Rect) -> None:
        """A box the user drew, in image pixels."""
        item = self._boxes.add(box)
        if item is not None:
            self.box_added.emit(item)
            self._boxes_changed()

    @Slot(int)
    def act_on_box(self, redaction_id: int) -> None:
        """Right-click on a box: a drawn one goes, a suggestion is ticked or unticked."""
        item = self._boxes.get(redaction_id)
        if item is None:
            return
        if item.origin is RedactionOrigin.USER:
            self.remove(redaction_id)
        else:
            self.set_enabled(redaction_id, not item.enabled)

    @Slot(int, bool)
    def set_enabled(self, redaction_id: int, enabled: bool) -> None:
        """Apply or skip one box."""
        item = self._boxes.get(redaction_id)
        if item is None or item.enabled == enabled:
            return
        self._boxes.set_enabled(redaction_id, enabled)
        self.box_enabled_changed.emit(redaction_id, enabled)
        self._boxes_changed()

    @Slot(int)
    def remove(self, redaction_id: int) -> None:
        """Delete one box."""
        if self._boxes.remove(redaction_id):
            self.box_removed.emit(redaction_id)
            self._boxes_changed()

    @Slot()
    def stop_looking(self) -> None:
        """The "Don't wait" button: Attach stops waiting for OCR, and a late answer is ignored."""
        self._latest_ocr_request = 0
        self._set_looking(False)
        self.ocr_text_changed.emit(SKIPPED_TEXT)

    @Slot()
    def accept(self) -> None:
        """Attach: emits ``accepted`` with the current encoding (when Attach is possible)."""
        if not self.can_attach:
            return
        assert self._result is not None
        self._finish()
        boxes = len(self._boxes.applied_boxes())  # the boxes filled in the bytes sent: drawn and ticked suggestions
        if boxes and self._analytics is not None:
            self._analytics.record(EventName.BOXES_REDACTED, boxes)
        result, reading = self._result, self._reading
        ocr = None
        if reading is not None:  # the boxes filled in these bytes; the image is uploaded at its own size
            ocr = shareable_text(reading, self._boxes.applied_boxes(), result.width, result.height)
        self.accepted.emit(result.data, result.media_type, ocr)

    @Slot()
    def cancel(self) -> None:
        """The window closed: cancels unless already accepted; results still in flight are ignored."""
        if not self._finished:
            self._finish()
            self.cancelled.emit()
        self._disconnect_workers()

    # ------------------------------------------------------------------------------------------------ workers

    @Slot()
    def _request_encoding(self) -> None:
        self._set_result(None)
        self._latest_request = self._encoder.request(self._image, self._boxes.applied_boxes())

    @Slot(int, object)
    def _on_encoded(self, request_id: int, result: EncodedImage) -> None:
        if request_id != self._latest_request or self._finished:
            return
        self._result = result
        self.size_text_changed.emit(f"Will send {result.size_text} ({result.width} × {result.height} WebP)")
        self.result_changed.emit()
        self.can_attach_changed.emit(self.can_attach)

    @Slot(int, str)
    def _on_encode_failed(self, request_id: int, message: str) -> None:
        if request_id == self._latest_request and not self._finished:
            self.size_text_changed.emit(message)

    @Slot(int, list, object)
    def _on_suggestions(
        self, request_id: int, suggestions: list[tuple[Rect, SecretKind, str]], reading: OcrReading
    ) -> None:
        if request_id != self._latest_ocr_request or self._finished:
            return
        self._reading = reading
        self._set_looking(False)
        added = self._boxes.add_suggestions(suggestions)
        for item in added:
            self.box_added.emit(item)
        if added:
            self.ocr_text_changed.emit(
                f"Hid {len(added)} thing{'s' if len(added) != 1 else ''} that look private. "
                "Untick one in the list to send it after all."
            )
            self._boxes_changed()
        else:
            self.ocr_text_changed.emit(NOTHING_FOUND_TEXT)

    @Slot(int, str)
    def _on_ocr_unavailable(self, request_id: int, message: str) -> None:
        if request_id == self._latest_ocr_request and not self._finished:
            self._set_looking(False)
            self.ocr_text_changed.emit(f"{message} {OCR_OFF_SUFFIX}")

    # ------------------------------------------------------------------------------------------------ helpers

    def _finish(self) -> None:
        self._finished = True
        self._reencode_timer.stop()
        self.can_attach_changed.emit(False)

    def _disconnect_workers(self) -> None:
        if not self._connected:
            return
        self._connected = False
        self._encoder.encoded.disconnect(self._on_encoded)
        self._encoder.failed.disconnect(self._on_encode_failed)
        if self._finder is not None:
            self._finder.found.disconnect(self._on_suggestions)
            self._finder.unavailable.disconnect(self._on_ocr_unavailable)
        self._finder = None

    def _set_looking(self, looking: bool) -> None:
        self._looking = looking
        self.looking_changed.emit(looking)
        self.can_attach_changed.emit(self.can_attach)

    def _set_result(self, result: EncodedImage | None) -> None:
        self._result = result
        self.size_text_changed.emit(PREPARING_TEXT)
        self.result_changed.emit()
        self.can_attach_changed.emit(self.can_attach)

    def _boxes_changed(self) -> None:
        self._latest_request = 0  # an encoding still in flight shows the old boxes: ignore it
        self._set_result(None)
        self._reencode_timer.start()
