"""The region overlay offscreen: drags map to physical pixels at any device-pixel ratio; Esc cancels."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest

from desktop.core.geometry import Rect
from desktop.ui.region_overlay import RegionOverlay

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

# The offscreen platform cannot raise windows; an always-on-top window asks it to on show().
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support raise\(\)")

MakeOverlay = Callable[[int, int, float], RegionOverlay]


@pytest.fixture
def make_overlay(qtbot: QtBot) -> MakeOverlay:
    """Overlays over a plain grey physical image of the given size, shown offscreen."""

    def make(width: int, height: int, ratio: float) -> RegionOverlay:
        image = QImage(width, height, QImage.Format.Format_RGB888)
        image.fill(QColor(90, 90, 90))
        overlay = RegionOverlay(image, ratio)
        qtbot.addWidget(overlay)
        overlay.present()
        qtbot.waitExposed(overlay)
        return overlay

    return make


def drag(overlay: RegionOverlay, start: QPoint, end: QPoint) -> None:
    QTest.mousePress(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(overlay, QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2))
    QTest.mouseMove(overlay, end)
    QTest.mouseRelease(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (1.0, Rect(10, 20, 50, 30)),
        (2.0, Rect(20, 40, 100, 60)),
        (1.5, Rect(15, 30, 75, 45)),
    ],
)
def test_a_drag_selects_the_physical_rectangle(
    qtbot: QtBot, make_overlay: MakeOverlay, ratio: float, expected: Rect
) -> None:
    # GIVEN a 400x300 physical screenshot on a screen scaled by `ratio`
    overlay = make_overlay(400, 300, ratio)
    assert overlay.width() == round(400 / ratio)

    # WHEN the user drags from logical (10, 20) to (60, 50)
    with qtbot.wait_signal(overlay.selected, timeout=1000) as blocker:
        drag(overlay, QPoint(10, 20), QPoint(60, 50))

    # THEN the region is those logical pixels scaled to physical ones, and the overlay is gone
    assert blocker.args == [expected]
    assert not overlay.isVisible()


def test_a_drag_up_and_left_past_the_edge_is_clamped_to_the_screenshot(qtbot: QtBot, make_overlay: MakeOverlay) -> None:
    overlay = make_overlay(200, 100, 2.0)

    with qtbot.wait_signal(overlay.selected, timeout=1000) as blocker:
        drag(overlay, QPoint(90, 45), QPoint(-30, -30))

    assert blocker.args == [Rect(0, 0, 180, 90)]


def test_escape_cancels_without_a_selection(qtbot: QtBot, make_overlay: MakeOverlay) -> None:
    overlay = make_overlay(200, 100, 1.0)
    QTest.mousePress(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(5, 5))
    QTest.mouseMove(overlay, QPoint(50, 50))

    with qtbot.assert_not_emitted(overlay.selected), qtbot.wait_signal(overlay.cancelled, timeout=1000):
        QTest.keyClick(overlay, Qt.Key.Key_Escape)

    assert not overlay.isVisible()


def test_a_click_without_a_drag_keeps_the_overlay_open(qtbot: QtBot, make_overlay: MakeOverlay) -> None:
    overlay = make_overlay(200, 100, 1.0)

    with qtbot.assert_not_emitted(overlay.selected), qtbot.assert_not_emitted(overlay.cancelled):
        QTest.mouseClick(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(40, 40))

    assert overlay.isVisible()
    assert overlay.selection() is None


def test_enter_confirms_the_current_selection(qtbot: QtBot, make_overlay: MakeOverlay) -> None:
    overlay = make_overlay(200, 100, 1.0)
    QTest.mousePress(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(5, 5))
    QTest.mouseMove(overlay, QPoint(25, 15))

    with qtbot.wait_signal(overlay.selected, timeout=1000) as blocker:
        QTest.keyClick(overlay, Qt.Key.Key_Return)

    assert blocker.args == [Rect(5, 5, 20, 10)]


def test_closing_the_window_counts_as_cancel(qtbot: QtBot, make_overlay: MakeOverlay) -> None:
    overlay = make_overlay(200, 100, 1.0)

    with qtbot.wait_signal(overlay.cancelled, timeout=1000):
        overlay.close()
