"""The redaction window offscreen: drawn boxes are solid black in the bytes sent; suggestions; preview and size."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from desktop.core.geometry import Rect
from desktop.core.redaction import OcrLine, RedactionOrigin
from desktop.presenters.redaction_presenter import NOTHING_FOUND_TEXT, PREPARING_TEXT, SKIPPED_TEXT, RedactionPresenter
from desktop.services.capture.encode import format_size
from desktop.services.capture.ocr import OcrEngine, OcrUnavailableError
from desktop.services.capture.workers import ImageEncoder, SuggestionFinder
from desktop.ui.redaction_view import RedactionView

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

# The offscreen platform cannot pass size hints of a top-level window with a layout to a window manager.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")

WAIT_MS = 5000
WIDTH, HEIGHT = 200, 150
EMAIL_LINE = OcrLine("mail bob@corp.com", Rect(20, 100, 170, 20))  # 10 px per character

MakeView = Callable[..., RedactionView]


def screen_like_image() -> Image.Image:
    """Flat coloured bands with a few details, like a UI screenshot, and no black pixel anywhere."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (236, 236, 236))
    for i, colour in enumerate([(200, 40, 40), (40, 160, 60), (30, 60, 200), (250, 210, 60)]):
        image.paste(colour, (10 + 45 * i, 10, 45 + 45 * i, 60))
    image.paste((90, 90, 90), (20, 100, 190, 120))
    return image


def decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def engine_returning(lines: list[OcrLine]) -> Callable[[], OcrEngine]:
    def load() -> OcrEngine:
        return OcrEngine("fake-ocr", "1.0", lambda _image: lines)

    return load


def no_ocr() -> OcrEngine:
    raise OcrUnavailableError("Text recognition is not installed.")


@pytest.fixture
def make_view(qtbot: QtBot) -> Iterator[MakeView]:
    """Presented views on real worker threads; workers are shut down after the test."""
    workers: list[ImageEncoder | SuggestionFinder] = []

    def make(*, ocr: Callable[[], OcrEngine] | None = None, wait_ready: bool = True) -> RedactionView:
        encoder = ImageEncoder()
        finder = SuggestionFinder(ocr) if ocr is not None else None
        workers.extend([encoder, *([finder] if finder else [])])
        view = RedactionView(RedactionPresenter(screen_like_image(), encoder, finder))
        qtbot.addWidget(view)
        view.present()
        qtbot.waitExposed(view)
        if wait_ready:
            qtbot.waitUntil(view.send_button.isEnabled, timeout=WAIT_MS)
        return view

    yield make
    for worker in workers:
        worker.shutdown()


