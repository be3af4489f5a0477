"""Redaction before upload: draw solid boxes over private parts, review OCR suggestions, preview the exact bytes.

The canvas shows the screenshot with every applied box filled black, as it will be sent; suggestions found by local
OCR start applied and can be unticked. "Show exactly what will be sent" swaps in the decoded upload bytes. The
window binds to a :class:`~desktop.presenters.redaction_presenter.RedactionPresenter`, which holds the boxes and
runs the encoding and OCR.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal, Slot
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
from desktop.core.redaction import Redaction, RedactionOrigin, RedactionSet
from desktop.presenters.redaction_presenter import PREPARING_TEXT, RedactionPresenter, masked_label
from desktop.ui.qimage import to_qimage

if TYPE_CHECKING:
    from desktop.core.ocr_text import OcrUpload

__all__ = ["RedactionCanvas", "RedactionView"]

HINT_TEXT = "Drag over anything private to black it out. Right-click a box to remove it."
_ID_ROLE = Qt.ItemDataRole.UserRole
_USER_OUTLINE = QColor(239, 68, 68)
_SUGGESTED_OUTLINE = QColor(245, 158, 11)
_SELECTED_OUTLINE = QColor(56, 189, 248)


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
    """Window to black out private parts of a screenshot before it is attached; binds to its presenter.

    Signals:
        accepted(bytes, str, object): The encoded redacted image, its media type and the text to send with it
            (``OcrUpload`` or ``None``); the window closes.
        cancelled(): The user cancelled or closed the window.
    """

    accepted = Signal(bytes, str, object)
    cancelled = Signal()

    def __init__(self, presenter: RedactionPresenter, parent: QWidget | None = None) -> None:
        """Build the window (hidden until :meth:`present`) on ``presenter``."""
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Tech Pal: hide private information")
        self.presenter = presenter
        presenter.setParent(self)  # one screenshot, one window: the presenter goes with it

        self.canvas = RedactionCanvas(to_qimage(presenter.image), presenter.boxes)
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
        self._bind()

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

    def _bind(self) -> None:
        presenter = self.presenter
        self.canvas.box_drawn.connect(presenter.add_box)
        self.canvas.box_context.connect(presenter.act_on_box)
        self.box_list.itemChanged.connect(self._on_item_changed)
        self.box_list.currentItemChanged.connect(self._on_current_item_changed)
        self.remove_button.clicked.connect(self._remove_current)
        self.preview_check.toggled.connect(self._show_preview_if_wanted)
        self.cancel_button.clicked.connect(self.close)
        self.send_button.clicked.connect(presenter.accept)
        self.skip_button.clicked.connect(presenter.stop_looking)
        presenter.box_added.connect(self._on_box_added)
        presenter.box_removed.connect(self._on_box_removed)
        presenter.box_enabled_changed.connect(self._on_box_enabled_changed)
        presenter.ocr_text_changed.connect(self.ocr_label.setText)
        presenter.looking_changed.connect(self.skip_button.setVisible)
        presenter.size_text_changed.connect(self.size_label.setText)
        presenter.can_attach_changed.connect(self.send_button.setEnabled)
        presenter.result_changed.connect(self._show_preview_if_wanted)
        presenter.accepted.connect(self._on_accepted)
        presenter.cancelled.connect(self.cancelled)

    # ------------------------------------------------------------------------------------------------ API

    @property
    def boxes(self) -> RedactionSet:
        """The boxes drawn and suggested so far."""
        return self.presenter.boxes

    def present(self) -> None:
        """Show the window and start OCR and the first encoding."""
        self.show()
        self.activateWindow()
        self.presenter.start()

    # ------------------------------------------------------------------------------------------------ slots

    @Slot(object)
    def _on_box_added(self, item: Redaction) -> None:
        list_item = QListWidgetItem(masked_label(item))
        list_item.setData(_ID_ROLE, item.id)
        list_item.setFlags(list_item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        list_item.setCheckState(Qt.CheckState.Checked if item.enabled else Qt.CheckState.Unchecked)
        self.box_list.blockSignals(True)
        try:
            self.box_list.addItem(list_item)
        finally:
            self.box_list.blockSignals(False)
        self.canvas.update()

    @Slot(int)
    def _on_box_removed(self, redaction_id: int) -> None:
        list_item = self._find_list_item(redaction_id)
        if list_item is not None:
            self.box_list.takeItem(self.box_list.row(list_item))
        self.canvas.update()

    @Slot(int, bool)
    def _on_box_enabled_changed(self, redaction_id: int, enabled: bool) -> None:
        list_item = self._find_list_item(redaction_id)
        if list_item is not None:
            self.box_list.blockSignals(True)
            try:
                list_item.setCheckState(Qt.CheckState.Checked if enabled else Qt.CheckState.Unchecked)
            finally:
                self.box_list.blockSignals(False)
        self.canvas.update()

    @Slot(QListWidgetItem)
    def _on_item_changed(self, list_item: QListWidgetItem) -> None:
        self.presenter.set_enabled(int(list_item.data(_ID_ROLE)), list_item.checkState() == Qt.CheckState.Checked)

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_current_item_changed(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        self.canvas.set_selected(int(current.data(_ID_ROLE)) if current is not None else None)

    @Slot()
    def _remove_current(self) -> None:
        current = self.box_list.currentItem()
        if current is not None:
            self.presenter.remove(int(current.data(_ID_ROLE)))

    @Slot()
    def _show_preview_if_wanted(self) -> None:
        if not self.preview_check.isChecked():
            self.canvas.set_preview(None)
            return
        preview = self.presenter.preview()
        if preview is not None:
            self.canvas.set_preview(to_qimage(preview))

    @Slot(bytes, str, object)
    def _on_accepted(self, data: bytes, media_type: str, ocr: OcrUpload | None) -> None:
        self.accepted.emit(data, media_type, ocr)
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
        self.presenter.cancel()
        super().closeEvent(event)

    def _find_list_item(self, redaction_id: int) -> QListWidgetItem | None:
        for row in range(self.box_list.count()):
            list_item = self.box_list.item(row)
            if int(list_item.data(_ID_ROLE)) == redaction_id:
                return list_item
        return None
