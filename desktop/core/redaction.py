"""Redaction of screenshots before upload: the boxes model, solid fills, and suggestions from OCR text.

Boxes are :class:`~desktop.core.geometry.Rect` s in the image's own (physical) pixels, so a box covers exactly
``width * height`` pixels. Fills are solid black, never blur: blurred text can be recovered, filled pixels cannot.
Pure Python (Pillow, no Qt) so it is tested without a display.
"""

from __future__ import annotations

import enum
import ipaddress
import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from desktop.core.geometry import Rect, clamp, from_drag

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from PIL import Image

__all__ = [
    "FILL_COLOR",
    "OcrLine",
    "Redaction",
    "RedactionOrigin",
    "RedactionSet",
    "SecretKind",
    "SecretMatch",
    "apply_redactions",
    "find_secrets",
    "suggest_redactions",
]

FILL_COLOR = (0, 0, 0)

# A token must be this long, mix letters and digits and carry this much entropy per character to pass for a key.
_MIN_TOKEN_LENGTH = 20
_MIN_TOKEN_ENTROPY_BITS = 3.5
_MIN_SLASHED_SEGMENT = 12
# How much wider than the estimated text a suggested box is, in average character widths per side:
# proportional fonts make the estimate inexact, and an uncovered character is a leak.
_PAD_CHARS = 1.0
_PAD_Y_FRACTION = 0.15


class SecretKind(enum.Enum):
    """What a suggested box hides; the value is the label the user sees."""

    EMAIL = "Email address"
    IP_ADDRESS = "IP address"
    KEY = "Key or token"
    PASSWORD = "Password"  # noqa: S105 - a label, not a password


class RedactionOrigin(enum.Enum):
    """Who made a box: the user (removable) or the OCR suggestions (toggleable)."""

    USER = "user"
    SUGGESTED = "suggested"


@dataclass(frozen=True, slots=True)
class Redaction:
    """One box to fill, with where it came from and whether it is applied."""

    id: int
    box: Rect
    origin: RedactionOrigin
    enabled: bool = True
    kind: SecretKind | None = None
    text: str = ""  # the matched text (suggestions only); shown locally, never uploaded

    @property
    def label(self) -> str:
        """Short description for a list of boxes."""
        return self.kind.value if self.kind else "Your box"


class RedactionSet:
    """The boxes of one screenshot: user boxes can be removed, suggestions toggled. Not thread-safe."""

    def __init__(self, width: int, height: int) -> None:
        """Create an empty set for an image of ``width`` x ``height`` pixels."""
        self._bounds = Rect(0, 0, width, height)
        self._items: dict[int, Redaction] = {}
        self._ids = itertools.count(1)

    def __iter__(self) -> Iterator[Redaction]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def get(self, redaction_id: int) -> Redaction | None:
        """The redaction with this id, or ``None``."""
        return self._items.get(redaction_id)

    def add(
        self,
        box: Rect,
        *,
        origin: RedactionOrigin = RedactionOrigin.USER,
        kind: SecretKind | None = None,
        text: str = "",
    ) -> Redaction | None:
        """Add a box (clamped to the image); returns it, or ``None`` if it covers no pixel."""
        clamped = clamp(box, self._bounds)
        if clamped.empty:
            return None
        item = Redaction(next(self._ids), clamped, origin, True, kind, text)
        self._items[item.id] = item
        return item

    def add_suggestions(self, suggestions: Iterable[tuple[Rect, SecretKind, str]]) -> list[Redaction]:
        """Add OCR suggestions, pre-applied; returns the ones added."""
        added = []
        for box, kind, text in suggestions:
            item = self.add(box, origin=RedactionOrigin.SUGGESTED, kind=kind, text=text)
            if item is not None:
                added.append(item)
        return added

    def remove(self, redaction_id: int) -> bool:
        """Remove a box; returns whether it existed."""
        return self._items.pop(redaction_id, None) is not None

    def set_enabled(self, redaction_id: int, enabled: bool) -> bool:
        """Apply or skip a box; returns whether it existed."""
        item = self._items.get(redaction_id)
        if item is None:
            return False
        self._items[redaction_id] = replace(item, enabled=enabled)
        return True

    def topmost_at(self, x: float, y: float) -> Redaction | None:
        """The most recently added box containing the point, or ``None``."""
        for item in reversed(list(self._items.values())):
            box = item.box
            if box.x <= x < box.right and box.y <= y < box.bottom:
                return item
        return None

    def applied_boxes(self) -> list[Rect]:
        """The boxes that will be filled."""
        return [item.box for item in self._items.values() if item.enabled]


def apply_redactions(image: Image.Image, boxes: Iterable[Rect]) -> Image.Image:
    """Return an RGB copy of ``image`` with every box filled solid black; the input is left untouched."""
    result = image.convert("RGB") if image.mode != "RGB" else image.copy()
    bounds = Rect(0, 0, result.width, result.height)
    for box in boxes:
        clamped = clamp(box, bounds)
        if not clamped.empty:
            result.paste(FILL_COLOR, (clamped.x, clamped.y, clamped.right, clamped.bottom))
    return result


# --------------------------------------------------------------------------- finding secrets in text


@dataclass(frozen=True, slots=True)
class SecretMatch:
    """A secret-looking span of a text: ``text[start:end]``."""

    kind: SecretKind
    start: int
    end: int
    text: str


