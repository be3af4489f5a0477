"""A window of another process showing a known pixel pattern, for capture tests on a real X server.

Run as ``python pattern_window.py X Y WIDTH HEIGHT``; prints ``ready`` once the window is painted; the test
terminates it.
"""

from __future__ import annotations

import sys

BLOCK = 8


def pattern_colour(x: int, y: int) -> tuple[int, int, int]:
    """The colour at window pixel (x, y): 8x8 blocks, each with its own colour."""
    return ((x // BLOCK) * 16 % 256, (y // BLOCK) * 16 % 256, 200)


def main() -> None:
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QImage, QPainter, QPaintEvent
    from PySide6.QtWidgets import QApplication, QWidget

    x, y, width, height = (int(v) for v in sys.argv[1:5])
    app = QApplication(sys.argv[:1])
    data = bytes(c for py in range(height) for px in range(width) for c in pattern_colour(px, py))
    image = QImage(data, width, height, width * 3, QImage.Format.Format_RGB888).copy()

    class Pattern(QWidget):
        def paintEvent(self, _event: QPaintEvent) -> None:
            painter = QPainter(self)
            painter.drawImage(0, 0, image)
            painter.end()

    window = Pattern(None, Qt.WindowType.X11BypassWindowManagerHint | Qt.WindowType.FramelessWindowHint)
    window.setGeometry(x, y, width, height)
    window.show()
    QTimer.singleShot(300, lambda: print("ready", flush=True))
    app.exec()


if __name__ == "__main__":
    main()
