"""Screenshot encoding: lossless WebP for UI screens, lossy for photos, sizes as people read them."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

from desktop.services.capture.encode import MEDIA_TYPE, encode_screenshot, flat_share, format_size


def ui_screen() -> Image.Image:
    """Flat panels with text-like detail, as a window or dialog looks."""
    image = Image.new("RGB", (640, 360), (240, 240, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 640, 30), fill=(30, 30, 60))
    for y in range(50, 340, 18):
        draw.text((12, y), "Windows Update failed: error 0x80070005 access is denied", fill=(20, 20, 20))
    return image


def photo() -> Image.Image:
    """Noise: no two neighbours alike, like a photo or a video frame."""
    rng = random.Random(7)
    image = Image.new("RGB", (320, 180))
    image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(320 * 180)])
    return image


def decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "WEBP"
        return image.convert("RGB")


def test_a_ui_screen_is_lossless_so_the_pixels_arrive_exactly() -> None:
    screen = ui_screen()

    encoded = encode_screenshot(screen)

    assert encoded.lossless
    assert encoded.media_type == MEDIA_TYPE == "image/webp"
    assert (encoded.width, encoded.height) == (640, 360)
    assert decode(encoded.data).tobytes() == screen.tobytes()


def test_a_photo_like_screen_is_lossy_and_much_smaller() -> None:
    picture = photo()

    encoded = encode_screenshot(picture)
    lossless = encode_screenshot(picture, lossless=True)

    assert not encoded.lossless
    assert len(encoded.data) < len(lossless.data) / 2
    assert decode(encoded.data).size == picture.size


def test_flat_share_tells_screens_from_photos() -> None:
    assert flat_share(ui_screen()) > 0.8
    assert flat_share(photo()) < 0.1


def test_non_rgb_input_is_converted() -> None:
    rgba = ui_screen().convert("RGBA")

    assert decode(encode_screenshot(rgba).data).mode == "RGB"


def test_sizes_read_as_kb_or_mb() -> None:
    assert format_size(100) == "1 KB"
    assert format_size(182 * 1024) == "182 KB"
    assert format_size(int(1.45 * 1024 * 1024)) == "1.4 MB"
