"""The system-tray icon and its menu. Thin: all state lives in the presenter."""

from __future__ import annotations

from PySide6.QtCore import QObject, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QAction, QColor, QCursor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from desktop.presenters.tray_presenter import TrayPresenter

APP_TITLE = "Tech Pal"
CHECK_NOW_TEXT = "Check server now"
QUIT_TEXT = "Quit"
_ICON_SIZES = (16, 22, 24, 32, 48, 64, 128)
_BRAND_BLUE = QColor(29, 78, 216)


def _draw_icon_pixmap(size: int) -> QPixmap:
    """Paint a rounded blue square with a white "TP" at one exact pixel size."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(_BRAND_BLUE)
        painter.drawRoundedRect(QRectF(0, 0, size, size), size * 0.22, size * 0.22)
        font = QFont()
        font.setBold(True)
        font.setPixelSize(max(7, round(size * 0.48)))
        painter.setFont(font)
        painter.setPen(Qt.GlobalColor.white)
        painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, "TP")
    finally:
        painter.end()
    return pixmap


def make_app_icon() -> QIcon:
    """Build the app icon in code, one pixmap per common tray size so text stays crisp.

    Needs a QGuiApplication.
    """
    icon = QIcon()
    for size in _ICON_SIZES:
        icon.addPixmap(_draw_icon_pixmap(size))
    return icon


class TrayIcon(QSystemTrayIcon):
    """Tray icon with a status line, "Check server now" and "Quit".

    Left-click re-checks the server and opens the same menu, so the status
    is one click away on desktops that only forward left clicks.

    Signals:
        quit_requested(): The user chose "Quit"; the composition root decides what that means.
    """

    quit_requested = Signal()

    def __init__(self, presenter: TrayPresenter, icon: QIcon, parent: QObject | None = None) -> None:
        """Create the icon (hidden until ``show()``).

        Args:
            presenter: Source of the status text and the refresh slot.
            icon: The tray image.
            parent: Owning QObject.
        """
        super().__init__(icon, parent)
        self._presenter = presenter
        self.setToolTip(APP_TITLE)

        # QMenu cannot have a non-widget parent; this reference keeps it alive.
        self._menu = QMenu()
        self._menu.setToolTipsVisible(True)  # the status line's tooltip has the full sentence
        self.status_action: QAction = self._menu.addAction(presenter.status_text)
        self.status_action.setEnabled(False)
        self.check_action: QAction = self._menu.addAction(CHECK_NOW_TEXT)
        self.check_action.triggered.connect(presenter.refresh)
        self._menu.addSeparator()
        self.quit_action: QAction = self._menu.addAction(QUIT_TEXT)
        self.quit_action.triggered.connect(self.quit_requested)
        self.setContextMenu(self._menu)

        presenter.status_changed.connect(self._show_status)
        self.activated.connect(self._on_activated)
        self._show_status(presenter.status_text)

    @property
    def menu(self) -> QMenu:
        """The context menu (also shown on left-click)."""
        return self._menu

    @Slot(str)
    def _show_status(self, text: str) -> None:
        self.status_action.setText(text)
        self.status_action.setToolTip(self._presenter.status_detail)

    @Slot(QSystemTrayIcon.ActivationReason)
    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self._presenter.refresh()
            self._menu.popup(QCursor.pos())