_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\w)"
)
_IPV6_CANDIDATE = re.compile(
    r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|\d{1,3}(?:\.\d{1,3}){3})(?![\w:])"
)
_VERSION_CONTEXT = re.compile(r"(?:version|ver\.?|build|release|v)\s*$", re.IGNORECASE)
# Well-known key formats, matched before the generic entropy check.
_KNOWN_KEYS = re.compile(
    r"""(?<![\w-])(?:
        sk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}          # OpenAI / Anthropic style
      | (?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}    # Stripe
      | gh[pousr]_[A-Za-z0-9]{30,}                      # GitHub tokens
      | github_pat_[A-Za-z0-9_]{22,}
      | (?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}             # AWS access key ids
      | AIza[0-9A-Za-z_-]{35}                           # Google API keys
      | xox[abprs]-[A-Za-z0-9-]{10,}                    # Slack
      | eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}  # JWT
    )""",
    re.VERBOSE,
)
_TOKEN = re.compile(rf"[A-Za-z0-9+/_-]{{{_MIN_TOKEN_LENGTH},}}={{0,2}}")
_PASSWORD = re.compile(
    r"\b(?:pass(?:word|wd|phrase|code)?|pwd|pin|secret|api[ _-]?key|token)\s*[:=]\s*(?P<value>\S+)",
    re.IGNORECASE,
)
_MASKED = re.compile(r"[*•●·.]+")
# CLSIDs, activity and correlation ids in error dialogs: diagnostic, not secret.
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def _entropy_bits(token: str) -> float:
    counts = Counter(token)
    return -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())


def _looks_like_key(token: str) -> bool:
    """Long, mixed letters and digits, high entropy, and not a path."""
    core = token.strip("=-_")
    if len(core) < _MIN_TOKEN_LENGTH or "//" in core or _GUID.fullmatch(core):
        return False
    if not (any(c.isdigit() for c in core) and any(c.isalpha() for c in core)):
        return False
    if "/" in core:
        # A path ("C:/Users/me/App1") has short segments; base64 keys with "/" have long ones and mixed case.
        mixed_case = any(c.islower() for c in core) and any(c.isupper() for c in core)
        if not mixed_case or max(len(s) for s in core.split("/")) < _MIN_SLASHED_SEGMENT:
            return False
    return _entropy_bits(core) >= _MIN_TOKEN_ENTROPY_BITS


def _is_ipv6(candidate: str) -> bool:
    groups = [g for g in candidate.split(":") if g]
    if len(groups) < 3:  # "a::b", "12:30:45" and "::1" are not worth hiding, or not addresses
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def _raw_matches(text: str) -> Iterator[SecretMatch]:
    """Every candidate match, overlapping."""
    for m in _PASSWORD.finditer(text):
        value = m.group("value").rstrip(".,;)\"'")
        if value and not _MASKED.fullmatch(value):
            yield SecretMatch(SecretKind.PASSWORD, m.start("value"), m.start("value") + len(value), value)
    for m in _EMAIL.finditer(text):
        yield SecretMatch(SecretKind.EMAIL, m.start(), m.end(), m.group())
    for m in _IPV4.finditer(text):
        if not _VERSION_CONTEXT.search(text[max(0, m.start() - 12) : m.start()]):
            yield SecretMatch(SecretKind.IP_ADDRESS, m.start(), m.end(), m.group())
    for m in _IPV6_CANDIDATE.finditer(text):
        if _is_ipv6(m.group()):
            yield SecretMatch(SecretKind.IP_ADDRESS, m.start(), m.end(), m.group())
    for m in _KNOWN_KEYS.finditer(text):
        yield SecretMatch(SecretKind.KEY, m.start(), m.end(), m.group())
    for m in _TOKEN.finditer(text):
        if _looks_like_key(m.group()):
            yield SecretMatch(SecretKind.KEY, m.start(), m.end(), m.group())


def find_secrets(text: str) -> list[SecretMatch]:
    """Find spans of ``text`` that look like emails, IP addresses, keys/tokens or passwords.

    Version numbers, error codes (``0x80070005``), GUID-free prose and paths are left alone. Overlapping matches
    are merged into the first (leftmost, then longest) one.

    Args:
        text: One line of (OCR) text.

    Returns:
        Non-overlapping matches in text order.
    """
    found = sorted(_raw_matches(text), key=lambda s: (s.start, -(s.end - s.start)))
    merged: list[SecretMatch] = []
    for match in found:
        if merged and match.start < merged[-1].end:
            last = merged[-1]
            if match.end > last.end:
                merged[-1] = SecretMatch(last.kind, last.start, match.end, text[last.start : match.end])
            continue
        merged.append(match)
    return merged


@dataclass(frozen=True, slots=True)
class OcrLine:
    """One line of recognised text and its bounding box in image pixels."""

    text: str
    box: Rect


def _span_box(line: OcrLine, start: int, end: int) -> Rect:
    """Estimate the pixels of ``line.text[start:end]`` from the line box, padded (never shrunk) for safety."""
    n = max(1, len(line.text))
    char_w = line.box.width / n
    pad_y = line.box.height * _PAD_Y_FRACTION
    return from_drag(
        (line.box.x + char_w * (start - _PAD_CHARS), line.box.y - pad_y),
        (line.box.x + char_w * (end + _PAD_CHARS), line.box.bottom + pad_y),
    )


def suggest_redactions(lines: Sequence[OcrLine]) -> list[tuple[Rect, SecretKind, str]]:
    """Boxes over the secret-looking parts of OCR lines, ready for :meth:`RedactionSet.add_suggestions`."""
    return [
        (_span_box(line, match.start, match.end), match.kind, match.text)
        for line in lines
        for match in find_secrets(line.text)
    ]
