"""CapturePresenter with fake views and a fake capturer, offscreen: the flow, cancels, failures, hidden windows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from desktop.core.capture import CaptureError, CaptureMode, MonitorArea, Screenshot
from desktop.core.geometry import Rect
from desktop.presenters.capture_presenter import CapturePresenter

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

WAIT_MS = 2000
MONITOR = MonitorArea("fake-1", 0, 0, 100, 50, 2.0)


def gradient_screen() -> Image.Image:
    """200x100 physical pixels where each pixel's colour encodes its position."""
    image = Image.new("RGB", (200, 100))
    image.putdata([(x, y, 7) for y in range(100) for x in range(200)])
    return image


class FakeCapturer:
    """Returns a fixed screenshot (or raises), and records what was visible at the moment of the grab."""

    def __init__(self, error: Exception | None = None, watch: QWidget | None = None) -> None:
        self.error = error
        self.watch = watch
        self.calls = 0
        self.watched_visible_during_grab: bool | None = None

    def capture(self) -> Screenshot:
        self.calls += 1
        if self.watch is not None:
            self.watched_visible_during_grab = self.watch.isVisible()
        if self.error is not None:
            raise self.error
        return Screenshot(gradient_screen(), MONITOR)


class FakeOverlay(QObject):
    selected = Signal(object)
    cancelled = Signal()

    def __init__(self, screenshot: Screenshot) -> None:
        super().__init__()
        self.screenshot = screenshot
        self.presented = False

    def present(self) -> None:
        self.presented = True


class FakeEditor(QObject):
    accepted = Signal(bytes, str, object)
    cancelled = Signal()

    def __init__(self, image: Image.Image) -> None:
        super().__init__()
        self.image = image
        self.presented = False

    def present(self) -> None:
        self.presented = True


class Views:
    """The fake views the presenter asked for, newest last."""

    def __init__(self) -> None:
        self.overlays: list[FakeOverlay] = []
        self.editors: list[FakeEditor] = []

    def overlay(self, screenshot: Screenshot) -> FakeOverlay:
        self.overlays.append(FakeOverlay(screenshot))
        return self.overlays[-1]

    def editor(self, image: Image.Image) -> FakeEditor:
        self.editors.append(FakeEditor(image))
        return self.editors[-1]


MakePresenter = Callable[..., tuple[CapturePresenter, Views]]


@pytest.fixture
def make_presenter(qapp: object) -> Iterator[MakePresenter]:
    made: list[CapturePresenter] = []

    def make(capturer: FakeCapturer) -> tuple[CapturePresenter, Views]:
        views = Views()
        presenter = CapturePresenter(
            capturer, overlay_factory=views.overlay, redaction_factory=views.editor, settle_ms=10
        )
        made.append(presenter)
        return presenter, views

    yield make
    for presenter in made:
        presenter.deleteLater()


def test_screen_capture_goes_to_redaction_and_the_redacted_bytes_come_out(
    qtbot: QtBot, make_presenter: MakePresenter
) -> None:
    presenter, views = make_presenter(FakeCapturer())

    presenter.capture_screen()
    qtbot.waitUntil(lambda: len(views.editors) == 1, timeout=WAIT_MS)

    editor = views.editors[0]
    assert editor.presented
    assert editor.image.size == (200, 100)
    assert views.overlays == []
    with qtbot.wait_signal(presenter.captured, timeout=WAIT_MS) as blocker:
        editor.accepted.emit(b"RIFF....WEBP", "image/webp", None)
    assert blocker.args == [b"RIFF....WEBP", "image/webp", None]
    assert not presenter.busy


def test_region_capture_crops_the_selected_physical_pixels(qtbot: QtBot, make_presenter: MakePresenter) -> None:
    presenter, views = make_presenter(FakeCapturer())

    presenter.capture_region()
    qtbot.waitUntil(lambda: len(views.overlays) == 1, timeout=WAIT_MS)
    overlay = views.overlays[0]
    assert overlay.presented
    assert overlay.screenshot.device_pixel_ratio == 2.0

    overlay.selected.emit(Rect(30, 40, 20, 10))

    [editor] = views.editors
    assert editor.image.size == (20, 10)
    assert editor.image.getpixel((0, 0)) == (30, 40, 7)
    assert editor.image.getpixel((19, 9)) == (49, 49, 7)


@pytest.mark.parametrize("step", ["overlay", "editor"])
def test_cancelling_any_step_ends_the_flow(qtbot: QtBot, make_presenter: MakePresenter, step: str) -> None:
    presenter, views = make_presenter(FakeCapturer())
    presenter.start(CaptureMode.REGION)
    qtbot.waitUntil(lambda: len(views.overlays) == 1, timeout=WAIT_MS)
    if step == "editor":
        views.overlays[0].selected.emit(Rect(0, 0, 10, 10))

    with qtbot.wait_signal(presenter.cancelled, timeout=WAIT_MS), qtbot.assert_not_emitted(presenter.captured):
        (views.editors[0] if step == "editor" else views.overlays[0]).cancelled.emit()

    assert not presenter.busy


def test_a_capture_error_is_reported_in_words(qtbot: QtBot, make_presenter: MakePresenter) -> None:
    presenter, views = make_presenter(FakeCapturer(CaptureError("Screen capture is not available here.")))

    with qtbot.wait_signal(presenter.failed, timeout=WAIT_MS) as blocker:
        presenter.capture_screen()

    assert blocker.args == ["Screen capture is not available here."]
    assert views.editors == []
    assert not presenter.busy


def test_an_unexpected_crash_is_reported_too(qtbot: QtBot, make_presenter: MakePresenter) -> None:
    presenter, _ = make_presenter(FakeCapturer(OSError("XGetImage failed")))

    with qtbot.wait_signal(presenter.failed, timeout=WAIT_MS) as blocker:
        presenter.capture_screen()

    assert blocker.args == ["The screen could not be captured."]


def test_a_second_request_while_busy_is_ignored(qtbot: QtBot, make_presenter: MakePresenter) -> None:
    capturer = FakeCapturer()
    presenter, views = make_presenter(capturer)

    assert presenter.start(CaptureMode.SCREEN)
    assert not presenter.start(CaptureMode.REGION)
    qtbot.waitUntil(lambda: len(views.editors) == 1, timeout=WAIT_MS)
    qtbot.wait(50)

    assert capturer.calls == 1
    assert views.overlays == []


def test_our_windows_are_hidden_during_the_grab_and_shown_again(qtbot: QtBot, make_presenter: MakePresenter) -> None:
    # GIVEN one of our windows is open
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    capturer = FakeCapturer(watch=window)
    presenter, views = make_presenter(capturer)

    # WHEN a capture runs
    presenter.capture_screen()
    qtbot.waitUntil(lambda: len(views.editors) == 1, timeout=WAIT_MS)

    # THEN the window was hidden at the moment of the grab and is back afterwards
    assert capturer.watched_visible_during_grab is False
    assert window.isVisible()
