"""The text that goes with a screenshot: only lines no redaction box touches, shaped to the server's limits."""

from __future__ import annotations

import json

import pytest

from desktop.core.geometry import Rect
from desktop.core.ocr_text import (
    MAX_DOCUMENT_BYTES,
    MAX_LINES,
    MAX_TEXT_CHARS,
    OcrReading,
    OcrUpload,
    part_name,
    shareable_text,
)
from desktop.core.redaction import OcrLine
from tests.fixtures.fake_server._ocr import read_ocr_parts
from tests.fixtures.images import png_bytes

WIDTH, HEIGHT = 400, 300


def reading(*lines: OcrLine) -> OcrReading:
    return OcrReading("rapidocr", "3.4.0", lines)


def texts(upload: OcrUpload) -> list[str]:
    return [line.text for line in upload.lines]


def accepted_by_the_fake_server(upload: OcrUpload, width: int = WIDTH, height: int = HEIGHT) -> bool:
    """The fake server's copy of the contract's checks finds nothing wrong (it raises otherwise)."""
    parts = [(0, "application/json", upload.to_json())]
    return read_ocr_parts(parts, [png_bytes(width, height)]) == {0: upload.document()}


def test_a_line_under_a_box_even_in_part_is_dropped_whole_and_untouched_lines_stay() -> None:
    box = Rect(100, 100, 100, 40)
    lines = (
        OcrLine("Password: hunter2", Rect(110, 110, 80, 20)),  # wholly under the box
        OcrLine("Signed in as bob@corp.com today", Rect(10, 130, 91, 20)),  # its last pixel column under it
        OcrLine("Access is denied.", Rect(10, 10, 200, 20)),  # far away
        OcrLine("Right next to the box", Rect(200, 100, 120, 20)),  # touches its edge, shares no pixel
        OcrLine("Just below it", Rect(100, 140, 100, 20)),
    )

    upload = shareable_text(reading(*lines), [box], WIDTH, HEIGHT)

    assert texts(upload) == ["Access is denied.", "Right next to the box", "Just below it"]
    assert [line.box for line in upload.lines] == [lines[2].box, lines[3].box, lines[4].box]
    assert accepted_by_the_fake_server(upload)


def test_the_redacted_words_appear_nowhere_in_what_is_sent_or_logged() -> None:
    secrets = ("hunter2", "bob@corp.com", "10.1.2.3")
    lines = (
        OcrLine("Password: hunter2", Rect(0, 0, 200, 20)),
        OcrLine("mail bob@corp.com and ssh 10.1.2.3", Rect(0, 40, 300, 20)),
        OcrLine("The printer is offline", Rect(0, 80, 200, 20)),
    )
    boxes = [Rect(90, 0, 80, 20), Rect(40, 40, 120, 20), Rect(200, 45, 80, 10)]  # the suggestion-sized boxes

    upload = shareable_text(reading(*lines), boxes, WIDTH, HEIGHT)

    sent = upload.to_json().decode()
    assert texts(upload) == ["The printer is offline"]
    for secret in secrets:
        assert secret not in sent
        assert secret not in repr(upload)
        assert secret not in repr(reading(*lines))  # a log line of the whole reading names no text either


def test_only_applied_boxes_hide_text_and_an_empty_box_hides_none() -> None:
    line = OcrLine("Error 0x80070005", Rect(10, 10, 100, 20))

    assert texts(shareable_text(reading(line), [], WIDTH, HEIGHT)) == ["Error 0x80070005"]
    assert texts(shareable_text(reading(line), [Rect(50, 15, 0, 0)], WIDTH, HEIGHT)) == ["Error 0x80070005"]


def test_boxes_are_clamped_to_the_image_and_a_line_left_with_no_pixel_is_dropped() -> None:
    lines = (
        OcrLine("over the left edge", Rect(-6, 10, 50, 20)),
        OcrLine("over the bottom right corner", Rect(380, 290, 40, 20)),
        OcrLine("outside the image", Rect(410, 10, 30, 20)),
        OcrLine("a line with no height", Rect(10, 50, 100, 0)),
    )

    upload = shareable_text(reading(*lines), [], WIDTH, HEIGHT)

    assert upload.document()["lines"] == [
        {"text": "over the left edge", "box": [0, 10, 44, 20]},
        {"text": "over the bottom right corner", "box": [380, 290, 20, 10]},
    ]
    assert accepted_by_the_fake_server(upload)


