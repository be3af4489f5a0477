"""Real screen capture on Xvfb (1920x1080x24): known pixels come back exactly; our own windows are not in the shot.

Run under ``scripts/with-xserver.sh``; see ``tests/fixtures/qt.py``.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from PySide6.QtCore import QObject, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from desktop.presenters.capture_presenter import CapturePresenter
from desktop.presenters.redaction_presenter import RedactionPresenter
from desktop.services.capture.encode import encode_screenshot
from desktop.services.capture.main import ScreenCapturer
from desktop.services.capture.workers import ImageEncoder
from desktop.ui.redaction_view import RedactionView
from desktop.ui.region_overlay import RegionOverlay
from tests.desktop.services.capture.pattern_window import pattern_colour

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytestqt.qtbot import QtBot

    from desktop.core.capture import Screenshot

pytestmark = pytest.mark.xserver

PATTERN = (300, 200, 320, 240)  # x, y, width, height on the screen
MAGENTA = (255, 0, 255)
WAIT_MS = 5000


@pytest.fixture
def pattern(xserver: str) -> Iterator[tuple[int, int, int, int]]:
    """A window of another process showing the known pattern at ``PATTERN``."""
    script = Path(__file__).with_name("pattern_window.py")
    with subprocess.Popen([sys.executable, str(script), *map(str, PATTERN)], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            yield PATTERN
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def expected_pattern(left: int, top: int, width: int, height: int) -> Image.Image:
    """The pattern's pixels for a part of it, in pattern coordinates."""
    image = Image.new("RGB", (width, height))
    image.putdata([pattern_colour(left + x, top + y) for y in range(height) for x in range(width)])
    return image


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and a.tobytes() == b.tobytes()


class FakeEditor(QObject):
    """Stands in for the redaction window: keeps the image it was given."""

    accepted = Signal(bytes, str, object)
    cancelled = Signal()

    def __init__(self, image: Image.Image) -> None:
        super().__init__()
        self.image = image

    def present(self) -> None:
        """Nothing to show."""


class Editors(list[FakeEditor]):
    def __call__(self, image: Image.Image) -> FakeEditor:
        self.append(FakeEditor(image))
        return self[-1]


def solid_window(qtbot: QtBot, colour: tuple[int, int, int], geometry: tuple[int, int, int, int]) -> QWidget:
    window = QWidget(None, Qt.WindowType.X11BypassWindowManagerHint | Qt.WindowType.FramelessWindowHint)
    palette = window.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor(*colour))
    window.setPalette(palette)
    window.setAutoFillBackground(True)
    window.setGeometry(*geometry)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(200)  # let the X server paint it
    return window


def test_a_full_screen_capture_has_the_exact_pixels_on_screen(qapp: QApplication, pattern: tuple[int, ...]) -> None:
    x, y, width, height = pattern

    shot = ScreenCapturer().capture()

    assert shot.image.size == (1920, 1080)
    assert shot.image.mode == "RGB"
    assert shot.device_pixel_ratio == 1.0
    assert same_pixels(shot.image.crop((x, y, x + width, y + height)), expected_pattern(0, 0, width, height))


def test_our_windows_are_hidden_during_the_capture(qtbot: QtBot, qapp: QApplication, pattern: tuple[int, ...]) -> None:
    # GIVEN one of our windows (magenta) covers part of another app's window
    x, y, _, _ = pattern
    ours = solid_window(qtbot, MAGENTA, (x + 40, y + 40, 120, 80))
    editors = Editors()
    presenter = CapturePresenter(
        ScreenCapturer(), overlay_factory=RegionOverlay.for_screenshot, redaction_factory=editors
    )

    # WHEN the user captures the screen
    presenter.capture_screen()
    qtbot.waitUntil(lambda: len(editors) == 1, timeout=WAIT_MS)

    # THEN the shot shows the other app where our window was, nothing magenta, and our window is back
    image = editors[0].image
    assert same_pixels(image.crop((x + 40, y + 40, x + 160, y + 120)), expected_pattern(40, 40, 120, 80))
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None
    assert MAGENTA not in {c for _, c in colours}
    assert ours.isVisible()
    presenter.deleteLater()


