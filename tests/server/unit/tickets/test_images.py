"""The screenshot pipeline: hostile uploads rejected with their code, metadata gone, orientation kept, model copy."""

from __future__ import annotations

import hashlib
import io
import warnings
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from server.domain.tickets.images import (
    MAX_SCREENSHOT_BYTES,
    MODEL_LONG_SIDE,
    ImageRejected,
    ProcessedImage,
    check_screenshot,
    process_screenshot,
)
from server.lib.exceptions import ValidationFailed
from tests.fixtures.images import (
    animated_webp_bytes,
    apng_bytes,
    cmyk_jpeg_bytes,
    decompression_bomb_png,
    desktop_screenshot,
    gray16_png_bytes,
    jpeg_bytes,
    jpeg_with_exif_gps,
    palette_png_bytes,
    png_bytes,
    png_with_text_chunks,
    webp_bytes,
)

if TYPE_CHECKING:
    from server.context import Models

RED, BLUE = (220, 30, 30), (30, 30, 220)


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def _close(actual: object, expected: tuple[int, ...], tolerance: int = 12) -> bool:
    assert isinstance(actual, tuple)
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


# ------------------------------------------------------------------ rejections


def test_every_hostile_upload_is_rejected_with_its_code(hostile_upload: tuple[str, bytes, str]) -> None:
    name, data, code = hostile_upload

    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        with pytest.raises(ImageRejected) as caught:
            process_screenshot(data, index=3)

    assert escaped == []  # Pillow's DecompressionBombWarning never escapes

    assert caught.value.code == code, name
    assert isinstance(caught.value, ValidationFailed)
    assert caught.value.status_code == (413 if code == "image_too_large" else 422)
    assert "screenshot 3" in caught.value.detail
    assert caught.value.errors[0].field == "screenshots[3]"


def test_messages_say_why_in_plain_words() -> None:
    with pytest.raises(ImageRejected) as too_big:
        check_screenshot(b"\x89PNG\r\n\x1a\n" + bytes(MAX_SCREENSHOT_BYTES), index=1)
    with pytest.raises(ImageRejected) as bomb:
        check_screenshot(decompression_bomb_png(), index=0)
    with pytest.raises(ImageRejected) as gif:
        process_screenshot(b"GIF89a" + bytes(64), index=4)

    assert too_big.value.detail == "The screenshot 1 is 10.0 MB; the limit is 10 MB."
    assert "20000x20000" in bomb.value.detail
    assert "40 megapixels" in bomb.value.detail
    assert gif.value.detail.startswith("The screenshot 4 is not a PNG, JPEG or WebP image")


def test_type_is_decided_by_content_not_by_declared_format() -> None:
    # A JPEG whose first bytes say PNG: the PNG decoder refuses it, it is never handed to the JPEG decoder.
    fake_png = b"\x89PNG\r\n\x1a\n" + jpeg_bytes()

    with pytest.raises(ImageRejected) as caught:
        process_screenshot(fake_png)

    assert caught.value.code == "image_corrupt"


def test_bomb_check_happens_before_decoding() -> None:
    # 400 MP of 8-bit grey would need 400 MB to decode; a rejection this fast cannot have decoded it.
    import time

    started = time.perf_counter()
    with pytest.raises(ImageRejected):
        process_screenshot(decompression_bomb_png())
    assert time.perf_counter() - started < 0.5


def test_image_exactly_at_the_pixel_limit_is_accepted() -> None:
    img = Image.new("L", (8000, 5000), 128)
    out = io.BytesIO()
    img.save(out, "PNG")

    processed = process_screenshot(out.getvalue(), ocr=None)

    assert (processed.width, processed.height) == (8000, 5000)


# ------------------------------------------------------------------ sanitising


def test_exif_gps_xmp_and_icc_are_stripped_and_orientation_applied() -> None:
    raw = jpeg_with_exif_gps()
    assert _open(raw).getexif().get_ifd(0x8825)  # the fixture really carries GPS

    processed = process_screenshot(raw)
    stored = _open(processed.data)

    assert dict(stored.getexif()) == {}
    assert not stored.getexif().get_ifd(0x8825)
    assert not {"exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp"} & set(stored.info)
    assert b"Jane Doe" not in processed.data
    assert b"Spyphone" not in processed.data
    assert b"secret" not in processed.data
    # Stored 80x40 red|blue with orientation 6 (rotate 90° clockwise): upright it is 40x80, red on top.
    assert (processed.width, processed.height) == (40, 80) == stored.size
    assert _close(stored.getpixel((20, 5)), RED)
    assert _close(stored.getpixel((20, 75)), BLUE)
    assert processed.media_type == "image/jpeg"


def test_png_text_chunks_and_exif_are_stripped() -> None:
    processed = process_screenshot(png_with_text_chunks())
    stored = _open(processed.data)

    assert stored.info == {}
    assert dict(stored.getexif()) == {}
    for secret in (b"Jane Doe", b"secret.txt", b"db01", b"tEXt", b"iTXt", b"eXIf"):
        assert secret not in processed.data
    assert stored.getpixel((0, 0)) == RED


def test_sha256_names_the_stored_bytes_and_is_stable() -> None:
    raw = png_with_text_chunks()

    first = process_screenshot(raw)
    second = process_screenshot(raw)

    assert first.sha256 == hashlib.sha256(first.data).hexdigest() == second.sha256
    assert first.data == second.data
    assert first.source_sha256 == hashlib.sha256(raw).hexdigest()
    assert first.sha256 != first.source_sha256  # the text chunks are gone


