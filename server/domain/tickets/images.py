"""Screenshots from users: checked by content, cleaned of metadata, shrunk for the model and read by OCR, once.

Only PNG, JPEG and WebP are accepted, recognised by their magic bytes (never by file name or declared type).
Every hostile upload becomes an :class:`ImageRejected` (422, or 413 for an oversized file) with a specific ``code``
and a message naming the screenshot — never a 500:

- ``image_too_large``: more than :data:`MAX_SCREENSHOT_BYTES`, checked before anything is parsed;
- ``unsupported_image``: not PNG/JPEG/WebP by content (PDF, ZIP, HTML, SVG, GIF, BMP renamed ``.png``…);
- ``image_too_many_pixels``: more than :data:`MAX_SCREENSHOT_PIXELS`. PNG and WebP dimensions are read from the
  header bytes before Pillow sees the file (Pillow's WebP opener allocates the whole canvas at ``open``), and every
  format is checked again on ``img.size`` before any pixel is decoded. Pillow's own decompression-bomb guard
  (``DecompressionBombWarning``/``Error``) maps to the same code and never escapes as a warning;
- ``image_corrupt``: truncated or undecodable.

Animated WebP/APNG: the first frame is kept (a screenshot tool may save a one-frame "animation"; the first frame is
what the user saw), the rest is dropped. CMYK, 16-bit, palette and grey images are converted to RGB/RGBA/L.

Sanitising re-encodes the pixels into a fresh image, so nothing from the upload's metadata survives: EXIF (GPS,
camera, owner), XMP, ICC profiles (pixels are first converted to sRGB so colours stay right), PNG text chunks.
The EXIF orientation is applied first so the picture still looks the way the user saw it. The stored format is the
upload's format: PNG stays lossless, JPEG is re-encoded at quality 90, WebP keeps lossless-or-lossy.

The copy for vision models has its long side at most :data:`MODEL_LONG_SIDE` (what the large vision models scale
to anyway; never upscaled). It is JPEG q85 unless the image has real transparency (then PNG). Measured at 1568x882:
a flat rendered desktop is 51 KB as JPEG and 47 KB as PNG, but a screenshot over a photo wallpaper is 650 KB as JPEG
and 3.5 MB as PNG; JPEG q85 keeps 14 px UI text legible (OCR reads it), so it is the safe default for every provider.
A small PNG/JPEG upload that needs no shrinking is sent as stored.
"""

from __future__ import annotations

import hashlib
import io
import threading
import warnings
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final

import numpy as np
import structlog
from PIL import Image, ImageCms, ImageOps

from server.domain.tickets.client_ocr import client_ocr_text
from server.lib.exceptions import FieldError, ValidationFailed

if TYPE_CHECKING:
    from server.domain.tickets.client_ocr import ClientOcr
    from server.domain.tickets.ocr import Ocr

__all__ = [
    "MAX_SCREENSHOT_BYTES",
    "MAX_SCREENSHOT_PIXELS",
    "MODEL_LONG_SIDE",
    "ImageRejected",
    "ProcessedImage",
    "ScreenshotTooLarge",
    "Upload",
    "check_screenshot",
    "inspect_screenshot",
    "process_screenshot",
]

logger = structlog.get_logger(__name__)

MAX_SCREENSHOT_BYTES: Final = 10 * 1024 * 1024
MAX_SCREENSHOT_PIXELS: Final = 40_000_000
MODEL_LONG_SIDE: Final = 1568
# OCR reads a copy no longer than this (rapidocr shrinks to ~2000 px anyway; the full 40 MP would cost ~1 GB), and
# skips strips thinner than 1:50, which rapidocr cannot resize and which hold no dialog worth reading.
OCR_LONG_SIDE: Final = 4096
OCR_MAX_ASPECT: Final = 50
MODEL_JPEG_QUALITY: Final = 85
STORED_JPEG_QUALITY: Final = 90

