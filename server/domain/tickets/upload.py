"""The ticket-create form: a streaming ``multipart/form-data`` reader with per-part limits, and its validation.

Litestar's own form parser buffers text parts without bound; this one reads the request stream once (the route's
body limit still applies: over it, 413 ``body_too_large``), caps every part by what it may hold, refuses unknown
parts and a sixth screenshot as soon as their headers arrive, and hashes nothing twice. Screenshots go to temporary
files as they arrive (:class:`SpooledScreenshots`; one up to :data:`SPOOL_IN_MEMORY` stays in memory), so a 55 MB
body costs disk, not memory: each is read back only when its turn in the screenshot workers comes.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

import msgspec
import structlog

# `multipart` (Litestar's own multipart dependency) ships no type information.
from multipart import (  # type: ignore[import-untyped]
    MultipartSegment,
    ParserError,
    ParserLimitReached,
    PushMultipartParser,
)

from server.db.models import CATEGORIES, PRIORITIES
from server.domain.tickets.client_ocr import (
    MAX_CLIENT_OCR_BYTES,
    ClientOcr,
    client_ocr_index,
    invalid_ocr,
    parse_client_ocr,
)
from server.domain.tickets.images import MAX_SCREENSHOT_BYTES, ScreenshotTooLarge
from server.domain.tickets.schemas import MAX_DESCRIPTION_CHARS, Device
from server.lib.exceptions import ClientError, FieldError, ServiceUnavailable, ValidationFailed

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

__all__ = [
    "CREATE_BODY_LIMIT",
    "MAX_SCREENSHOTS",
    "SPOOL_IN_MEMORY",
    "UPLOADS_DIR",
    "SpooledScreenshots",
    "TicketDraft",
    "UnsupportedMediaType",
    "read_ticket_form",
]

logger = structlog.get_logger(__name__)

MAX_SCREENSHOTS = 5
# Five screenshots at their 10 MB ceiling, plus the text parts and multipart framing.
CREATE_BODY_LIMIT = 55 * 1024 * 1024
_TEXT_PART_LIMITS = {
    "description": MAX_DESCRIPTION_CHARS * 4,  # UTF-8 needs at most four bytes a character
    "priority": 64,
    "category": 64,
    "device": 4096,
}
_FILE_PART = "screenshots"
# C0 controls other than tab, newline, carriage return: PostgreSQL cannot store NUL, and none belong in prose.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A screenshot up to this size stays in memory; a larger one is written to disk, in this folder of the data dir.
SPOOL_IN_MEMORY = 1024 * 1024
UPLOADS_DIR = "uploads"


class UnsupportedMediaType(ClientError):
    """The create route takes ``multipart/form-data`` only."""

    status_code = 415
    default_code = "unsupported_media_type"
    title = "Unsupported media type"


class SpooledScreenshots(Sequence[bytes]):
    """Uploaded files in order, each in a temporary file of its own, read back (blocking: a local file) when indexed.

    The files have no name on disk (unlinked as they are made) and are gone once :meth:`close` ran or the process
    ended. Each file's SHA-256 is taken as it arrives.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory
        self._files: list[tempfile.SpooledTemporaryFile[bytes]] = []
        self._digests: list[str] = []
        self._hash = hashlib.sha256()  # of the file being written

    def start_file(self) -> None:
        """Start the next file."""
        directory = None
        if self._directory is not None:
            self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            directory = str(self._directory)
        spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=directory)  # noqa: SIM115 - close()
        self._files.append(spooled)
        self._hash = hashlib.sha256()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data`` to the file started last."""
        self._files[-1].write(data)
        self._hash.update(data)

    def end_file(self) -> None:
        """The file started last is complete."""
        self._digests.append(self._hash.hexdigest())

    def digests(self) -> list[str]:
        """The complete files' SHA-256 digests, in order."""
        return list(self._digests)

    def __len__(self) -> int:
        return len(self._digests)

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        handle = self._files[range(len(self))[index]]
        handle.seek(0)
        return handle.read()

    def close(self) -> None:
        """Delete every file (again is a no-op)."""
        for handle in self._files:
            handle.close()
        self._files.clear()
        self._digests.clear()


