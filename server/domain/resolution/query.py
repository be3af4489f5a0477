"""The search query of a ticket: its description plus the *error text* read from its screenshots.

A whole-desktop screenshot holds far more text than the error: icon labels, window titles, menus, the taskbar, the
clock. Sent whole, that noise outweighs the dialog's few lines in the search. So OCR lines are scored: a line with an
error code (``0x80070005``, ``AADSTS50076``) or an error word (error, failed, cannot, denied …) is error text; a
sentence-like line (≥ 4 words) may be; short labels (``Recycle Bin``, ``File  Edit  View``, ``10:42 AM``) are dropped.
When error text was found, the other sentences are dropped too unless they continue an error line (the dialog's
wrapped text, whose next line starts in lower case).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["MAX_QUERY_CHARS", "build_query", "error_lines"]

MAX_QUERY_CHARS = 1500
_CODE = re.compile(
    r"\b(?:0x[0-9a-f]{6,8}|[A-Z]{3,}[0-9]{4,}|[0-9]{4,}-[0-9]+|error\s*(?:code)?\s*:?\s*-?[0-9]{2,}|"
    r"[A-Z]+(?:_[A-Z0-9]+){2,})\b",
    re.IGNORECASE,
)
_ERROR_WORDS = re.compile(
    r"\b(error|errors|exception|fail(?:ed|s|ure)?|denied|cannot|can't|can ?not|couldn't|could not|unable|invalid|"
    r"not found|problem|blocked|crash(?:ed)?|stopped|not responding|unexpected|corrupt(?:ed)?|expired|refused|"
    r"timed out|timeout|missing|incorrect|unavailable|not allowed|not supported|violation|fatal|warning|"
    r"isn't|wasn't|won't|doesn't|didn't|no longer|"
    r"not (?:be )?(?:opened|started|loaded|completed|verified|installed))\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_][\w'’.-]*", re.UNICODE)
# Clock, dates, percentages, sizes: taskbar and status bar furniture.
_FURNITURE = re.compile(
    r"^\s*(?:\d{1,2}[:.]\d{2}(?:\s*[AP]M)?|\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}|\d+\s*%|[\d.,]+\s*[KMGT]?B)\s*$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?:)]\s*$")


def _words(line: str) -> int:
    return len(_WORD.findall(line))


def is_error_line(line: str) -> bool:
    """Whether ``line`` looks like part of an error message (a code or an error word)."""
    return bool(_CODE.search(line) or _ERROR_WORDS.search(line))


def error_lines(ocr_text: str) -> list[str]:
    """The lines of ``ocr_text`` (one OCR line a line) that carry the error, in reading order; see the module doc."""
    lines = [re.sub(r"\s+", " ", line).strip() for line in ocr_text.splitlines()]
    lines = [line for line in lines if line and not _FURNITURE.match(line)]
    errors = {i for i, line in enumerate(lines) if is_error_line(line) and (_words(line) >= 2 or _CODE.search(line))}
    if not errors:
        return [line for line in lines if _words(line) >= 4]
    keep = set(errors)
    # A dialog's wrapped sentence: the next lines starting in lower case continue it. OCR lists lines top to bottom,
    # so text beside the dialog (a window behind it) may sit between two of its lines: look a few lines ahead.
    for i in sorted(errors):
        at = i
        while lines[at][:1].islower():  # the sentence began on an earlier (full-width, so long) line
            start = next((j for j in range(at - 1, max(at - 4, -1), -1) if _words(lines[j]) >= 5), None)
            if start is None or _SENTENCE_END.search(lines[start]) or start in keep:
                break
            keep.add(start)
            at = start
        at = i
        while not _SENTENCE_END.search(lines[at]):
            follow = next((j for j in range(at + 1, min(at + 4, len(lines))) if lines[j][:1].islower()), None)
            if follow is None:
                break
            keep.add(follow)
            at = follow
    return [lines[i] for i in sorted(keep)]


def build_query(description: str, ocr_texts: Iterable[str], question: str | None = None) -> str:
    """The search query: the follow-up question, the screenshots' error text, then the description (bounded)."""
    parts: list[str] = []
    if question and question.strip():
        parts.append(question.strip())
    seen: set[str] = set()
    for text in ocr_texts:
        for line in error_lines(text):
            if line.lower() not in seen:
                seen.add(line.lower())
                parts.append(line)
    if description.strip():
        parts.append(description.strip())
    return "\n".join(parts)[:MAX_QUERY_CHARS]
