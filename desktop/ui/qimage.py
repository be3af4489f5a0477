"""Pillow ↔ Qt image conversion, in memory (no temporary files: unredacted pixels never touch the disk)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QImage

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["to_qimage"]


def to_qimage(image: Image.Image) -> QImage:
    """Copy an image into a QImage that owns its pixels (RGB888)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    data = rgb.tobytes("raw", "RGB")
    qimage = QImage(data, rgb.width, rgb.height, rgb.width * 3, QImage.Format.Format_RGB888)
    return qimage.copy()  # detach from ``data``, which Python may free
