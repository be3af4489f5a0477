"""Spans of text to replace, found by every detector on the same input, merged, then written out once.

Detectors never rewrite the text: each reports ``(start, end, placeholder)`` over the original, so no rule sees
another's placeholder. Overlapping spans merge into one, which takes the placeholder of the higher-ranked span (a
name inside an e-mail address becomes part of ``[email]``); two spans over the same words keep the first detector's
(the accounts the server knows run before the guesses by shape).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Found", "render"]

# Higher wins when spans overlap: the more specific kind names the merged span.
RANK = {
    "[url]": 9,
    "[email]": 8,
    "[secret]": 7,
    "[unc-path]": 6,
    "[username]": 5,
    "[host]": 4,
    "[phone]": 3,
    "[card]": 3,
    "[iban]": 3,
    "[national-id]": 3,
    "[employee-id]": 3,
    "[serial]": 3,
    "[asset-tag]": 3,
    "[address]": 3,
    "[birth-date]": 3,
    "[name]": 2,
    "[org]": 1,
}


@dataclass(slots=True)
class Found:
    """The spans found so far in one text, and the organisation names learnt from it (domains, NetBIOS names)."""

    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    organisations: set[str] = field(default_factory=set)

    def add(self, start: int, end: int, placeholder: str) -> None:
        """Replace ``text[start:end]`` with ``placeholder`` (ignored when empty or only spaces)."""
        while start < end and self.text[start].isspace():
            start += 1
        while end > start and self.text[end - 1].isspace():
            end -= 1
        if start < end:
            self.spans.append((start, end, placeholder))


def render(found: Found) -> str:
    """The text with every span replaced; overlapping or nested spans become one placeholder."""
    text = found.text
    merged: list[tuple[int, int, str]] = []
    for start, end, placeholder in sorted(found.spans, key=lambda s: (s[0], -s[1])):
        if merged and start < merged[-1][1]:
            last_start, last_end, last = merged[-1]
            same = (start, end) == (last_start, last_end)  # the same words: the detector that ran first names them
            keep = last if same or RANK.get(last, 0) >= RANK.get(placeholder, 0) else placeholder
            merged[-1] = (last_start, max(last_end, end), keep)
        else:
            merged.append((start, end, placeholder))
    out: list[str] = []
    position = 0
    for start, end, placeholder in merged:
        out.append(text[position:start])
        out.append(placeholder)
        position = end
    out.append(text[position:])
    return "".join(out)
