"""Incremental Server-Sent Events parser (the WHATWG "event stream" interpretation rules).

The network hands us bytes in arbitrary chunks: a line ending, a multi-byte UTF-8 character or a CRLF pair may
be split across two chunks. The parser buffers exactly what it cannot interpret yet, so feeding a stream in one
piece or byte by byte yields the same events.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["SseEvent", "SseParser", "iter_sse"]


@dataclass(frozen=True, slots=True)
class SseEvent:
    r"""One dispatched event.

    Attributes:
        event: The ``event:`` field, ``"message"`` when the server gave none.
        data: The ``data:`` lines joined with ``\n``.
        id: The last event id seen so far in the stream (sticky, as the spec says), or ``""``.
        retry: The reconnection time in ms from a ``retry:`` field of this event, if any.
    """

    event: str
    data: str
    id: str = ""
    retry: int | None = None


class SseParser:
    """Feed bytes, get complete events. Not thread-safe; one parser per stream."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # text after the last complete line
        self._skip_lf = False  # the previous chunk ended with CR: a leading LF belongs to it
        self._first_line = True  # a UTF-8 BOM is dropped at the very start only
        self._event = ""
        self._data: list[str] = []
        self._has_data = False
        self._last_id = ""
        self._retry: int | None = None
        self.reconnection_ms: int | None = None  # latest ``retry:`` value, even from an event with no data

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Consume ``chunk`` and return the events it completed (possibly none)."""
        return self._feed_text(self._decoder.decode(chunk))

    def close(self) -> list[SseEvent]:
        """End of stream: an incomplete trailing event is discarded, as the spec requires."""
        self._feed_text(self._decoder.decode(b"", final=True))
        self._pending = ""
        self._reset_event()
        return []

    def _feed_text(self, text: str) -> list[SseEvent]:
        if self._skip_lf and text:
            if text[0] == "\n":
                text = text[1:]
            self._skip_lf = False
        events: list[SseEvent] = []
        buffer = self._pending + text
        start = 0
        length = len(buffer)
        while True:
            cr = buffer.find("\r", start)
            lf = buffer.find("\n", start)
            if cr == -1 and lf == -1:
                break
            if cr == -1 or (lf != -1 and lf < cr):
                end, next_start = lf, lf + 1
            elif cr + 1 < length:
                end = cr
                next_start = cr + 2 if buffer[cr + 1] == "\n" else cr + 1
            else:  # CR is the last character: the LF may come in the next chunk
                end, next_start = cr, cr + 1
                self._skip_lf = True
            event = self._line(buffer[start:end])
            if event is not None:
                events.append(event)
            start = next_start
        self._pending = buffer[start:]
        return events

    def _line(self, line: str) -> SseEvent | None:
        if self._first_line:
            self._first_line = False
            line = line.removeprefix("\ufeff")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment, e.g. a keep-alive
        name, colon, value = line.partition(":")
        if colon:
            value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
            self._has_data = True
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
            self.reconnection_ms = self._retry
        return None  # unknown fields are ignored

    def _dispatch(self) -> SseEvent | None:
        if not self._has_data:
            self._reset_event()
            return None
        data = "\n".join(self._data)
        event = SseEvent(event=self._event or "message", data=data, id=self._last_id, retry=self._retry)
        self._reset_event()
        return event

    def _reset_event(self) -> None:
        self._event = ""
        self._data = []
        self._has_data = False
        self._retry = None


def iter_sse(chunks: Iterable[bytes]) -> Iterator[SseEvent]:
    """Parse a whole stream lazily: yields each event as soon as its blank line has arrived."""
    parser = SseParser()
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.close()
