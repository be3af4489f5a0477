"""Light and dark themes: the Fusion style with explicit palettes, so every platform looks the same and readable.

"system" follows the OS colour scheme (``QStyleHints.colorScheme()``) and switches when the OS does. Each palette's
``BrightText`` is its danger red (errors, "Delete my account"), chosen for a 4.5:1 contrast (WCAG AA) against that
palette's window and button colours; :func:`use_danger_color` draws a widget's text in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QEvent, QObject, Qt, Slot
from PySide6.QtGui import QColor, QPalette

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QWidget

__all__ = ["DANGER_ROLE", "ThemeController", "dark_palette", "light_palette", "resolve_scheme", "use_danger_color"]

_ROLE = QPalette.ColorRole
_GROUP = QPalette.ColorGroup
DANGER_ROLE: Final = _ROLE.BrightText
# The roles widgets draw their text with: a label WindowText, a button ButtonText, an editor Text.
_TEXT_ROLES: Final = (_ROLE.WindowText, _ROLE.ButtonText, _ROLE.Text)


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


def use_danger_color(widget: QWidget) -> None:
    """Draw ``widget``'s text in the theme's danger red, now and after every theme switch.

    Disabled text keeps the palette's grey, so a disabled danger button still looks disabled.
    """
    _DangerText(widget)


class _DangerText(QObject):
    """Copies the inherited danger colour into the widget's text roles whenever its palette changes.

    A style sheet colour would be fixed at the theme the widget was made in; the widget's own palette roles are not
    replaced by a new application palette either, hence the event filter.
    """

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self._widget = widget
        widget.installEventFilter(self)
        self._apply()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Re-apply the colour after a palette change (the theme switched); never consumes the event."""
        if watched is self._widget and event.type() == QEvent.Type.PaletteChange:
            self._apply()
        return False

    def _apply(self) -> None:
        palette = self._widget.palette()
        color = palette.color(_GROUP.Active, DANGER_ROLE)
        stale = [
            (group, role)
            for group in (_GROUP.Active, _GROUP.Inactive)
            for role in _TEXT_ROLES
            if palette.color(group, role) != color
        ]
        for group, role in stale:
            palette.setColor(group, role, color)
        if stale:  # setting the palette sends another PaletteChange, which then finds nothing stale
            self._widget.setPalette(palette)


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
