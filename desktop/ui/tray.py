"""The system-tray icon and its menu. Thin: all state lives in the presenter."""

from __future__ import annotations

from PySide6.QtCore import QObject, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from desktop.presenters.tray_presenter import TrayAction, TrayPresenter

APP_TITLE = "Tech Pal"
QUIT_TEXT = TrayAction.QUIT.value
# Entries after which the menu draws a separator (ask / windows / session).
_GROUP_ENDS = frozenset({TrayAction.CAPTURE_REGION, TrayAction.SETTINGS})
NOTIFICATION_MS = 8_000
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
    """Tray icon with the app's menu; left-click asks for help (opens the chat).

    Every entry but "Quit" goes to :meth:`TrayPresenter.trigger`; "Quit" emits ``quit_requested``.

    Signals:
        quit_requested(): The user chose "Quit"; the composition root decides what that means.
    """

    quit_requested = Signal()

    def __init__(self, presenter: TrayPresenter, icon: QIcon, parent: QObject | None = None) -> None:
        """Create the icon (hidden until ``show()``).

        Args:
            presenter: Routes the entries; source of the status and notifications.
            icon: The tray image.
            parent: Owning QObject.
        """
        super().__init__(icon, parent)
        self._presenter = presenter
        # QMenu cannot have a non-widget parent; this reference keeps it alive.
        self._menu = QMenu()
        self.actions_by_kind: dict[TrayAction, QAction] = {}
        for kind in TrayAction:
            action = self._menu.addAction(kind.value.replace("&", "&&"))  # a single & would mark a mnemonic
            action.setData(kind.value)
            action.triggered.connect(self._on_action)
            self.actions_by_kind[kind] = action
            if kind in _GROUP_ENDS:
                self._menu.addSeparator()
        self.quit_action = self.actions_by_kind[TrayAction.QUIT]
        self.sign_out_action = self.actions_by_kind[TrayAction.SIGN_OUT]
        self.setContextMenu(self._menu)

        presenter.status_changed.connect(self._show_status)
        presenter.notification.connect(self._show_notification)
        self.messageClicked.connect(presenter.notification_clicked)
        presenter.signed_in_changed.connect(self._on_signed_in_changed)
        self.activated.connect(self._on_activated)
        self._show_status(presenter.status_text)
        self._on_signed_in_changed(presenter.signed_in)

    @property
    def menu(self) -> QMenu:
        """The context menu."""
        return self._menu

    def entry_texts(self) -> list[str]:
        """The menu's entries in order, separators left out."""
        return [a.text().replace("&&", "&") for a in self._menu.actions() if not a.isSeparator()]

    @Slot()
    def _on_action(self) -> None:
        action = self.sender()
        if not isinstance(action, QAction):
            return
        kind = TrayAction(action.data())
        if kind is TrayAction.QUIT:
            self.quit_requested.emit()
        else:
            self._presenter.trigger(kind)

    @Slot(str)
    def _show_status(self, text: str) -> None:
        self.setToolTip(f"{APP_TITLE} — {text}")

    @Slot(str, str)
    def _show_notification(self, title: str, text: str) -> None:
        self.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, NOTIFICATION_MS)

    @Slot(bool)
    def _on_signed_in_changed(self, signed_in: bool) -> None:
        self.sign_out_action.setEnabled(signed_in)

    @Slot(QSystemTrayIcon.ActivationReason)
    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self._presenter.trigger(TrayAction.ASK)
