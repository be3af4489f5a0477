"""Local OCR: finds the error code and the sentence on a rendered dialog, in reading order, quietly."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from server.domain.tickets.images import process_screenshot
from server.domain.tickets.ocr import RapidOcr, reading_order
from tests.fixtures.images import DIALOG_ERROR, DIALOG_SENTENCE, desktop_screenshot, dialog_screenshot

if TYPE_CHECKING:
    from server.context import Models

pytestmark = pytest.mark.slow  # each OCR takes 1–4 s


def test_ocr_reads_a_rendered_error_dialog(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    lines = RapidOcr().read(Image.open(io.BytesIO(dialog_screenshot())))  # a fresh engine: loading is quiet too

    assert DIALOG_ERROR in lines
    assert DIALOG_SENTENCE in lines
    assert lines.index("Windows Update") < lines.index(DIALOG_ERROR) < lines.index(DIALOG_SENTENCE) < lines.index("OK")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")  # rapidocr's own stderr logger is silenced
    assert not [r for r in caplog.records if r.name == "RapidOCR" and r.levelno < logging.WARNING]
    rapid = logging.getLogger("RapidOCR")
    assert rapid.handlers == []
    assert rapid.propagate
    assert rapid.level == logging.WARNING


def test_process_screenshot_puts_the_ocr_text_on_the_result(models: Models) -> None:
    processed = process_screenshot(desktop_screenshot(), ocr=models.ocr)

    lines = processed.ocr_text.split("\n")
    assert DIALOG_ERROR in lines
    assert DIALOG_SENTENCE in lines
    assert lines.index(DIALOG_ERROR) + 1 == lines.index(DIALOG_SENTENCE)  # the dialog's lines stay together
    assert lines[-5:] == ["Start", "Edge", "File Explorer", "Outlook - Inbox", "Teams"]  # taskbar, left to right


def test_blank_image_has_no_text(caplog: pytest.LogCaptureFixture, models: Models) -> None:
    caplog.set_level(logging.DEBUG)

    assert models.ocr.read(Image.new("RGB", (300, 200), "white")) == []
    assert not [r for r in caplog.records if r.name == "RapidOCR"]  # "detection result is empty" is not news


def test_reading_order_is_rows_top_to_bottom_then_left_to_right() -> None:
    def box(x: int, y: int, w: int = 50, h: int = 20) -> list[list[int]]:
        return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]

    boxes = [box(300, 102), box(10, 100), box(10, 10), box(150, 98, h=26), box(10, 200)]
    texts = ["row2-right", "row2-left", "row1", "row2-middle-taller", "row3"]

    assert reading_order(boxes, texts) == ["row1", "row2-left", "row2-middle-taller", "row2-right", "row3"]


def test_the_model_copy_keeps_dialog_text_readable(models: Models) -> None:
    # The 1568 px JPEG q85 sent to vision models: if OCR can still read the dialog, so can a model.
    processed = process_screenshot(desktop_screenshot())

    lines = models.ocr.read(Image.open(io.BytesIO(processed.model_copy)))

    assert DIALOG_ERROR in lines
    assert DIALOG_SENTENCE in lines
