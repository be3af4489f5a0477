"""Full-screen frozen screenshot on which the user drags out the region to capture."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QFont,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QWidget

from desktop.core.geometry import Rect, from_drag, to_physical
from desktop.ui.qimage import to_qimage

if TYPE_CHECKING:
    from desktop.core.capture import MonitorArea, Screenshot

__all__ = ["HINT_TEXT", "RegionOverlay"]

HINT_TEXT = "Drag to select the area to send · Enter to confirm · Esc to cancel"
_DIM = QColor(0, 0, 0, 110)
_SELECTION_PEN = QColor(56, 189, 248)


class RegionOverlay(QWidget):
    """Frameless, always-on-top window showing a frozen screenshot; a drag selects a rectangle.

    Mouse release (or Enter) confirms a non-empty selection, Esc cancels. The selection is reported in the
    screenshot's physical pixels: logical mouse positions are scaled by the device-pixel ratio, rounded outward
    and clamped to the image.

    Signals:
        selected(Rect): The chosen region in the screenshot's physical pixels.
        cancelled(): The user pressed Esc or closed the overlay.
    """

    selected = Signal(object)
    cancelled = Signal()

    def __init__(
        self,
        image: QImage,
        device_pixel_ratio: float,
        *,
        monitor: MonitorArea | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """Create the overlay (hidden until :meth:`present`).

        Args:
            image: The frozen screenshot at device resolution.
            device_pixel_ratio: Device pixels per logical pixel of the screen it covers.
            monitor: Where to show it; ``None`` keeps the widget at the image's logical size (tests).
            parent: Owning widget (normally none: it is a top-level window).
        """
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowFlags(
            Qt.WindowType.Window
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.Tool  # no taskbar entry
        )
        self.setWindowTitle("Tech Pal: select a region")
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._ratio = device_pixel_ratio
        self._bounds = Rect(0, 0, image.width(), image.height())
        self._pixmap = QPixmap.fromImage(image)
        self._pixmap.setDevicePixelRatio(device_pixel_ratio)
        self._monitor = monitor
        self._start: QPointF | None = None
        self._end: QPointF | None = None
        self._dragging = False
        self._finished = False
        self.resize(round(image.width() / device_pixel_ratio), round(image.height() / device_pixel_ratio))

    @classmethod
    def for_screenshot(cls, screenshot: Screenshot) -> RegionOverlay:
        """An overlay for a captured monitor, placed over that monitor."""
        return cls(to_qimage(screenshot.image), screenshot.device_pixel_ratio, monitor=screenshot.monitor)

    def present(self) -> None:
        """Cover the monitor and take the keyboard."""
        if self._monitor is not None:
            m = self._monitor
            self.setGeometry(m.x, m.y, m.width, m.height)
            self.showFullScreen()
        else:
            self.show()
        self.activateWindow()
        self.setFocus()

    def selection(self) -> Rect | None:
        """The current selection in physical pixels, or ``None`` if nothing (or nothing visible) is selected."""
        if self._start is None or self._end is None:
            return None
        logical = from_drag((self._start.x(), self._start.y()), (self._end.x(), self._end.y()))
        physical = to_physical(logical, self._ratio, screen=self._bounds)
        return None if physical.empty else physical

    # ----------------------------------------------------------------------------------------------- events

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Start a new selection with the left button."""
        if event.button() == Qt.MouseButton.LeftButton:
            self._start = self._end = event.position()
            self._dragging = True
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Stretch the selection while dragging."""
        if self._dragging:
            self._end = event.position()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """End the drag; a non-empty selection is confirmed at once, a plain click keeps the overlay open."""
        if event.button() != Qt.MouseButton.LeftButton or not self._dragging:
            return
        self._dragging = False
        self._end = event.position()
        self.update()
        self._confirm()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Esc cancels; Enter confirms the current selection."""
        if event.key() == Qt.Key.Key_Escape:
            self._cancel()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._confirm()
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the window any other way counts as cancelling."""
        if not self._finished:
            self._finished = True
            self.cancelled.emit()
        super().closeEvent(event)

    def paintEvent(self, _event: QPaintEvent) -> None:
        """The frozen screen, dimmed outside the selection, with a hint or the selection's size."""
        painter = QPainter(self)
        try:
            painter.drawPixmap(0, 0, self._pixmap)
            selection = self.selection()
            whole = QRectF(self.rect())
            if selection is None:
                painter.fillRect(whole, _DIM)
                self._draw_label(painter, QPointF(whole.center().x(), 40), HINT_TEXT)
                return
            shown = QRectF(
                selection.x / self._ratio,
                selection.y / self._ratio,
                selection.width / self._ratio,
                selection.height / self._ratio,
            )
            for part in (
                QRectF(0, 0, whole.width(), shown.top()),
                QRectF(0, shown.bottom(), whole.width(), whole.height() - shown.bottom()),
                QRectF(0, shown.top(), shown.left(), shown.height()),
                QRectF(shown.right(), shown.top(), whole.width() - shown.right(), shown.height()),
            ):
                painter.fillRect(part, _DIM)
            pen = QPen(_SELECTION_PEN)
            pen.setWidthF(1.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(shown.adjusted(-0.5, -0.5, 0.5, 0.5))
            label_y = shown.top() - 14 if shown.top() > 30 else shown.bottom() + 18
            self._draw_label(painter, QPointF(shown.center().x(), label_y), f"{selection.width} × {selection.height}")
        finally:
            painter.end()

    # ----------------------------------------------------------------------------------------------- helpers

    def _draw_label(self, painter: QPainter, center: QPointF, text: str) -> None:
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF(), 10.0))
        painter.setFont(font)
        metrics = painter.fontMetrics()
        box = QRectF(0, 0, metrics.horizontalAdvance(text) + 16, metrics.height() + 8)
        box.moveCenter(center)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 190))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(Qt.GlobalColor.white)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _confirm(self) -> None:
        selection = self.selection()
        if selection is None or self._finished:
            return
        self._finished = True
        self.selected.emit(selection)
        self.close()

    def _cancel(self) -> None:
        if self._finished:
            return
        self._finished = True
        self.cancelled.emit()
        self.close()
