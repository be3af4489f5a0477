"""Region capture in a process of its own with Qt scaling on (``QT_SCALE_FACTOR``), for HiDPI tests on X.

Run as ``python scaled_region_capture.py X1 Y1 X2 Y2`` (a drag in logical pixels); writes the selected region as
one JSON line: its physical rectangle, the device-pixel ratio and the cropped pixels (hex RGB).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop.core.geometry import Rect


def main() -> None:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from desktop.services.capture.main import ScreenCapturer, crop
    from desktop.ui.region_overlay import RegionOverlay

    x1, y1, x2, y2 = (int(v) for v in sys.argv[1:5])
    app = QApplication(sys.argv[:1])
    shot = ScreenCapturer().capture()
    overlay = RegionOverlay.for_screenshot(shot)
    chosen: list[Rect] = []
    overlay.selected.connect(chosen.append)  # emitted on this (GUI) thread
    overlay.present()
    QTest.qWaitForWindowExposed(overlay)
    QTest.mousePress(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x1, y1))
    QTest.mouseMove(overlay, QPoint(x2, y2))
    QTest.mouseRelease(overlay, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x2, y2))
    app.processEvents()
    [rect] = chosen
    image = crop(shot, rect)
    print(
        json.dumps(
            {
                "rect": [rect.x, rect.y, rect.width, rect.height],
                "ratio": shot.device_pixel_ratio,
                "pixels": image.tobytes().hex(),
            }
        )
    )


if __name__ == "__main__":
    main()
