"""Hide the app's own windows for the moment of a capture, so they are not in the screenshot."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication, QWindow

__all__ = ["hide_own_windows", "restore_windows"]

# The X11 tray icon is a small top-level window of ours; hiding it would pull it out of the tray.
_KEEP_PREFIXES = ("QSystemTrayIconSys",)


def hide_own_windows() -> list[QWindow]:
    """Hide every visible top-level window of this app (except the tray icon); returns them for restoring."""
    hidden = []
    for window in QGuiApplication.topLevelWindows():
        if not window.isVisible() or window.objectName().startswith(_KEEP_PREFIXES):
            continue
        window.hide()
        hidden.append(window)
    return hidden


def restore_windows(windows: list[QWindow]) -> None:
    """Show again what :func:`hide_own_windows` hid."""
    for window in windows:
        window.setVisible(True)  # keeps a maximised or full-screen state, unlike show()