def test_a_region_capture_returns_exactly_the_selected_pixels(
    qtbot: QtBot, qapp: QApplication, pattern: tuple[int, ...]
) -> None:
    x, y, _, _ = pattern
    overlays: list[RegionOverlay] = []

    def make_overlay(shot: Screenshot) -> RegionOverlay:
        overlays.append(RegionOverlay.for_screenshot(shot))  # the presenter deletes it when done
        return overlays[-1]

    editors = Editors()
    presenter = CapturePresenter(ScreenCapturer(), overlay_factory=make_overlay, redaction_factory=editors)

    # GIVEN the frozen overlay is up
    presenter.capture_region()
    qtbot.waitUntil(lambda: bool(overlays) and overlays[0].isVisible(), timeout=WAIT_MS)
    overlay = overlays[0]
    qtbot.waitExposed(overlay)

    # WHEN the user drags over 100x80 screen pixels inside the pattern (overlay covers the screen at 0,0)
    start, end = QPoint(x + 16, y + 24), QPoint(x + 116, y + 104)
    QTest.mousePress(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(overlay, QPoint(x + 60, y + 60))
    QTest.mouseMove(overlay, end)
    QTest.mouseRelease(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)

    # THEN the image handed to redaction is exactly those pixels
    qtbot.waitUntil(lambda: len(editors) == 1, timeout=WAIT_MS)
    assert same_pixels(editors[0].image, expected_pattern(16, 24, 100, 80))
    presenter.deleteLater()


def test_region_then_redaction_sends_the_pattern_with_a_solid_box(
    qtbot: QtBot, qapp: QApplication, pattern: tuple[int, ...]
) -> None:
    x, y, _, _ = pattern
    encoder = ImageEncoder()
    overlays: list[RegionOverlay] = []
    editors: list[RedactionView] = []

    def make_overlay(shot: Screenshot) -> RegionOverlay:
        overlays.append(RegionOverlay.for_screenshot(shot))  # the presenter deletes it when done
        return overlays[-1]

    def make_editor(image: Image.Image) -> RedactionView:
        editors.append(RedactionView(RedactionPresenter(image, encoder)))  # the presenter deletes it when done
        return editors[-1]

    presenter = CapturePresenter(ScreenCapturer(), overlay_factory=make_overlay, redaction_factory=make_editor)
    try:
        # GIVEN a region of 120x100 screen pixels selected on the frozen overlay
        presenter.capture_region()
        qtbot.waitUntil(lambda: bool(overlays) and overlays[0].isVisible(), timeout=WAIT_MS)
        overlay = overlays[0]
        qtbot.waitExposed(overlay)
        QTest.mousePress(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x + 8, y + 8))
        QTest.mouseMove(overlay, QPoint(x + 128, y + 108))
        QTest.mouseRelease(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x + 128, y + 108))
        qtbot.waitUntil(lambda: bool(editors) and editors[0].isVisible(), timeout=WAIT_MS)
        editor = editors[0]
        qtbot.waitExposed(editor)

        # WHEN the user blacks out image pixels (10, 20)-(50, 60) and attaches
        canvas = editor.canvas
        a, b = canvas.to_widget(10, 20).toPoint(), canvas.to_widget(50, 60).toPoint()
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
        QTest.mouseMove(canvas, b)
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
        qtbot.waitUntil(editor.send_button.isEnabled, timeout=WAIT_MS)
        with qtbot.wait_signal(presenter.captured, timeout=WAIT_MS) as blocker:
            QTest.mouseClick(editor.send_button, Qt.MouseButton.LeftButton)

        # THEN the bytes are the pattern with exactly that box solid black
        data, media_type, _ocr = blocker.args
        assert media_type == "image/webp"
        with Image.open(io.BytesIO(data)) as decoded:
            sent = decoded.convert("RGB")
        expected = expected_pattern(8, 8, 120, 100)
        expected.paste((0, 0, 0), (10, 20, 50, 60))
        assert same_pixels(sent, expected)
    finally:
        presenter.deleteLater()
        encoder.shutdown()


@pytest.mark.parametrize("scale", ["2", "1.5"])
def test_a_region_on_a_scaled_screen_maps_to_the_right_physical_pixels(pattern: tuple[int, ...], scale: str) -> None:
    # GIVEN Qt scales the screen (Qt's scale factor is per process, hence a child process)
    x, y, _, _ = pattern
    ratio = float(scale)
    script = Path(__file__).with_name("scaled_region_capture.py")
    # WHEN the user drags over the logical pixels that show pattern pixels (24, 30)-(144, 120)
    drag = [round((x + 24) / ratio), round((y + 30) / ratio), round((x + 144) / ratio), round((y + 120) / ratio)]
    env = {**os.environ, "QT_SCALE_FACTOR": scale}
    out = subprocess.run(
        [sys.executable, str(script), *map(str, drag)], capture_output=True, text=True, timeout=60, env=env, check=True
    )

    # THEN the physical region is the drag scaled by the ratio, and its pixels are exactly the pattern's there
    result = json.loads(out.stdout)
    assert result["ratio"] == ratio
    left, top, width, height = result["rect"]
    assert (left, top) == (math.floor(drag[0] * ratio), math.floor(drag[1] * ratio))
    assert (left + width, top + height) == (math.ceil(drag[2] * ratio), math.ceil(drag[3] * ratio))
    expected = expected_pattern(left - x, top - y, width, height)
    assert bytes.fromhex(result["pixels"]) == expected.tobytes()


def test_capture_and_encode_of_a_full_hd_screen_is_quick(qapp: QApplication, pattern: tuple[int, ...]) -> None:
    capturer = ScreenCapturer()
    capturer.capture()  # warm up
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        encoded = encode_screenshot(capturer.capture().image)
        timings.append(time.perf_counter() - started)

    print(f"capture+encode 1920x1080: best {min(timings) * 1000:.0f} ms, {len(encoded.data) / 1024:.0f} KB")
    assert encoded.lossless  # a desktop with windows is a flat "text" screen
    assert min(timings) < 0.5