_MEDIA_TYPES: Final = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
# Pillow's bomb guard is a module-global warnings filter; ``catch_warnings`` is not thread-safe, so the workers take
# turns around ``Image.open`` (header parsing only: microseconds).
_open_lock = threading.Lock()
# What Pillow raises on broken files, besides its own bomb error.
_DECODE_ERRORS: Final = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, zlib.error)


class ImageRejected(ValidationFailed):
    """A screenshot we will not store; ``code`` says why and the message says which one (0-based ``index``)."""

    title = "Screenshot rejected"

    def __init__(self, detail: str, *, code: str, index: int | None = None, **kw: Any) -> None:
        where = "screenshot" if index is None else f"screenshot {index}"
        message = f"The {where} {detail}"
        field = "screenshots" if index is None else f"screenshots[{index}]"
        super().__init__(message, code=code, errors=[FieldError(field, message)], **kw)
        self.index = index


class ScreenshotTooLarge(ImageRejected):
    """A screenshot over the size limit: 413 like any oversized body, same problem shape."""

    status_code: ClassVar[int] = 413
    title = "Screenshot too large"


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    """A screenshot that passed the checks: the sanitised bytes to store, the model's copy and the OCR text."""

    sha256: str
    source_sha256: str
    media_type: str
    data: bytes
    width: int
    height: int
    model_copy: bytes
    model_media_type: str
    ocr_text: str


@dataclass(frozen=True, slots=True)
class Upload:
    """A screenshot as uploaded, checked without decoding its pixels (:func:`inspect_screenshot`)."""

    size_bytes: int
    media_type: str
    width: int
    height: int
    ocr_text: str | None  # what the desktop read on it; None: the server reads it


def _sniff(raw: bytes) -> str | None:
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if raw.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "WEBP"
    return None


