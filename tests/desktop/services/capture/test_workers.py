"""Background redact+encode and OCR suggestions: results arrive on the GUI thread, tagged with their request."""

from __future__ import annotations

import importlib.metadata
import io
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from PIL import Image, ImageDraw, ImageFont

from desktop.core.geometry import Rect
from desktop.core.ocr_text import OcrReading
from desktop.core.redaction import OcrLine, SecretKind, suggest_redactions
from desktop.services.capture.encode import EncodedImage
from desktop.services.capture.ocr import OcrEngine, OcrUnavailableError, load_rapidocr
from desktop.services.capture.workers import ImageEncoder, SuggestionFinder

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytestqt.qtbot import QtBot

WAIT_MS = 5000
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@pytest.fixture
def encoder(qapp: object) -> Iterator[ImageEncoder]:
    encoder = ImageEncoder()
    yield encoder
    encoder.shutdown()


def test_the_encoder_fills_boxes_black_before_encoding(qtbot: QtBot, encoder: ImageEncoder) -> None:
    image = Image.new("RGB", (64, 48), (200, 220, 240))

    with qtbot.wait_signal(encoder.encoded, timeout=WAIT_MS) as blocker:
        request_id = encoder.request(image, [Rect(8, 8, 16, 4)])

    got_id, result = blocker.args
    assert got_id == request_id
    assert isinstance(result, EncodedImage)
    with Image.open(io.BytesIO(result.data)) as sent:
        pixels = sent.convert("RGB")
    assert pixels.getpixel((8, 8)) == pixels.getpixel((23, 11)) == (0, 0, 0)
    assert pixels.getpixel((24, 11)) == pixels.getpixel((8, 12)) == (200, 220, 240)
    assert image.getpixel((8, 8)) == (200, 220, 240)  # the caller's image is untouched


def test_each_request_is_answered_under_its_own_id(qtbot: QtBot, encoder: ImageEncoder) -> None:
    image = Image.new("RGB", (32, 32), (1, 2, 3))

    with qtbot.wait_signal(encoder.encoded, timeout=WAIT_MS, check_params_cb=lambda rid, _result: rid == 2):
        first, second = encoder.request(image, []), encoder.request(image, [Rect(0, 0, 4, 4)])

    assert (first, second) == (1, 2)


def fake_engine(lines: list[OcrLine]) -> OcrEngine:
    return OcrEngine("fake-ocr", "1.0", lambda _image: lines)


def test_suggestions_come_from_the_engine_text(qtbot: QtBot, qapp: object) -> None:
    loads: list[int] = []
    line = OcrLine("ssh admin@10.1.2.3", Rect(0, 0, 180, 20))

    def load() -> OcrEngine:
        loads.append(1)
        return fake_engine([line])

    finder = SuggestionFinder(load)
    try:
        with qtbot.wait_signal(finder.found, timeout=WAIT_MS) as blocker:
            request_id = finder.find(Image.new("RGB", (200, 40)))
        assert blocker.args[0] == request_id
        assert [(kind, text) for _box, kind, text in blocker.args[1]] == [(SecretKind.IP_ADDRESS, "10.1.2.3")]
        assert blocker.args[2] == OcrReading("fake-ocr", "1.0", (line,))  # all of it, for the upload to filter
        with qtbot.wait_signal(finder.found, timeout=WAIT_MS):
            finder.find(Image.new("RGB", (200, 40)))
        assert loads == [1]  # the engine is loaded once
    finally:
        finder.shutdown()


def test_a_bare_reader_works_as_an_engine_of_unknown_name(qtbot: QtBot, qapp: object) -> None:
    line = OcrLine("Access is denied.", Rect(0, 0, 180, 20))
    finder = SuggestionFinder(lambda: lambda _image: [line])
    try:
        with qtbot.wait_signal(finder.found, timeout=WAIT_MS) as blocker:
            finder.find(Image.new("RGB", (200, 40)))
        assert blocker.args[2] == OcrReading("unknown", "unknown", (line,))
    finally:
        finder.shutdown()


def test_missing_ocr_is_reported_not_raised(qtbot: QtBot, qapp: object) -> None:
    def load() -> OcrEngine:
        raise OcrUnavailableError("Text recognition is not installed.")

    finder = SuggestionFinder(load)
    try:
        with qtbot.wait_signal(finder.unavailable, timeout=WAIT_MS) as blocker:
            request_id = finder.find(Image.new("RGB", (10, 10)))
        assert blocker.args == [request_id, "Text recognition is not installed."]
    finally:
        finder.shutdown()


def test_the_idle_app_does_not_import_ocr() -> None:
    code = (
        "import sys, desktop.app, desktop.presenters.capture_presenter, desktop.ui.redaction_view, "
        "desktop.ui.region_overlay, desktop.services.capture.workers\n"
        "from desktop.services.capture.workers import SuggestionFinder\n"
        "print(sorted(m for m in ('rapidocr', 'onnxruntime', 'cv2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)

    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_real_ocr_finds_an_email_on_a_rendered_dialog() -> None:
    image = Image.new("RGB", (520, 70), (255, 255, 255))
    font = ImageFont.truetype(DEJAVU, 22)
    ImageDraw.Draw(image).text((10, 20), "Signed in as john.doe@example.com", fill=(0, 0, 0), font=font)

    engine = load_rapidocr()
    lines = engine.read(image)

    assert (engine.name, engine.version) == ("rapidocr", importlib.metadata.version("rapidocr"))
    [(box, kind, text)] = suggest_redactions(lines)
    assert (kind, text) == (SecretKind.EMAIL, "john.doe@example.com")
    assert box.x < 180  # "Signed in as " is about 150 px wide at this size
    assert box.right > 400