@dataclass(frozen=True, slots=True)
class TicketDraft:
    """A validated create request. ``screenshots`` are the raw uploads, in order; nothing is checked about them yet.

    From :func:`read_ticket_form` they are :class:`SpooledScreenshots`: :meth:`close` the draft when done.
    """

    description: str
    priority: str | None = None
    category: str | None = None
    device: dict[str, Any] | None = None
    screenshots: Sequence[bytes] = field(default_factory=list)
    # What the desktop's OCR read on each screenshot (``ocr_<n>``), by index; a screenshot without is read here.
    client_ocr: Mapping[int, ClientOcr] = field(default_factory=dict)

    def digests(self) -> list[str]:
        """Each screenshot's SHA-256 (the key its blob is stored under), in order; spooled files' as they arrived."""
        if isinstance(self.screenshots, SpooledScreenshots):
            return self.screenshots.digests()
        return [hashlib.sha256(raw).hexdigest() for raw in self.screenshots]

    def fingerprint(self) -> str:
        """SHA-256 over the canonical request: the fields as parsed and each file's digest (boundaries do not count)."""
        digests = self.digests()
        canonical = {
            "description": self.description,
            "priority": self.priority,
            "category": self.category,
            "device": self.device,
            "screenshots": digests,
            "ocr": {str(index): msgspec.to_builtins(ocr) for index, ocr in sorted(self.client_ocr.items())},
        }
        encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(encoded.encode()).hexdigest()

    def close(self) -> None:
        """Delete the screenshots' temporary files."""
        if isinstance(self.screenshots, SpooledScreenshots):
            self.screenshots.close()


@dataclass
class _Parts:
    """The form as it arrives: text parts in memory, files in ``files``; the part being read and its size."""

    files: SpooledScreenshots
    text: dict[str, bytes] = field(default_factory=dict)
    segment: MultipartSegment | None = None
    buffer: bytearray = field(default_factory=bytearray)  # the text part being read
    size: int = 0
    limit: int = 0

    def start(self, segment: MultipartSegment) -> None:
        self.limit = _start_part(self, segment.name)
        self.segment, self.buffer, self.size = segment, bytearray(), 0
        if segment.name == _FILE_PART:
            self.files.start_file()

    def add(self, data: bytes | bytearray | memoryview) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise _part_too_large(self.segment, len(self.files))
        if self.segment is not None and self.segment.name == _FILE_PART:
            self.files.write(data)
        else:
            self.buffer.extend(data)

    def finish(self) -> None:
        if self.segment is None:
            return
        if self.segment.name == _FILE_PART:
            self.files.end_file()
        else:
            self.text[self.segment.name] = bytes(self.buffer)
        self.segment = None