def test_the_document_has_exactly_the_contracts_keys_and_whole_pixel_boxes() -> None:
    upload = shareable_text(reading(OcrLine("Access is denied.", Rect(3, 4, 50, 12))), [], WIDTH, HEIGHT)

    document = json.loads(upload.to_json())

    assert document == upload.document()
    assert set(document) == {"engine", "version", "lines"}
    assert (document["engine"], document["version"]) == ("rapidocr", "3.4.0")
    [line] = document["lines"]
    assert set(line) == {"text", "box"}
    assert line["box"] == [3, 4, 50, 12]
    assert all(type(value) is int for value in line["box"])


def test_at_most_2000_lines_go_the_first_in_reading_order() -> None:
    lines = tuple(OcrLine(f"line {n}", Rect(0, n % HEIGHT, 40, 1)) for n in range(MAX_LINES + 500))

    upload = shareable_text(reading(*lines), [], WIDTH, HEIGHT)

    assert texts(upload) == [f"line {n}" for n in range(MAX_LINES)]
    assert accepted_by_the_fake_server(upload)


def test_hidden_lines_do_not_count_against_the_2000() -> None:
    hidden = tuple(OcrLine(f"secret {n}", Rect(0, 0, 10, 10)) for n in range(100))
    shown = tuple(OcrLine(f"line {n}", Rect(20, 20, 10, 10)) for n in range(MAX_LINES))

    upload = shareable_text(reading(*hidden, *shown), [Rect(0, 0, 10, 10)], WIDTH, HEIGHT)

    assert len(upload.lines) == MAX_LINES
    assert texts(upload)[-1] == f"line {MAX_LINES - 1}"


def test_the_document_stays_within_512_kib_keeping_the_first_lines() -> None:
    long_text = "é" * MAX_TEXT_CHARS  # two bytes a character in UTF-8
    lines = tuple(OcrLine(long_text, Rect(0, 0, 10, 10)) for _ in range(MAX_LINES))

    upload = shareable_text(reading(*lines), [], WIDTH, HEIGHT)

    size = len(upload.to_json())
    assert 0 < len(upload.lines) < MAX_LINES
    assert size <= MAX_DOCUMENT_BYTES
    one_more = OcrUpload(upload.engine, upload.version, (*upload.lines, upload.lines[0]))
    assert len(one_more.to_json()) > MAX_DOCUMENT_BYTES  # as many as fit, not fewer
    assert accepted_by_the_fake_server(upload)


def test_texts_lose_control_characters_blank_ones_go_and_long_ones_are_cut() -> None:
    lines = (
        OcrLine("  \t \x00 ", Rect(0, 0, 10, 10)),
        OcrLine("C:\\Temp\tsetup.exe\x07 failed\u200b!", Rect(0, 20, 10, 10)),
        OcrLine("x" * (MAX_TEXT_CHARS + 10), Rect(0, 40, 10, 10)),
    )

    upload = shareable_text(reading(*lines), [], WIDTH, HEIGHT)

    assert texts(upload) == ["C:\\Temp setup.exe  failed !", "x" * MAX_TEXT_CHARS]
    assert accepted_by_the_fake_server(upload)


@pytest.mark.parametrize(
    ("engine", "version", "sent"),
    [
        ("rapidocr", "3.4.0", ("rapidocr", "3.4.0")),
        ("", "  ", ("unknown", "unknown")),
        ("e" * 50, "1.0\n", ("e" * 40, "1.0")),
    ],
)
def test_engine_and_version_are_1_to_40_characters(engine: str, version: str, sent: tuple[str, str]) -> None:
    upload = shareable_text(OcrReading(engine, version, ()), [], WIDTH, HEIGHT)

    assert (upload.engine, upload.version) == sent
    assert upload.document() == {"engine": sent[0], "version": sent[1], "lines": []}


def test_the_part_of_screenshot_n_is_named_ocr_n() -> None:
    assert [part_name(n) for n in range(3)] == ["ocr_0", "ocr_1", "ocr_2"]
