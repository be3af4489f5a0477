"""Themes: Fusion with explicit palettes; "system" follows the OS colour scheme."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette

from desktop.ui.theme import ThemeController, dark_palette, light_palette, resolve_scheme

if TYPE_CHECKING:
    from collections.abc import Iterator

    from PySide6.QtWidgets import QApplication


@pytest.fixture
def restore_palette(qapp: QApplication) -> Iterator[QApplication]:
    """Give later tests back the palette and style they started with."""
    palette, style = qapp.palette(), qapp.style().name()
    yield qapp
    qapp.setPalette(palette)
    qapp.setStyle(style)


def luminance(palette: QPalette, role: QPalette.ColorRole) -> float:
    return palette.color(role).lightnessF()


def test_the_palettes_have_readable_contrast() -> None:
    for palette in (light_palette(), dark_palette()):
        assert (
            abs(luminance(palette, QPalette.ColorRole.Window) - luminance(palette, QPalette.ColorRole.WindowText)) > 0.6
        )
        assert abs(luminance(palette, QPalette.ColorRole.Base) - luminance(palette, QPalette.ColorRole.Text)) > 0.6
    assert luminance(dark_palette(), QPalette.ColorRole.Window) < 0.2
    assert luminance(light_palette(), QPalette.ColorRole.Window) > 0.9


@pytest.mark.parametrize(
    ("theme", "system", "expected"),
    [
        ("light", Qt.ColorScheme.Dark, "light"),
        ("dark", Qt.ColorScheme.Light, "dark"),
        ("system", Qt.ColorScheme.Dark, "dark"),
        ("system", Qt.ColorScheme.Light, "light"),
        ("system", Qt.ColorScheme.Unknown, "light"),
    ],
)
def test_resolve_scheme(theme: str, system: Qt.ColorScheme, expected: str) -> None:
    assert resolve_scheme(theme, system) == expected


def test_switching_applies_at_once_with_the_fusion_style(restore_palette: QApplication) -> None:
    app = restore_palette
    controller = ThemeController(app, "light")
    assert app.style().name().lower() == "fusion"
    assert app.palette().color(QPalette.ColorRole.Window) == light_palette().color(QPalette.ColorRole.Window)

    controller.apply("dark")

    assert controller.scheme == "dark"
    assert app.palette().color(QPalette.ColorRole.Window) == dark_palette().color(QPalette.ColorRole.Window)


def test_system_follows_what_the_os_reports(restore_palette: QApplication) -> None:
    app = restore_palette
    controller = ThemeController(app, "system")

    expected = resolve_scheme("system", app.styleHints().colorScheme())

    assert controller.scheme == expected