def _form_error(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{name}: {message}", errors=[FieldError(name, message)])


async def _read_parts(stream: AsyncIterator[bytes], boundary: str, parts: _Parts) -> None:
    try:
        with PushMultipartParser(boundary, max_header_size=1024, max_header_count=8, max_segment_count=32) as parser:
            async for chunk in stream:
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        parts.start(event)
                    elif event:
                        parts.add(event)
                    else:  # the end of a part
                        parts.finish()
                if parser.closed:
                    break
    except ParserLimitReached:
        raise ClientError("The form has too many parts or oversized part headers.", code="malformed_body") from None
    except ParserError as exc:
        raise ClientError(f"The multipart body is malformed: {exc}", code="malformed_body") from None
    except OSError:  # writing a screenshot to its temporary file: the data dir's disk is full or failing
        logger.warning("upload_spool_failed", exc_info=True)
        raise ServiceUnavailable("The server cannot take uploads right now; please try again later.") from None


def _start_part(parts: _Parts, name: str) -> int:
    """Check a part's name as soon as its headers arrive; return how many bytes it may hold."""
    ocr_index = client_ocr_index(name)
    if ocr_index is not None and ocr_index < MAX_SCREENSHOTS:
        if name in parts.text:
            raise _form_error(name, "given more than once")
        return MAX_CLIENT_OCR_BYTES
    if name == _FILE_PART:
        if len(parts.files) >= MAX_SCREENSHOTS:
            raise ValidationFailed(
                f"At most {MAX_SCREENSHOTS} screenshots per ticket.",
                code="too_many_screenshots",
                errors=[FieldError(_FILE_PART, f"at most {MAX_SCREENSHOTS} files")],
            )
        return MAX_SCREENSHOT_BYTES
    if name not in _TEXT_PART_LIMITS:
        raise _form_error(name or "(unnamed)", "unknown form field")
    if name in parts.text:
        raise _form_error(name, "given more than once")
    return _TEXT_PART_LIMITS[name]


def _part_too_large(segment: MultipartSegment | None, index: int) -> ClientError:
    name = segment.name if segment is not None else ""
    if name == _FILE_PART:
        # The same 413 the image checks give a file over the limit; we only stop reading it sooner.
        return ScreenshotTooLarge(
            f"is over the limit of {MAX_SCREENSHOT_BYTES // (1024 * 1024)} MB.", code="image_too_large", index=index
        )
    limit = MAX_CLIENT_OCR_BYTES if client_ocr_index(name) is not None else _TEXT_PART_LIMITS.get(name, 0)
    return _form_error(name, f"longer than this field allows ({limit} bytes)")


def _text(raw: bytes | None, name: str, errors: list[FieldError]) -> str | None:
    if raw is None:
        return None
    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError:
        errors.append(FieldError(name, "not valid UTF-8"))
        return None
    if _CONTROL.search(value):
        errors.append(FieldError(name, "contains control characters (such as NUL) that are not allowed"))
        return None
    return value


def _choice(raw: bytes | None, name: str, allowed: tuple[str, ...], errors: list[FieldError]) -> str | None:
    value = _text(raw, name, errors)
    if value is None or value.strip() == "":
        return None  # an empty form field means "not chosen"
    if value not in allowed:
        errors.append(FieldError(name, f"must be one of: {', '.join(allowed)}"))
        return None
    return value


def _device(raw: bytes | None, errors: list[FieldError]) -> dict[str, Any] | None:
    if raw is None or raw.strip() == b"":
        return None
    try:
        device = msgspec.json.decode(raw, type=Device)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        errors.append(FieldError("device", str(exc)))
        return None
    except ValueError as exc:  # control characters, from RequestBody.__post_init__
        errors.append(FieldError("device", str(exc)))
        return None
    built: dict[str, Any] = msgspec.to_builtins(device)
    return built


def _validate(parts: _Parts) -> TicketDraft:
    errors: list[FieldError] = []
    description = _text(parts.text.get("description"), "description", errors)
    if description is None and "description" not in parts.text:
        errors.append(FieldError("description", "required"))
    elif description is not None and not description.strip():
        errors.append(FieldError("description", "must not be blank"))
    elif description is not None and len(description) > MAX_DESCRIPTION_CHARS:
        errors.append(FieldError("description", f"at most {MAX_DESCRIPTION_CHARS} characters"))
    priority = _choice(parts.text.get("priority"), "priority", PRIORITIES, errors)
    category = _choice(parts.text.get("category"), "category", CATEGORIES, errors)
    device = _device(parts.text.get("device"), errors)
    if errors or description is None:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    return TicketDraft(description, priority, category, device, parts.files, _client_ocr(parts))


def _client_ocr(parts: _Parts) -> dict[int, ClientOcr]:
    found = {}
    for name, raw in parts.text.items():
        index = client_ocr_index(name)
        if index is None:
            continue
        if index >= len(parts.files):
            raise invalid_ocr(index, f"there is no screenshot {index} (screenshots are numbered from 0)")
        found[index] = parse_client_ocr(raw, index)
    return found


async def read_ticket_form(
    content_type: str, stream: AsyncIterator[bytes], spool_dir: Path | None = None
) -> TicketDraft:
    """Read and validate the create form from ``stream`` (raises 4xx errors with field details).

    Screenshots are spooled to temporary files in ``spool_dir`` (the system's temporary directory when ``None``);
    the caller closes the draft. On an error nothing is left behind.
    """
    media_type, _, params = content_type.partition(";")
    if media_type.strip().lower() != "multipart/form-data":
        raise UnsupportedMediaType("Send the ticket as multipart/form-data.")
    boundary = ""
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip().strip('"')
    if not boundary:
        raise ClientError("The multipart boundary is missing from Content-Type.", code="malformed_body")
    parts = _Parts(SpooledScreenshots(spool_dir))
    try:
        await _read_parts(stream, boundary, parts)
        return _validate(parts)
    except BaseException:
        parts.files.close()
        raise
