"""The ticket-create form: a streaming ``multipart/form-data`` reader with per-part limits, and its validation.

Litestar's own form parser buffers text parts without bound and spools files to disk; this one reads the request
stream once (the route's body limit still applies: over it, 413 ``body_too_large``), caps every part by what it
may hold, refuses unknown parts and a sixth screenshot as soon as their headers arrive, and hashes nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

# `multipart` (Litestar's own multipart dependency) ships no type information.
from multipart import (  # type: ignore[import-untyped]
    MultipartSegment,
    ParserError,
    ParserLimitReached,
    PushMultipartParser,
)

from server.db.models import CATEGORIES, PRIORITIES
from server.domain.tickets.images import MAX_SCREENSHOT_BYTES, ScreenshotTooLarge
from server.domain.tickets.schemas import MAX_DESCRIPTION_CHARS, Device
from server.lib.exceptions import ClientError, FieldError, ValidationFailed

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = [
    "CREATE_BODY_LIMIT",
    "MAX_SCREENSHOTS",
    "TicketDraft",
    "UnsupportedMediaType",
    "read_ticket_form",
]

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


class UnsupportedMediaType(ClientError):
    """The create route takes ``multipart/form-data`` only."""

    status_code = 415
    default_code = "unsupported_media_type"
    title = "Unsupported media type"


@dataclass(frozen=True, slots=True)
class TicketDraft:
    """A validated create request. ``screenshots`` are the raw uploads, in order; nothing is checked about them yet."""

    description: str
    priority: str | None = None
    category: str | None = None
    device: dict[str, Any] | None = None
    screenshots: list[bytes] = field(default_factory=list)

    def fingerprint(self) -> str:
        """SHA-256 over the canonical request: the fields as parsed and each file's digest (boundaries do not count)."""
        canonical = {
            "description": self.description,
            "priority": self.priority,
            "category": self.category,
            "device": self.device,
            "screenshots": [hashlib.sha256(raw).hexdigest() for raw in self.screenshots],
        }
        encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(encoded.encode()).hexdigest()


@dataclass
class _Parts:
    text: dict[str, bytes] = field(default_factory=dict)
    files: list[bytes] = field(default_factory=list)


def _form_error(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{name}: {message}", errors=[FieldError(name, message)])


async def _read_parts(stream: AsyncIterator[bytes], boundary: str) -> _Parts:
    parts = _Parts()
    segment: MultipartSegment | None = None
    buffer = bytearray()
    limit = 0
    try:
        with PushMultipartParser(boundary, max_header_size=1024, max_header_count=8, max_segment_count=32) as parser:
            async for chunk in stream:
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        segment, buffer = event, bytearray()
                        limit = _start_part(parts, event.name)
                    elif event:
                        buffer.extend(event)
                        if len(buffer) > limit:
                            raise _part_too_large(segment, len(parts.files))
                    elif segment is not None:  # the end of a part
                        if segment.name == _FILE_PART:
                            parts.files.append(bytes(buffer))
                        else:
                            parts.text[segment.name] = bytes(buffer)
                        segment = None
                if parser.closed:
                    break
    except ParserLimitReached:
        raise ClientError("The form has too many parts or oversized part headers.", code="malformed_body") from None
    except ParserError as exc:
        raise ClientError(f"The multipart body is malformed: {exc}", code="malformed_body") from None
    return parts


def _start_part(parts: _Parts, name: str) -> int:
    """Check a part's name as soon as its headers arrive; return how many bytes it may hold."""
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
    return _form_error(name, f"longer than this field allows ({_TEXT_PART_LIMITS.get(name, 0)} bytes)")


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
    return TicketDraft(description, priority, category, device, parts.files)


async def read_ticket_form(content_type: str, stream: AsyncIterator[bytes]) -> TicketDraft:
    """Read and validate the create form from ``stream`` (raises 4xx errors with field details)."""
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
    return _validate(await _read_parts(stream, boundary))
