"""Capture data types: what a back-end must offer and what a capture returns."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["CaptureError", "CaptureHandler", "CaptureMode", "MonitorArea", "Screenshot"]


class CaptureMode(enum.Enum):
    """Whole monitor, or a region the user selects on a frozen copy of it."""

    SCREEN = "screen"
    REGION = "region"


class CaptureError(RuntimeError):
    """The screen could not be captured; the message is for the user."""


@dataclass(frozen=True, slots=True)
class MonitorArea:
    """One monitor: its Qt (logical) geometry and its scale factor.

    Qt keeps a screen's top-left in native pixels and scales only its size, so the physical area is
    ``(x, y, round(width * ratio), round(height * ratio))``.
    """

    name: str
    x: int
    y: int
    width: int
    height: int
    device_pixel_ratio: float

    @property
    def physical_size(self) -> tuple[int, int]:
        """Width and height in device pixels."""
        return round(self.width * self.device_pixel_ratio), round(self.height * self.device_pixel_ratio)


@dataclass(frozen=True, slots=True)
class Screenshot:
    """A captured monitor, in memory only.

    Attributes:
        image: RGB pixels at device resolution.
        monitor: The monitor it shows.
    """

    image: Image.Image
    monitor: MonitorArea

    @property
    def device_pixel_ratio(self) -> float:
        """Device pixels per logical pixel of the monitor."""
        return self.monitor.device_pixel_ratio


class CaptureHandler(Protocol):
    """A capture back-end (mss today; a portal or Qt one could follow)."""

    name: str

    def is_available(self) -> bool:
        """Whether this back-end can capture on this system."""
        ...

    def capture(self, monitor: MonitorArea) -> Image.Image:
        """Grab one monitor as an RGB image at device resolution.

        Raises:
            CaptureError: If the grab fails.
        """
        ...
