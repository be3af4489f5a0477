"""The redaction presenter without a window: boxes, suggestions, and the bytes and text sent, on real workers."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from desktop.core.geometry import Rect
from desktop.core.ocr_text import OcrUpload
from desktop.core.redaction import OcrLine, RedactionOrigin
from desktop.presenters.redaction_presenter import (
    NOTHING_FOUND_TEXT,
    SKIPPED_TEXT,
    RedactionPresenter,
    masked_label,
)
from desktop.services.capture.ocr import OcrEngine
from desktop.services.capture.workers import ImageEncoder, SuggestionFinder

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

WAIT_MS = 5000
GREY = (90, 90, 90)
EMAIL_LINE = OcrLine("mail bob@corp.com", Rect(20, 100, 170, 20))
TITLE_LINE = OcrLine("Access is denied.", Rect(20, 10, 150, 20))
PRINTER_LINE = OcrLine("Printer HP-2 offline", Rect(20, 50, 140, 20))

MakePresenter = Callable[..., RedactionPresenter]
Read = Callable[[Image.Image], list[OcrLine]]


def grey_band_image() -> Image.Image:
    image = Image.new("RGB", (200, 150), (236, 236, 236))
    image.paste(GREY, (20, 100, 190, 120))
    return image


def decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


@pytest.fixture
def make_presenter(qtbot: QtBot) -> Iterator[MakePresenter]:
    workers: list[ImageEncoder | SuggestionFinder] = []
    presenters: list[RedactionPresenter] = []

    def make(*, engine: Read | None = None, wait_ready: bool = True) -> RedactionPresenter:
        encoder = ImageEncoder()
        finder = SuggestionFinder(lambda: OcrEngine("fake-ocr", "1.0", engine)) if engine is not None else None
        workers.extend([encoder, *([finder] if finder else [])])
        presenter = RedactionPresenter(grey_band_image(), encoder, finder)
        presenters.append(presenter)
        presenter.start()
        if wait_ready:
            qtbot.waitUntil(lambda: presenter.can_attach, timeout=WAIT_MS)
        return presenter

    yield make
    for presenter in presenters:
        presenter.cancel()
    for worker in workers:
        worker.shutdown()


def accept_with_text(qtbot: QtBot, presenter: RedactionPresenter) -> tuple[bytes, OcrUpload | None]:
    qtbot.waitUntil(lambda: presenter.can_attach, timeout=WAIT_MS)
    with qtbot.wait_signal(presenter.accepted, timeout=WAIT_MS) as blocker:
        presenter.accept()
    data, media_type, ocr = blocker.args
    assert media_type == "image/webp"
    return bytes(data), ocr


def accept(qtbot: QtBot, presenter: RedactionPresenter) -> bytes:
    return accept_with_text(qtbot, presenter)[0]


def test_a_drawn_box_is_black_in_the_bytes_accepted(qtbot: QtBot, make_presenter: MakePresenter) -> None:
    presenter = make_presenter()
    with qtbot.wait_signal(presenter.box_added) as blocker:
        presenter.add_box(Rect(30, 100, 20, 10))

    assert not presenter.can_attach  # the old encoding went stale with the new box
    assert blocker.args[0].origin is RedactionOrigin.USER
    sent = decode(accept(qtbot, presenter))
    assert sent.getpixel((35, 105)) == (0, 0, 0)
    assert sent.getpixel((60, 105)) == GREY


def test_suggestions_start_applied_and_unticking_sends_the_pixels(qtbot: QtBot, make_presenter: MakePresenter) -> None:
    presenter = make_presenter(engine=lambda _image: [EMAIL_LINE])
    qtbot.waitUntil(lambda: len(presenter.boxes) == 1, timeout=WAIT_MS)
    [suggestion] = list(presenter.boxes)
    assert suggestion.enabled
    assert "bob@corp.com" not in masked_label(suggestion)

    with qtbot.wait_signal(presenter.box_enabled_changed) as blocker:
        presenter.act_on_box(suggestion.id)  # a right-click unticks a suggestion instead of deleting it

    assert blocker.args == [suggestion.id, False]
    assert decode(accept(qtbot, presenter)).getpixel((120, 110)) == GREY


def test_ocr_that_finds_nothing_says_so(qtbot: QtBot, make_presenter: MakePresenter) -> None:
    texts: list[str] = []
    presenter = make_presenter(
        engine=lambda _image: [OcrLine("Access is denied.", Rect(0, 0, 200, 20))], wait_ready=False
    )
    presenter.ocr_text_changed.connect(texts.append)

    qtbot.waitUntil(lambda: NOTHING_FOUND_TEXT in texts, timeout=WAIT_MS)
    assert len(presenter.boxes) == 0


def test_attach_waits_for_ocr_until_the_user_stops_waiting(qtbot: QtBot, make_presenter: MakePresenter) -> None:
    release = threading.Event()

    def slow_engine(_image: Image.Image) -> list[OcrLine]:
        release.wait(WAIT_MS / 1000)
        return [EMAIL_LINE]

    presenter = make_presenter(engine=slow_engine, wait_ready=False)
    try:
        qtbot.waitUntil(lambda: presenter.result is not None, timeout=WAIT_MS)
        assert presenter.looking
        assert not presenter.can_attach
        with qtbot.wait_signal(presenter.ocr_text_changed) as blocker:
            presenter.stop_looking()
        assert blocker.args == [SKIPPED_TEXT]
        assert presenter.can_attach
    finally:
        release.set()


def test_cancel_emits_once_and_nothing_is_accepted_afterwards(qtbot: QtBot, make_presenter: MakePresenter) -> None:
    presenter = make_presenter()
    with qtbot.wait_signal(presenter.cancelled):
        presenter.cancel()

    with qtbot.assert_not_emitted(presenter.cancelled), qtbot.assert_not_emitted(presenter.accepted):
        presenter.cancel()
        presenter.accept()
    assert not presenter.can_attach


def test_attach_sends_the_text_of_the_lines_no_applied_box_touches(qtbot: QtBot, make_presenter: MakePresenter) -> None:
    # GIVEN OCR that read a title, a printer line and an email (suggested, so hidden)
    presenter = make_presenter(engine=lambda _image: [TITLE_LINE, PRINTER_LINE, EMAIL_LINE])
    qtbot.waitUntil(lambda: len(presenter.boxes) == 1, timeout=WAIT_MS)

    # WHEN the user also blacks out the printer's name, a few pixels of its line, and attaches
    presenter.add_box(Rect(100, 55, 40, 10))
    data, ocr = accept_with_text(qtbot, presenter)

    # THEN only the untouched title goes along, with the engine that read it, in the uploaded image's pixels
    assert ocr == OcrUpload("fake-ocr", "1.0", (TITLE_LINE,))
    assert decode(data).size == (200, 150)
    assert b"bob@corp.com" not in ocr.to_json()
    assert b"HP-2" not in ocr.to_json()


def test_an_unticked_suggestion_sends_its_line_with_its_pixels(qtbot: QtBot, make_presenter: MakePresenter) -> None:
    presenter = make_presenter(engine=lambda _image: [EMAIL_LINE])
    qtbot.waitUntil(lambda: len(presenter.boxes) == 1, timeout=WAIT_MS)
    [suggestion] = list(presenter.boxes)

    presenter.set_enabled(suggestion.id, False)  # the user chose to show the address: it is in the image too
    _data, ocr = accept_with_text(qtbot, presenter)

    assert ocr is not None
    assert ocr.lines == (EMAIL_LINE,)


@pytest.mark.parametrize("how", ["ocr off", "not waited for"])
def test_without_an_ocr_answer_no_text_goes_along(qtbot: QtBot, make_presenter: MakePresenter, how: str) -> None:
    release = threading.Event()

    def slow_engine(_image: Image.Image) -> list[OcrLine]:
        release.wait(WAIT_MS / 1000)
        return [TITLE_LINE]

    try:
        if how == "ocr off":
            presenter = make_presenter()
        else:
            presenter = make_presenter(engine=slow_engine, wait_ready=False)
            qtbot.waitUntil(lambda: presenter.result is not None, timeout=WAIT_MS)
            presenter.stop_looking()

        _data, ocr = accept_with_text(qtbot, presenter)
    finally:
        release.set()

    assert ocr is None  # the server reads the image itself
