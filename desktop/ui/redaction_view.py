"""Redaction before upload: draw solid boxes over private parts, review OCR suggestions, preview the exact bytes.

The canvas shows the screenshot with every applied box filled black, as it will be sent; suggestions found by local
OCR start applied and can be unticked. "Show exactly what will be sent" swaps in the decoded upload bytes. Pixels
stay in memory throughout.
"""

from __future__ import annotations

import io

from PIL import Image
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.core.geometry import Rect, from_drag
from desktop.core.redaction import Redaction, RedactionOrigin, RedactionSet, SecretKind
from desktop.services.capture.encode import EncodedImage
from desktop.services.capture.qimage import to_qimage
from desktop.services.capture.workers import ImageEncoder, SuggestionFinder

__all__ = ["RedactionCanvas", "RedactionView"]

LOOKING_TEXT = "Looking for emails, IP addresses, keys and passwords… (Attach waits for this)"
SKIPPED_TEXT = "Stopped looking. Draw boxes over anything private."
NOTHING_FOUND_TEXT = "No emails, IP addresses, keys or passwords found. Draw boxes over anything else that is private."
OCR_OFF_SUFFIX = "Suggestions are off: draw boxes over anything private."
PREPARING_TEXT = "Preparing…"
HINT_TEXT = "Drag over anything private to black it out. Right-click a box to remove it."
_REENCODE_DELAY_MS = 120
_ID_ROLE = Qt.ItemDataRole.UserRole
_USER_OUTLINE = QColor(239, 68, 68)
_SUGGESTED_OUTLINE = QColor(245, 158, 11)
_SELECTED_OUTLINE = QColor(56, 189, 248)


def _mask(text: str) -> str:
    """Enough of a secret to recognise it in the list, not enough to read it over a shoulder."""
    return text[:3] + "…" if len(text) > 4 else "…"  # a short secret is hidden entirely


class RedactionCanvas(QWidget):
    """The screenshot scaled to fit (never enlarged), with the boxes on it; a drag draws a new box.

    Signals:
        box_drawn(Rect): A new box, in image pixels.
        box_context(int): The user right-clicked the box with this id.
    """

    box_drawn = Signal(object)
    box_context = Signal(int)

    def __init__(self, image: QImage, boxes: RedactionSet, parent: QWidget | None = None) -> None:
        """Show ``image`` (physical pixels) and the boxes of ``boxes``."""
        super().__init__(parent)
        self._image = image
        self._boxes = boxes
        self._preview: QImage | None = None
        self._selected_id: int | None = None
        self._start: QPointF | None = None
        self._end: QPointF | None = None
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 200)

    def sizeHint(self) -> QSize:
        """The image's own size, up to a comfortable window."""
        return QSize(min(self._image.width(), 1280), min(self._image.height(), 800))

    def set_preview(self, preview: QImage | None) -> None:
        """Show ``preview`` (the decoded upload) with no outlines, or go back to editing with ``None``."""
        self._preview = preview
        self.update()

    def set_selected(self, redaction_id: int | None) -> None:
        """Highlight one box."""
        self._selected_id = redaction_id
        self.update()

    # ------------------------------------------------------------------------------------------ coordinates

    def scale(self) -> float:
        """Widget pixels per image pixel (at most 1)."""
        return min(1.0, self.width() / self._image.width(), self.height() / self._image.height())

    def _origin(self) -> QPointF:
        # Whole pixels, so that at scale 1 each image pixel sits exactly on one widget pixel.
        s = self.scale()
        return QPointF(
            (self.width() - round(self._image.width() * s)) // 2, (self.height() - round(self._image.height() * s)) // 2
        )

    def to_widget(self, x: float, y: float) -> QPointF:
        """Image pixel → widget position."""
        origin, s = self._origin(), self.scale()
        return QPointF(origin.x() + x * s, origin.y() + y * s)

    def to_image(self, point: QPointF) -> tuple[float, float]:
        """Widget position → image pixel coordinates (not clamped)."""
        origin, s = self._origin(), self.scale()
        return (point.x() - origin.x()) / s, (point.y() - origin.y()) / s

    def _widget_rect(self, box: Rect) -> QRectF:
        top_left = self.to_widget(box.x, box.y)
        s = self.scale()
        return QRectF(top_left.x(), top_left.y(), box.width * s, box.height * s)

    # ----------------------------------------------------------------------------------------------- events

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Left: start a box. Right: act on the box under the pointer."""
        if event.button() == Qt.MouseButton.LeftButton and self._preview is None:
            self._start = self._end = event.position()
            self.update()
        elif event.button() == Qt.MouseButton.RightButton:
            hit = self._boxes.topmost_at(*self.to_image(event.position()))
            if hit is not None:
                self.box_context.emit(hit.id)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Stretch the box being drawn."""
        if self._start is not None:
            self._end = event.position()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """Finish the box; it covers every image pixel the drag touched."""
        if event.button() != Qt.MouseButton.LeftButton or self._start is None:
            return
        box = from_drag(self.to_image(self._start), self.to_image(event.position()))
        self._start = self._end = None
        self.update()
        if not box.empty:
            self.box_drawn.emit(box)

    def paintEvent(self, _event: QPaintEvent) -> None:
        """The image (or the preview), black boxes, and outlines telling user boxes from suggestions."""
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            target = self._widget_rect(Rect(0, 0, self._image.width(), self._image.height()))
            if self._preview is not None:
                painter.drawImage(target, self._preview)
                return
            painter.drawImage(target, self._image)
            for item in self._boxes:
                self._paint_box(painter, item)
            if self._start is not None and self._end is not None:
                pen = QPen(_USER_OUTLINE, 1, Qt.PenStyle.DashLine)
                painter.setPen(pen)
                painter.setBrush(QColor(0, 0, 0, 160))
                painter.drawRect(QRectF(self._start, self._end).normalized())
        finally:
            painter.end()

    def _paint_box(self, painter: QPainter, item: Redaction) -> None:
        rect = self._widget_rect(item.box)
        if item.enabled:
            painter.fillRect(rect, Qt.GlobalColor.black)
        if item.id == self._selected_id:
            color = _SELECTED_OUTLINE
        else:
            color = _USER_OUTLINE if item.origin is RedactionOrigin.USER else _SUGGESTED_OUTLINE
        pen = QPen(color, 2, Qt.PenStyle.SolidLine if item.enabled else Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect)


