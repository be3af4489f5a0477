"""Picking a capture back-end and cropping regions, with fake back-ends (no display needed)."""

from __future__ import annotations

import pytest
from PIL import Image

from desktop.core.capture import CaptureError, MonitorArea, Screenshot
from desktop.core.geometry import Rect
from desktop.services.capture.handlers.mss_handler import _pick_monitor
from desktop.services.capture.main import ScreenCapturer, crop

MONITOR = MonitorArea("HDMI-1", 1920, 0, 1280, 720, 1.5)


class FakeHandler:
    def __init__(self, name: str, *, available: bool, mode: str = "RGB") -> None:
        self.name = name
        self.available = available
        self.mode = mode
        self.captured: list[MonitorArea] = []

    def is_available(self) -> bool:
        return self.available

    def capture(self, monitor: MonitorArea) -> Image.Image:
        self.captured.append(monitor)
        return Image.new(self.mode, monitor.physical_size)


def test_the_first_available_back_end_captures_at_device_resolution() -> None:
    broken, working = FakeHandler("portal", available=False), FakeHandler("mss", available=True, mode="RGBA")

    shot = ScreenCapturer([broken, working]).capture(MONITOR)

    assert working.captured == [MONITOR]
    assert broken.captured == []
    assert shot.image.size == (1920, 1080)
    assert shot.image.mode == "RGB"
    assert shot.device_pixel_ratio == 1.5


def test_no_back_end_is_an_error_in_words() -> None:
    with pytest.raises(CaptureError, match="not available"):
        ScreenCapturer([FakeHandler("mss", available=False)]).capture(MONITOR)


def test_crop_is_clamped_and_an_empty_region_is_refused() -> None:
    shot = Screenshot(Image.new("RGB", (100, 50)), MONITOR)

    assert crop(shot, Rect(90, 40, 30, 30)).size == (10, 10)
    with pytest.raises(CaptureError):
        crop(shot, Rect(200, 200, 10, 10))


def test_mss_monitor_is_matched_by_its_native_top_left_then_by_size() -> None:
    monitors = [
        {"left": 0, "top": 0, "width": 3840, "height": 1080},
        {"left": 0, "top": 0, "width": 1920, "height": 1080, "is_primary": True},
        {"left": 1920, "top": 0, "width": 1920, "height": 1080},
    ]

    assert _pick_monitor(monitors, MONITOR) is monitors[2]
    assert _pick_monitor(monitors, MonitorArea("x", 5000, 0, 1280, 720, 1.5)) is monitors[1]  # same size
    assert _pick_monitor(monitors, MonitorArea("x", 5000, 0, 800, 600, 1.0)) is monitors[1]  # primary
