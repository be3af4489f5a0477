"""Light and dark themes: the Fusion style with explicit palettes, so every platform looks the same and readable.

"system" follows the OS colour scheme (``QStyleHints.colorScheme()``) and switches when the OS does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QColor, QPalette

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

__all__ = ["ThemeController", "dark_palette", "light_palette", "resolve_scheme"]

_ROLE = QPalette.ColorRole
_GROUP = QPalette.ColorGroup


def _palette(colors: dict[QPalette.ColorRole, str], disabled: dict[QPalette.ColorRole, str]) -> QPalette:
    palette = QPalette()
    for role, value in colors.items():
        palette.setColor(role, QColor(value))
    for role, value in disabled.items():
        palette.setColor(_GROUP.Disabled, role, QColor(value))
    return palette


def light_palette() -> QPalette:
    """Dark text on light surfaces; the brand blue for selection and links."""
    return _palette(
        {
            _ROLE.Window: "#f5f6f8",
            _ROLE.WindowText: "#1b1f24",
            _ROLE.Base: "#ffffff",
            _ROLE.AlternateBase: "#eef0f3",
            _ROLE.ToolTipBase: "#ffffff",
            _ROLE.ToolTipText: "#1b1f24",
            _ROLE.PlaceholderText: "#6b7280",
            _ROLE.Text: "#1b1f24",
            _ROLE.Button: "#e9ecf0",
            _ROLE.ButtonText: "#1b1f24",
            _ROLE.BrightText: "#b91c1c",
            _ROLE.Link: "#1d4ed8",
            _ROLE.LinkVisited: "#6d28d9",
            _ROLE.Highlight: "#1d4ed8",
            _ROLE.HighlightedText: "#ffffff",
            _ROLE.Light: "#ffffff",
            _ROLE.Midlight: "#e5e7eb",
            _ROLE.Mid: "#c4c8cf",
            _ROLE.Dark: "#9ca3af",
            _ROLE.Shadow: "#4b5563",
        },
        {_ROLE.WindowText: "#9ca3af", _ROLE.Text: "#9ca3af", _ROLE.ButtonText: "#9ca3af"},
    )


def dark_palette() -> QPalette:
    """Light text on dark surfaces, with enough contrast for body text (WCAG AA)."""
    return _palette(
        {
            _ROLE.Window: "#1f2328",
            _ROLE.WindowText: "#e6e8eb",
            _ROLE.Base: "#16191d",
            _ROLE.AlternateBase: "#262b31",
            _ROLE.ToolTipBase: "#2b3036",
            _ROLE.ToolTipText: "#e6e8eb",
            _ROLE.PlaceholderText: "#8b949e",
            _ROLE.Text: "#e6e8eb",
            _ROLE.Button: "#2b3036",
            _ROLE.ButtonText: "#e6e8eb",
            _ROLE.BrightText: "#ff7b72",
            _ROLE.Link: "#79a6ff",
            _ROLE.LinkVisited: "#c4a7ff",
            _ROLE.Highlight: "#3b6fe0",
            _ROLE.HighlightedText: "#ffffff",
            _ROLE.Light: "#3a4047",
            _ROLE.Midlight: "#30353b",
            _ROLE.Mid: "#24282d",
            _ROLE.Dark: "#121417",
            _ROLE.Shadow: "#000000",
        },
        {_ROLE.WindowText: "#6e7681", _ROLE.Text: "#6e7681", _ROLE.ButtonText: "#6e7681"},
    )


def resolve_scheme(theme: str, system: Qt.ColorScheme) -> str:
    """``"light"`` or ``"dark"`` for a theme setting, given the OS scheme (unknown counts as light)."""
    if theme in ("light", "dark"):
        return theme
    return "dark" if system == Qt.ColorScheme.Dark else "light"


class ThemeController(QObject):
    """Applies the theme setting to the application, now and whenever the OS scheme changes.

    Args:
        app: The application to style.
        theme: ``"system"``, ``"light"`` or ``"dark"``.
        parent: Owning QObject.
    """

    def __init__(self, app: QApplication, theme: str = "system", *, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self._theme = theme
        self._applied = ""
        app.setStyle("Fusion")
        app.styleHints().colorSchemeChanged.connect(self._on_system_scheme)
        self.apply(theme)

    @property
    def theme(self) -> str:
        """The setting in effect."""
        return self._theme

    @property
    def scheme(self) -> str:
        """What is on screen: ``"light"`` or ``"dark"``."""
        return self._applied

    @Slot(str)
    def apply(self, theme: str) -> None:
        """Switch to ``theme`` at once (every open window repaints)."""
        self._theme = theme
        scheme = resolve_scheme(theme, self._app.styleHints().colorScheme())
        self._applied = scheme
        self._app.setPalette(dark_palette() if scheme == "dark" else light_palette())

    @Slot(Qt.ColorScheme)
    def _on_system_scheme(self, _scheme: Qt.ColorScheme) -> None:
        if self._theme == "system":
            self.apply("system")