def _declared_size(raw: bytes, fmt: str) -> tuple[int, int] | None:
    """Width and height straight from the PNG IHDR or the WebP VP8/VP8L/VP8X header, before any decoder runs."""
    if fmt == "PNG" and len(raw) >= 24 and raw[12:16] == b"IHDR":
        return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    if fmt == "WEBP" and len(raw) >= 30:
        chunk = raw[12:16]
        if chunk == b"VP8X":
            return int.from_bytes(raw[24:27], "little") + 1, int.from_bytes(raw[27:30], "little") + 1
        if chunk == b"VP8L" and raw[20] == 0x2F:
            bits = int.from_bytes(raw[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8 ":
            return int.from_bytes(raw[26:28], "little") & 0x3FFF, int.from_bytes(raw[28:30], "little") & 0x3FFF
    return None  # JPEG: Pillow reads the SOF header at open without allocating pixels


def _check_pixels(size: tuple[int, int], index: int) -> None:
    width, height = size
    if width * height > MAX_SCREENSHOT_PIXELS:
        raise ImageRejected(
            f"is {width}x{height} pixels ({width * height:,}); the limit is {MAX_SCREENSHOT_PIXELS:,} pixels "
            f"({MAX_SCREENSHOT_PIXELS // 1_000_000} megapixels).",
            code="image_too_many_pixels",
            index=index,
        )


def check_screenshot(raw: bytes, *, index: int = 0) -> str:
    """The cheap byte-level checks (size, type, declared dimensions); returns Pillow's format name.

    Safe on the event loop: it reads at most a few header bytes, so callers can refuse a bad upload before it takes
    a worker.
    """
    if len(raw) > MAX_SCREENSHOT_BYTES:
        raise ScreenshotTooLarge(
            f"is {len(raw) / 1024 / 1024:.1f} MB; the limit is {MAX_SCREENSHOT_BYTES // (1024 * 1024)} MB.",
            code="image_too_large",
            index=index,
        )
    fmt = _sniff(raw)
    if fmt is None:
        raise ImageRejected(
            "is not a PNG, JPEG or WebP image (checked by its content, not its name).",
            code="unsupported_image",
            index=index,
        )
    if (size := _declared_size(raw, fmt)) is not None:
        _check_pixels(size, index)
    return fmt


def _complete(raw: bytes, fmt: str) -> bool:
    """Whether the file ends as its format says a whole file ends (a cut-off upload does not)."""
    if fmt == "PNG":
        return b"IEND\xaeB`\x82" in raw[-64:]
    if fmt == "JPEG":
        return b"\xff\xd9" in raw[-1024:]  # in entropy-coded data 0xFF is always stuffed, so this is the EOI marker
    return len(raw) >= 8 + int.from_bytes(raw[4:8], "little")  # WebP: the RIFF size


def _corrupt(index: int) -> ImageRejected:
    return ImageRejected("is damaged or truncated and cannot be read.", code="image_corrupt", index=index)


def _open(raw: bytes, fmt: str, index: int) -> Image.Image:
    with _open_lock, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(raw), formats=[fmt])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected(
                f"has more than {MAX_SCREENSHOT_PIXELS / 1e6:.0f} megapixels.",
                code="image_too_many_pixels",
                index=index,
            ) from None
        except _DECODE_ERRORS:
            raise _corrupt(index) from None
    _check_pixels(img.size, index)
    return img


def _decode(img: Image.Image, index: int) -> Image.Image:
    """The first frame's pixels, upright, in sRGB, as RGB/RGBA/L, in a fresh image that carries no metadata."""
    try:
        img.seek(0)
        img.load()
        icc = img.info.get("icc_profile")
        try:
            upright = ImageOps.exif_transpose(img)
        except _DECODE_ERRORS:  # a broken EXIF block must not cost the user the screenshot
            logger.warning("screenshot_exif_unreadable", index=index)
            upright = img
        pixels = _normalise_mode(upright)
        if isinstance(icc, bytes) and icc:
            pixels = _to_srgb(pixels, icc)
    except Image.DecompressionBombError:
        raise ImageRejected("is too large to decode.", code="image_too_many_pixels", index=index) from None
    except _DECODE_ERRORS:
        raise _corrupt(index) from None
    clean = Image.new(pixels.mode, pixels.size)
    clean.paste(pixels)
    return clean


def _normalise_mode(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode in {"RGB", "L"}:
        return img
    if mode in {"I;16", "I;16L", "I;16B", "I;16N", "I"}:
        # Converting 16-bit grey with Pillow clips at 255 (a white image); scale the range down instead.
        deep = np.asarray(img, dtype=np.int64)
        peak = 65535 if mode != "I" or deep.max(initial=0) > 255 else 255
        return Image.fromarray(((np.clip(deep, 0, peak) * 255 + peak // 2) // peak).astype(np.uint8), mode="L")
    if mode == "F":
        return img.convert("L")
    has_alpha = mode in {"RGBA", "LA", "La", "RGBa", "PA"} or (mode == "P" and "transparency" in img.info)
    if has_alpha:
        rgba = img.convert("RGBA")
        if rgba.getchannel("A").getextrema() != (255, 255):
            return rgba
        return img.convert("L" if mode in {"LA", "La"} else "RGB")  # opaque alpha is just weight
    return img.convert("L" if mode == "1" else "RGB")


def _to_srgb(img: Image.Image, icc: bytes) -> Image.Image:
    """Bakes an embedded colour profile (Display P3 on a Mac, say) into sRGB pixels, so dropping it is safe."""
    if img.mode not in {"RGB", "RGBA"}:
        return img
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.createProfile("sRGB")
        converted = ImageCms.profileToProfile(img, source, target, outputMode=img.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        logger.warning("screenshot_icc_profile_unusable")
        return img
    return converted if converted is not None else img


def _webp_is_lossless(raw: bytes) -> bool:
    return raw[12:16] == b"VP8L" or (raw[12:16] == b"VP8X" and b"VP8L" in raw[30:4096])


def _encode(img: Image.Image, fmt: str, raw: bytes) -> bytes:
    out = io.BytesIO()
    if fmt == "PNG":
        img.save(out, "PNG", compress_level=6)
    elif fmt == "JPEG":
        img.save(out, "JPEG", quality=STORED_JPEG_QUALITY)
    elif _webp_is_lossless(raw):
        img.save(out, "WEBP", lossless=True, method=2)
    else:
        img.save(out, "WEBP", quality=STORED_JPEG_QUALITY, method=4)
    return out.getvalue()


def _model_copy(img: Image.Image, fmt: str, data: bytes) -> tuple[bytes, str]:
    if max(img.size) <= MODEL_LONG_SIDE and fmt in {"PNG", "JPEG"}:
        return data, _MEDIA_TYPES[fmt]
    small = img.copy()
    small.thumbnail((MODEL_LONG_SIDE, MODEL_LONG_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if small.mode == "RGBA":
        small.save(out, "PNG", compress_level=6)
        return out.getvalue(), "image/png"
    small.save(out, "JPEG", quality=MODEL_JPEG_QUALITY)
    return out.getvalue(), "image/jpeg"


def _read_text(img: Image.Image, ocr: Ocr, index: int) -> list[str]:
    """OCR text lines, or none: the image itself is valid, so an OCR failure must never refuse the upload."""
    if max(img.size) > OCR_MAX_ASPECT * min(img.size):
        return []
    view = img
    if max(img.size) > OCR_LONG_SIDE:
        view = img.copy()
        view.thumbnail((OCR_LONG_SIDE, OCR_LONG_SIDE), Image.Resampling.BILINEAR)
    try:
        return ocr.read(view)
    except Exception:
        logger.warning("ocr_failed", index=index, width=img.width, height=img.height, exc_info=True)
        return []


def inspect_screenshot(raw: bytes, *, index: int = 0, client_ocr: ClientOcr | None = None) -> Upload:
    """The checks an upload must pass before it is stored: size, type, dimensions, completeness, the desktop's OCR.

    Reads the header and the last bytes only (milliseconds for 10 MB): the pixels are decoded later, by the job that
    runs :func:`process_screenshot`. With ``client_ocr`` its boxes are checked against the dimensions (422
    ``invalid_ocr``) and its lines become the text.

    Raises:
        ImageRejected: the upload is not a screenshot we accept; ``code`` says why.
    """
    fmt = check_screenshot(raw, index=index)
    img = _open(raw, fmt, index)
    if not _complete(raw, fmt):
        raise _corrupt(index)
    text = client_ocr_text(client_ocr, img.width, img.height, index) if client_ocr is not None else None
    return Upload(len(raw), _MEDIA_TYPES[fmt], img.width, img.height, text)


def process_screenshot(raw: bytes, *, index: int = 0, ocr: Ocr | None = None) -> ProcessedImage:
    """Checks, sanitises, shrinks and (with ``ocr``) reads one upload. Blocking and CPU-bound: run it in a worker.

    Raises:
        ImageRejected: the upload is not a screenshot we accept; ``code`` says why.
    """
    fmt = check_screenshot(raw, index=index)
    img = _decode(_open(raw, fmt, index), index)
    data = _encode(img, fmt, raw)
    model_copy, model_media_type = _model_copy(img, fmt, data)
    lines = _read_text(img, ocr, index) if ocr is not None else []
    text = "\n".join(line for line in lines if line.strip())
    return ProcessedImage(
        sha256=hashlib.sha256(data).hexdigest(),
        source_sha256=hashlib.sha256(raw).hexdigest(),
        media_type=_MEDIA_TYPES[fmt],
        data=data,
        width=img.width,
        height=img.height,
        model_copy=model_copy,
        model_media_type=model_media_type,
        ocr_text=text,
    )