def drag_on_canvas(view: RedactionView, start: tuple[int, int], end: tuple[int, int]) -> None:
    canvas = view.canvas
    a, b = canvas.to_widget(*start).toPoint(), canvas.to_widget(*end).toPoint()
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    QTest.mouseMove(canvas, QPoint((a.x() + b.x()) // 2, (a.y() + b.y()) // 2))
    QTest.mouseMove(canvas, b)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)


def attach(qtbot: QtBot, view: RedactionView) -> tuple[bytes, str]:
    qtbot.waitUntil(view.send_button.isEnabled, timeout=WAIT_MS)
    with qtbot.wait_signal(view.accepted, timeout=WAIT_MS) as blocker:
        QTest.mouseClick(view.send_button, Qt.MouseButton.LeftButton)
    data, media_type, _ocr = blocker.args
    return data, media_type


def black_pixels(image: Image.Image) -> set[tuple[int, int]]:
    return {(x, y) for y in range(image.height) for x in range(image.width) if image.getpixel((x, y)) == (0, 0, 0)}


def test_a_drawn_box_is_solid_black_in_the_bytes_sent_and_nothing_else_changes(
    qtbot: QtBot, make_view: MakeView
) -> None:
    # GIVEN a screenshot in the redaction window (scaled 1:1 on the canvas)
    view = make_view()
    assert view.canvas.scale() == 1.0

    # WHEN the user drags over image pixels (30, 20)-(90, 50) and attaches
    drag_on_canvas(view, (30, 20), (90, 50))
    data, media_type = attach(qtbot, view)

    # THEN exactly that box is black in the uploaded pixels, and everything else is untouched
    assert media_type == "image/webp"
    sent = decode(data)
    assert sent.size == (WIDTH, HEIGHT)
    assert black_pixels(sent) == {(x, y) for x in range(30, 90) for y in range(20, 50)}
    original = screen_like_image()
    assert sent.getpixel((5, 5)) == original.getpixel((5, 5))
    assert sent.getpixel((150, 30)) == original.getpixel((150, 30))
    assert not view.isVisible()


def test_the_size_label_follows_the_bytes_that_will_be_sent(qtbot: QtBot, make_view: MakeView) -> None:
    view = make_view()
    first = view.presenter.result
    assert first is not None
    assert view.size_label.text() == f"Will send {format_size(len(first.data))} ({WIDTH} × {HEIGHT} WebP)"

    drag_on_canvas(view, (0, 0), (200, 150))  # black out everything: far fewer bytes

    assert view.size_label.text() == PREPARING_TEXT
    assert not view.send_button.isEnabled()
    qtbot.waitUntil(view.send_button.isEnabled, timeout=WAIT_MS)
    second = view.presenter.result
    assert second is not None
    assert len(second.data) < len(first.data)
    assert view.size_label.text() == f"Will send {format_size(len(second.data))} ({WIDTH} × {HEIGHT} WebP)"


def test_suggestions_are_applied_and_can_be_unticked(qtbot: QtBot, make_view: MakeView) -> None:
    # GIVEN OCR that reads an email address on the screen
    view = make_view(ocr=engine_returning([EMAIL_LINE]))
    qtbot.waitUntil(lambda: view.box_list.count() == 1, timeout=WAIT_MS)
    [suggestion] = list(view.boxes)
    assert suggestion.origin is RedactionOrigin.SUGGESTED
    assert suggestion.enabled
    assert "Hid 1 thing" in view.ocr_label.text()
    assert "bob@corp.com" not in view.box_list.item(0).text()  # masked in the list

    # WHEN nothing is changed, the address is black in the upload...
    qtbot.waitUntil(view.send_button.isEnabled, timeout=WAIT_MS)
    box = suggestion.box
    assert box.x <= 70
    assert box.right >= 190
    redacted = view.presenter.result
    assert redacted is not None
    assert decode(redacted.data).getpixel((120, 110)) == (0, 0, 0)

    # ...and WHEN the user unticks it, the pixels are sent as they are
    view.box_list.item(0).setCheckState(Qt.CheckState.Unchecked)
    data, _ = attach(qtbot, view)
    assert decode(data).getpixel((120, 110)) == (90, 90, 90)


def test_without_ocr_the_window_says_so_and_manual_boxes_still_work(qtbot: QtBot, make_view: MakeView) -> None:
    view = make_view(ocr=no_ocr)
    qtbot.waitUntil(lambda: "not installed" in view.ocr_label.text(), timeout=WAIT_MS)
    assert "draw boxes" in view.ocr_label.text()

    drag_on_canvas(view, (10, 10), (20, 20))
    data, _ = attach(qtbot, view)

    assert black_pixels(decode(data)) == {(x, y) for x in range(10, 20) for y in range(10, 20)}


def test_ocr_that_finds_nothing_says_so(qtbot: QtBot, make_view: MakeView) -> None:
    view = make_view(ocr=engine_returning([OcrLine("Error 0x80070005: Access is denied.", Rect(0, 0, 200, 20))]))

    qtbot.waitUntil(lambda: view.ocr_label.text() == NOTHING_FOUND_TEXT, timeout=WAIT_MS)
    assert len(view.boxes) == 0


def test_right_click_removes_a_drawn_box(qtbot: QtBot, make_view: MakeView) -> None:
    view = make_view()
    drag_on_canvas(view, (30, 20), (90, 50))
    assert view.box_list.count() == 1

    QTest.mouseClick(
        view.canvas, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, view.canvas.to_widget(50, 30).toPoint()
    )

    assert view.box_list.count() == 0
    data, _ = attach(qtbot, view)
    assert black_pixels(decode(data)) == set()


def test_the_preview_shows_the_decoded_upload(qtbot: QtBot, make_view: MakeView) -> None:
    view = make_view()
    drag_on_canvas(view, (30, 20), (90, 50))
    qtbot.waitUntil(view.send_button.isEnabled, timeout=WAIT_MS)

    top_left = view.canvas.to_widget(30, 20).toPoint()

    def colour_at(dx: int, dy: int) -> tuple[int, int, int]:
        colour = view.canvas.grab().toImage().pixelColor(top_left.x() + dx, top_left.y() + dy)
        return colour.red(), colour.green(), colour.blue()

    just_outside = screen_like_image().getpixel((29, 25))
    assert colour_at(-1, 5) != just_outside  # editing: the box has an outline

    view.preview_check.setChecked(True)

    # the decoded upload, without outlines: black inside, the screenshot's own pixels right outside
    assert colour_at(5, 5) == (0, 0, 0)
    assert colour_at(-1, 5) == just_outside


def test_cancel_and_escape_cancel(qtbot: QtBot, make_view: MakeView) -> None:
    view = make_view()
    with qtbot.assert_not_emitted(view.accepted), qtbot.wait_signal(view.cancelled, timeout=WAIT_MS):
        QTest.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
    assert not view.isVisible()

    other = make_view()
    with qtbot.wait_signal(other.cancelled, timeout=WAIT_MS):
        QTest.keyClick(other, Qt.Key.Key_Escape)


def test_attach_waits_for_the_suggestions_unless_the_user_stops_waiting(qtbot: QtBot, make_view: MakeView) -> None:
    # GIVEN OCR that is still busy
    release = threading.Event()

    def slow_engine(_image: Image.Image) -> list[OcrLine]:
        release.wait(WAIT_MS / 1000)
        return [EMAIL_LINE]

    view = make_view(ocr=lambda: OcrEngine("fake-ocr", "1.0", slow_engine), wait_ready=False)
    try:
        qtbot.waitUntil(lambda: view.presenter.result is not None, timeout=WAIT_MS)  # encoded, but...
        assert not view.send_button.isEnabled()  # ...a quick click cannot skip the suggestions
        assert view.skip_button.isVisible()

        # WHEN the user chooses not to wait
        QTest.mouseClick(view.skip_button, Qt.MouseButton.LeftButton)

        # THEN Attach works, and the late suggestions do not change what was chosen
        assert view.send_button.isEnabled()
        assert view.ocr_label.text() == SKIPPED_TEXT
    finally:
        release.set()
    qtbot.wait(100)
    assert len(view.boxes) == 0
    data, _ = attach(qtbot, view)
    assert black_pixels(decode(data)) == set()


def test_closing_twice_is_harmless_and_the_shared_encoder_lives_on(qtbot: QtBot, make_view: MakeView) -> None:
    view = make_view()
    view.close()
    view.close()

    encoder = view.presenter.encoder  # shared with the next window
    with qtbot.wait_signal(encoder.encoded, timeout=WAIT_MS):
        encoder.request(screen_like_image(), [])
    assert view.presenter.result is not None  # the closed window ignored the new result