@pytest.mark.parametrize(
    ("make", "media_type", "mode"),
    [
        (png_bytes, "image/png", "RGB"),
        (jpeg_bytes, "image/jpeg", "RGB"),
        (webp_bytes, "image/webp", "RGB"),
        (cmyk_jpeg_bytes, "image/jpeg", "RGB"),
        (gray16_png_bytes, "image/png", "L"),
        (palette_png_bytes, "image/png", "RGBA"),
        (lambda: palette_png_bytes(transparent=False), "image/png", "RGB"),
        (lambda: png_bytes(mode="RGBA"), "image/png", "RGBA"),
        (lambda: png_bytes(mode="LA"), "image/png", "L"),
        (lambda: png_bytes(mode="L"), "image/png", "L"),
        (lambda: png_bytes(mode="1"), "image/png", "L"),
    ],
)
def test_colour_modes_are_normalised(make: object, media_type: str, mode: str) -> None:
    assert callable(make)
    processed = process_screenshot(make())
    stored = _open(processed.data)

    assert processed.media_type == media_type
    assert stored.mode == mode
    assert stored.size == (64, 48)


def test_cmyk_colours_survive() -> None:
    stored = _open(process_screenshot(cmyk_jpeg_bytes()).data)

    assert _close(stored.getpixel((5, 5)), RED, 20)
    assert _close(stored.getpixel((60, 40)), BLUE, 20)


def test_16_bit_grey_is_scaled_not_clipped() -> None:
    stored = _open(process_screenshot(gray16_png_bytes()).data)

    assert stored.getpixel((5, 5)) == 16  # 0x1000 of 0xFFFF
    assert stored.getpixel((60, 5)) == 239  # 0xF000 of 0xFFFF


def test_opaque_alpha_is_dropped() -> None:
    img = Image.new("RGBA", (20, 20), (*RED, 255))
    out = io.BytesIO()
    img.save(out, "PNG")

    processed = process_screenshot(out.getvalue())

    assert _open(processed.data).mode == "RGB"


@pytest.mark.parametrize("make", [apng_bytes, animated_webp_bytes])
def test_animations_keep_their_first_frame(make: object) -> None:
    assert callable(make)
    processed = process_screenshot(make())
    stored = _open(processed.data)

    assert getattr(stored, "n_frames", 1) == 1
    assert stored.convert("RGB").getpixel((16, 16)) == (255, 0, 0)


def test_lossless_webp_stays_lossless() -> None:
    processed = process_screenshot(webp_bytes(lossless=True))

    assert processed.data[12:16] == b"VP8L"
    assert _open(processed.data).getpixel((0, 0)) == RED


# ------------------------------------------------------------------ model copy


def test_model_copy_of_a_1080p_screenshot_is_shrunk_with_its_aspect() -> None:
    processed = process_screenshot(desktop_screenshot())
    copy = _open(processed.model_copy)

    assert (processed.width, processed.height) == (1920, 1080)
    assert max(copy.size) == MODEL_LONG_SIDE
    assert copy.size == (1568, 882)
    assert processed.model_media_type == "image/jpeg" == Image.MIME[copy.format or ""]
    assert len(processed.model_copy) < 200_000


def test_model_copy_of_a_tall_screenshot_keeps_its_aspect() -> None:
    processed = process_screenshot(png_bytes(1000, 4000))
    copy = _open(processed.model_copy)

    assert copy.size == (392, 1568)


def test_small_images_are_not_upscaled() -> None:
    processed = process_screenshot(png_bytes(300, 200))

    assert _open(processed.model_copy).size == (300, 200)
    assert processed.model_copy == processed.data
    assert processed.model_media_type == "image/png"


def test_webp_model_copy_is_converted_for_providers() -> None:
    processed = process_screenshot(webp_bytes(300, 200))

    assert processed.model_media_type == "image/jpeg"
    assert _open(processed.model_copy).format == "JPEG"


def test_transparent_model_copy_is_png() -> None:
    processed = process_screenshot(png_bytes(3000, 1000, mode="RGBA"))
    copy = _open(processed.model_copy)

    assert processed.model_media_type == "image/png"
    assert copy.mode == "RGBA"
    assert copy.size == (1568, 523)


def test_without_ocr_the_text_is_empty() -> None:
    processed = process_screenshot(desktop_screenshot(), ocr=None)

    assert isinstance(processed, ProcessedImage)
    assert processed.ocr_text == ""


class _BrokenOcr:
    """An OCR engine that fails the way rapidocr does on images it cannot resize."""

    def read(self, image: Image.Image) -> list[str]:
        raise RuntimeError("ResizeImgError")


def test_an_ocr_failure_keeps_the_screenshot_without_text() -> None:
    processed = process_screenshot(png_bytes(320, 200), ocr=_BrokenOcr())

    assert processed.ocr_text == ""
    assert (processed.width, processed.height) == (320, 200)


def test_thin_strips_are_accepted_without_ocr(models: Models) -> None:  # rapidocr raises on them, reading nothing
    for width, height in ((2, 4000), (20000, 8)):
        processed = process_screenshot(png_bytes(width, height), ocr=models.ocr)
        assert (processed.width, processed.height, processed.ocr_text) == (width, height, "")