class RedactionView(QWidget):
    """Window to black out private parts of a screenshot before it is attached.

    Signals:
        accepted(bytes, str): The encoded redacted image and its media type; the window closes.
        cancelled(): The user cancelled or closed the window.
    """

    accepted = Signal(bytes, str)
    cancelled = Signal()

    def __init__(
        self,
        image: Image.Image,
        encoder: ImageEncoder,
        finder: SuggestionFinder | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """Build the window (hidden until :meth:`present`).

        Args:
            image: The unredacted screenshot (physical pixels); it stays in memory only.
            encoder: Redacts and encodes off the GUI thread; shared, not owned.
            finder: Local OCR suggestions; ``None`` when OCR is switched off. Shared, not owned.
            parent: Owning widget (normally none).
        """
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Tech Pal: hide private information")
        self._image = image.convert("RGB") if image.mode != "RGB" else image
        self._encoder = encoder
        self._finder = finder
        self._boxes = RedactionSet(self._image.width, self._image.height)
        self._latest_request = 0
        self._latest_ocr_request = 0
        self._looking = False  # OCR running: Attach waits, so suggestions cannot be skipped by a quick click
        self._result: EncodedImage | None = None
        self._finished = False
        self._connected = True  # to the shared workers; dropped on close

        self.canvas = RedactionCanvas(to_qimage(self._image), self._boxes)
        self.hint_label = QLabel(HINT_TEXT)
        self.ocr_label = QLabel()
        self.ocr_label.setWordWrap(True)
        self.box_list = QListWidget()
        self.box_list.setMinimumWidth(220)
        self.remove_button = QPushButton("Remove box")
        self.preview_check = QCheckBox("Show exactly what will be sent")
        self.size_label = QLabel(PREPARING_TEXT)
        self.cancel_button = QPushButton("Cancel")
        self.send_button = QPushButton("Attach")
        self.send_button.setDefault(True)
        self.send_button.setEnabled(False)
        self.skip_button = QPushButton("Don't wait")
        self.skip_button.setVisible(False)

        self._lay_out()

        self._reencode_timer = QTimer(self)
        self._reencode_timer.setSingleShot(True)
        self._reencode_timer.setInterval(_REENCODE_DELAY_MS)
        self._reencode_timer.timeout.connect(self._request_encoding)
        self._connect_signals()

    def _lay_out(self) -> None:
        side = QVBoxLayout()
        side.addWidget(QLabel("Hidden areas"))
        side.addWidget(self.box_list, 1)
        side.addWidget(self.remove_button)
        side.addWidget(self.ocr_label)
        side.addWidget(self.skip_button)
        middle = QHBoxLayout()
        middle.addWidget(self.canvas, 1)
        middle.addLayout(side)
        bottom = QHBoxLayout()
        bottom.addWidget(self.preview_check)
        bottom.addWidget(self.size_label, 1)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.hint_label)
        layout.addLayout(middle, 1)
        layout.addLayout(bottom)

    def _connect_signals(self) -> None:
        self.canvas.box_drawn.connect(self._on_box_drawn)
        self.canvas.box_context.connect(self._on_box_context)
        self.box_list.itemChanged.connect(self._on_item_changed)
        self.box_list.currentItemChanged.connect(self._on_current_item_changed)
        self.remove_button.clicked.connect(self._remove_current)
        self.preview_check.toggled.connect(self._on_preview_toggled)
        self.cancel_button.clicked.connect(self.close)
        self.send_button.clicked.connect(self._accept)
        self.skip_button.clicked.connect(self._stop_looking)
        self._encoder.encoded.connect(self._on_encoded)
        self._encoder.failed.connect(self._on_encode_failed)
        if self._finder is not None:
            self._finder.found.connect(self._on_suggestions)
            self._finder.unavailable.connect(self._on_ocr_unavailable)

    # ------------------------------------------------------------------------------------------------ API

    @property
    def boxes(self) -> RedactionSet:
        """The boxes drawn and suggested so far."""
        return self._boxes

    @property
    def result(self) -> EncodedImage | None:
        """The encoding of the current boxes, once ready."""
        return self._result

    def present(self) -> None:
        """Show the window, start OCR (lazily loaded in its worker) and the first encoding."""
        self.show()
        self.activateWindow()
        if self._finder is not None:
            self.ocr_label.setText(LOOKING_TEXT)
            self._latest_ocr_request = self._finder.find(self._image)
            self._set_looking(True)
        else:
            self.ocr_label.setText(f"Text recognition is off. {OCR_OFF_SUFFIX}")
        self._request_encoding()

    # ------------------------------------------------------------------------------------------------ slots

    @Slot(object)
    def _on_box_drawn(self, box: Rect) -> None:
        item = self._boxes.add(box)
        if item is not None:
            self._add_list_item(item)
            self._boxes_changed()

    @Slot(int)
    def _on_box_context(self, redaction_id: int) -> None:
        item = self._boxes.get(redaction_id)
        if item is None:
            return
        if item.origin is RedactionOrigin.USER:
            self._remove(redaction_id)
        else:
            self._set_enabled(redaction_id, not item.enabled)

    @Slot(QListWidgetItem)
    def _on_item_changed(self, list_item: QListWidgetItem) -> None:
        redaction_id = int(list_item.data(_ID_ROLE))
        enabled = list_item.checkState() == Qt.CheckState.Checked
        item = self._boxes.get(redaction_id)
        if item is not None and item.enabled != enabled:
            self._boxes.set_enabled(redaction_id, enabled)
            self._boxes_changed()

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_current_item_changed(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        self.canvas.set_selected(int(current.data(_ID_ROLE)) if current is not None else None)

    @Slot()
    def _remove_current(self) -> None:
        current = self.box_list.currentItem()
        if current is not None:
            self._remove(int(current.data(_ID_ROLE)))

    @Slot(bool)
    def _on_preview_toggled(self, _checked: bool) -> None:
        self._show_preview_if_wanted()

    @Slot(int, list)
    def _on_suggestions(self, request_id: int, suggestions: list[tuple[Rect, SecretKind, str]]) -> None:
        if request_id != self._latest_ocr_request or self._finished:
            return
        self._set_looking(False)
        added = self._boxes.add_suggestions(suggestions)
        for item in added:
            self._add_list_item(item)
        if added:
            self.ocr_label.setText(
                f"Hid {len(added)} thing{'s' if len(added) != 1 else ''} that look private. "
                "Untick one in the list to send it after all."
            )
            self._boxes_changed()
        else:
            self.ocr_label.setText(NOTHING_FOUND_TEXT)

    @Slot(int, str)
    def _on_ocr_unavailable(self, request_id: int, message: str) -> None:
        if request_id == self._latest_ocr_request and not self._finished:
            self._set_looking(False)
            self.ocr_label.setText(f"{message} {OCR_OFF_SUFFIX}")

    @Slot()
    def _stop_looking(self) -> None:
        self._latest_ocr_request = 0  # a late answer is ignored
        self._set_looking(False)
        self.ocr_label.setText(SKIPPED_TEXT)

    @Slot()
    def _request_encoding(self) -> None:
        self._result = None
        self.send_button.setEnabled(False)
        self.size_label.setText(PREPARING_TEXT)
        self._latest_request = self._encoder.request(self._image, self._boxes.applied_boxes())

    @Slot(int, object)
    def _on_encoded(self, request_id: int, result: EncodedImage) -> None:
        if request_id != self._latest_request or self._finished:
            return
        self._result = result
        self.size_label.setText(f"Will send {result.size_text} ({result.width} × {result.height} WebP)")
        self._update_send_button()
        self._show_preview_if_wanted()

    @Slot(int, str)
    def _on_encode_failed(self, request_id: int, message: str) -> None:
        if request_id == self._latest_request and not self._finished:
            self.size_label.setText(message)

    @Slot()
    def _accept(self) -> None:
        if self._result is None or self._finished or self._looking:
            return
        self._finished = True
        self.accepted.emit(self._result.data, self._result.media_type)
        self.close()

    # ---------------------------------------------------------------------------------------------- events

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Delete removes the selected box; Esc cancels."""
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self._remove_current()
        elif event.key() == Qt.Key.Key_Escape:
            self.close()
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing without attaching cancels; results still in flight are ignored."""
        self._reencode_timer.stop()
        if not self._finished:
            self._finished = True
            self.cancelled.emit()
        self._disconnect_workers()
        super().closeEvent(event)

    # --------------------------------------------------------------------------------------------- helpers

    def _disconnect_workers(self) -> None:
        if not self._connected:
            return
        self._connected = False
        for signal, slot in (
            (self._encoder.encoded, self._on_encoded),
            (self._encoder.failed, self._on_encode_failed),
        ):
            signal.disconnect(slot)
        if self._finder is not None:
            self._finder.found.disconnect(self._on_suggestions)
            self._finder.unavailable.disconnect(self._on_ocr_unavailable)
        self._finder = None

    def _set_looking(self, looking: bool) -> None:
        self._looking = looking
        self.skip_button.setVisible(looking)
        self._update_send_button()

    def _update_send_button(self) -> None:
        self.send_button.setEnabled(self._result is not None and not self._looking and not self._finished)

    def _boxes_changed(self) -> None:
        self.canvas.update()
        self._latest_request = 0  # an encoding still in flight shows the old boxes: ignore it
        self._result = None
        self.send_button.setEnabled(False)
        self.size_label.setText(PREPARING_TEXT)
        self._reencode_timer.start()

    def _add_list_item(self, item: Redaction) -> None:
        text = item.label if item.origin is RedactionOrigin.USER else f"{item.label}: {_mask(item.text)}"
        list_item = QListWidgetItem(f"{text} ({item.box.width} × {item.box.height})")
        list_item.setData(_ID_ROLE, item.id)
        list_item.setFlags(list_item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        list_item.setCheckState(Qt.CheckState.Checked if item.enabled else Qt.CheckState.Unchecked)
        self.box_list.blockSignals(True)
        try:
            self.box_list.addItem(list_item)
        finally:
            self.box_list.blockSignals(False)

    def _find_list_item(self, redaction_id: int) -> QListWidgetItem | None:
        for row in range(self.box_list.count()):
            list_item = self.box_list.item(row)
            if int(list_item.data(_ID_ROLE)) == redaction_id:
                return list_item
        return None

    def _remove(self, redaction_id: int) -> None:
        if not self._boxes.remove(redaction_id):
            return
        list_item = self._find_list_item(redaction_id)
        if list_item is not None:
            self.box_list.takeItem(self.box_list.row(list_item))
        self._boxes_changed()

    def _set_enabled(self, redaction_id: int, enabled: bool) -> None:
        self._boxes.set_enabled(redaction_id, enabled)
        list_item = self._find_list_item(redaction_id)
        if list_item is not None:
            self.box_list.blockSignals(True)
            try:
                list_item.setCheckState(Qt.CheckState.Checked if enabled else Qt.CheckState.Unchecked)
            finally:
                self.box_list.blockSignals(False)
        self._boxes_changed()

    def _show_preview_if_wanted(self) -> None:
        if not self.preview_check.isChecked():
            self.canvas.set_preview(None)
            return
        if self._result is not None:
            with Image.open(io.BytesIO(self._result.data)) as decoded:
                self.canvas.set_preview(to_qimage(decoded.convert("RGB")))
