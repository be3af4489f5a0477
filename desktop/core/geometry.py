"""Rectangles for region capture, in logical (Qt) and physical (screen pixel) units.

Qt reports mouse positions in logical pixels; a screenshot has physical pixels. On a scaled screen
(device-pixel ratio 1.25, 1.5, 2 …) a drag from (10, 10) to (110, 60) covers 125×62.5 … physical pixels, so the
selection must be scaled, rounded outward (never cut off a pixel the user saw inside the box) and clamped to
the screen, or the captured region is off by a few pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Rect", "clamp", "from_drag", "to_logical", "to_physical"]


@dataclass(frozen=True, slots=True)
class Rect:
    """An axis-aligned rectangle: ``x``/``y`` of the top-left corner, ``width``/``height`` ≥ 0."""

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width < 0 or self.height < 0:
            raise ValueError(f"negative size: {self.width}×{self.height}")

    @property
    def right(self) -> int:
        """One past the last column."""
        return self.x + self.width

    @property
    def bottom(self) -> int:
        """One past the last row."""
        return self.y + self.height

    @property
    def empty(self) -> bool:
        """No pixel inside (a click without a drag)."""
        return self.width == 0 or self.height == 0

    def contains(self, other: Rect) -> bool:
        """Whether ``other`` lies entirely inside this rectangle."""
        return self.x <= other.x and self.y <= other.y and other.right <= self.right and other.bottom <= self.bottom

    def overlaps(self, other: Rect) -> bool:
        """Whether the two share at least one pixel (touching edges do not count; an empty rectangle overlaps none)."""
        if self.empty or other.empty:
            return False
        return self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom


def from_drag(start: tuple[float, float], end: tuple[float, float]) -> Rect:
    """The rectangle spanned by a drag in any direction, rounded outward to whole units."""
    left, right = sorted((start[0], end[0]))
    top, bottom = sorted((start[1], end[1]))
    x, y = math.floor(left), math.floor(top)
    return Rect(x, y, math.ceil(right) - x, math.ceil(bottom) - y)


def clamp(rect: Rect, bounds: Rect) -> Rect:
    """The part of ``rect`` inside ``bounds`` (empty, at the nearest edge, when they do not overlap)."""
    left = min(max(rect.x, bounds.x), bounds.right)
    top = min(max(rect.y, bounds.y), bounds.bottom)
    right = max(min(rect.right, bounds.right), left)
    bottom = max(min(rect.bottom, bounds.bottom), top)
    return Rect(left, top, right - left, bottom - top)


def to_physical(rect: Rect, ratio: float, *, screen: Rect | None = None) -> Rect:
    """Logical → physical pixels for a device-pixel ``ratio``, rounded outward, clamped to ``screen`` if given.

    Coordinates are relative to the same origin (e.g. the screen's top-left corner).
    """
    _check_ratio(ratio)
    left = math.floor(_snap(rect.x * ratio))
    top = math.floor(_snap(rect.y * ratio))
    right = math.ceil(_snap(rect.right * ratio))
    bottom = math.ceil(_snap(rect.bottom * ratio))
    physical = Rect(left, top, right - left, bottom - top)
    return clamp(physical, screen) if screen is not None else physical


def to_logical(rect: Rect, ratio: float) -> Rect:
    """Physical → logical pixels, rounded outward (for drawing a physical box on the overlay)."""
    _check_ratio(ratio)
    left = math.floor(_snap(rect.x / ratio))
    top = math.floor(_snap(rect.y / ratio))
    right = math.ceil(_snap(rect.right / ratio))
    bottom = math.ceil(_snap(rect.bottom / ratio))
    return Rect(left, top, right - left, bottom - top)


def _snap(value: float) -> float:
    """Undo float noise (0.1 × 3 = 0.30000000000000004) so an exact product does not round outward by one."""
    nearest = round(value)
    return float(nearest) if abs(value - nearest) < 1e-9 else value


def _check_ratio(ratio: float) -> None:
    if not math.isfinite(ratio) or ratio <= 0:
        raise ValueError(f"device-pixel ratio must be positive, got {ratio!r}")
