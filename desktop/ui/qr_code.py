"""A QR code painted from its module matrix: dark squares on white, with the four-module quiet zone around it.

Always black on white, whatever the theme: that is what phone cameras read best. The matrix comes from
:func:`desktop.core.two_factor.qr_matrix`, computed on this computer; nothing is fetched to draw it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

if TYPE_CHECKING:
    from PySide6.QtGui import QPaintEvent

    from desktop.core.two_factor import QrMatrix

__all__ = ["DARK", "LIGHT", "QUIET_ZONE", "QrCodeWidget"]

QUIET_ZONE: Final = 4  # light modules on every side (ISO/IEC 18004)
DARK: Final = QColor("#000000")
LIGHT: Final = QColor("#ffffff")
_MODULE_PX: Final = 5  # preferred size of one module


class QrCodeWidget(QWidget):
    """Paints a QR matrix as large as whole pixels per module allow, centred."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._matrix: QrMatrix = ()
        self.setObjectName("qr_code")
        self.setAccessibleName("QR code for your authenticator app")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    @property
    def matrix(self) -> QrMatrix:
        """The modules on show (rows of dark = ``True``)."""
        return self._matrix

    def set_matrix(self, matrix: QrMatrix) -> None:
        """Show another code."""
        self._matrix = matrix
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        """Room for the code and its quiet zone at a readable module size."""
        side = (len(self._matrix) + 2 * QUIET_ZONE) * _MODULE_PX if self._matrix else 0
        return QSize(side, side)

    def minimumSizeHint(self) -> QSize:
        """The same: a QR code is unreadable smaller."""
        return self.sizeHint()

    # ------------------------------------------------------------------------------------------------ geometry
    def module_px(self) -> int:
        """The side of one module in pixels (whole pixels keep the edges sharp)."""
        count = len(self._matrix) + 2 * QUIET_ZONE
        return max(1, min(self.width(), self.height()) // count) if self._matrix else 0

    def symbol_rect(self) -> QRect:
        """Where the code and its quiet zone are drawn, centred in the widget."""
        side = (len(self._matrix) + 2 * QUIET_ZONE) * self.module_px()
        return QRect((self.width() - side) // 2, (self.height() - side) // 2, side, side)

    def module_rect(self, row: int, column: int) -> QRect:
        """The square of one module (``row`` and ``column`` count from the code's top-left, quiet zone excluded)."""
        size, origin = self.module_px(), self.symbol_rect().topLeft()
        offset = QPoint((column + QUIET_ZONE) * size, (row + QUIET_ZONE) * size)
        return QRect(origin + offset, QSize(size, size))

    # ------------------------------------------------------------------------------------------------ painting
    def paintEvent(self, _event: QPaintEvent) -> None:
        """Light square, then every dark module."""
        if not self._matrix:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.fillRect(self.symbol_rect(), LIGHT)
        painter.setPen(Qt.PenStyle.NoPen)
        for row, modules in enumerate(self._matrix):
            for column, dark in enumerate(modules):
                if dark:
                    painter.fillRect(self.module_rect(row, column), DARK)
        painter.end()
