"""Streamed responses as typed events: a streamed answer (``triage`` … ``done``) and the ticket-events stream.

An :class:`EventStream` is iterated in a worker thread and may be closed from any other thread to cancel it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any, Final, TypeAlias, TypeVar

import httpx
import msgspec

from desktop.core.api.errors import ServerUnreachable
from desktop.core.api.models import (
    Citation,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    NoteEvent,
    ProgressEvent,
    TicketChanged,
    TriageEvent,
)
from desktop.core.api.sse import SseParser

__all__ = ["EventStream", "StreamEvent", "iter_answer", "iter_events"]

logger = logging.getLogger(__name__)
_E = TypeVar("_E")

StreamEvent: TypeAlias = ProgressEvent | NoteEvent | TriageEvent | Citation | DeltaEvent | DoneEvent | ErrorEvent
_STREAM_TYPES: Final[dict[str, type[StreamEvent]]] = {
    "progress": ProgressEvent,
    "note": NoteEvent,
    "triage": TriageEvent,
    "citation": Citation,
    "delta": DeltaEvent,
    "done": DoneEvent,
    "error": ErrorEvent,
}


class EventStream(Iterator[_E]):
    """Typed events of one streamed response: iterate in a worker thread; :meth:`close` from any thread cancels.

    After :meth:`close` the iteration simply ends (no error), so a cancelled answer is not reported as a failure.
    The connection is released when the iteration ends, fails, or the stream is closed.
    """

    def __init__(self, response: httpx.Response, events: Iterator[_E]) -> None:
        self._response = response
        self._events = events
        self._cancelled = False

    def __next__(self) -> _E:
        if self._cancelled:
            self._response.close()
            raise StopIteration
        try:
            return next(self._events)
        except StopIteration:
            self._response.close()
            raise
        except Exception:
            self._response.close()
            if self._cancelled:
                raise StopIteration from None
            raise

    def close(self) -> None:
        """Stop, from any thread: the iteration ends quietly, and the iterating thread releases the connection.

        A read blocked in the iterating thread wakes with end-of-file.

        The socket is shut down, not closed: closing does not wake a ``recv`` blocked in another thread (Linux), and
        it frees the descriptor number at once, so the next connection (say, the logout request) could reuse it
        under the blocked reader. httpcore exposes the socket through the ``network_stream`` extension.
        """
        self._cancelled = True
        network = self._response.extensions.get("network_stream")
        sock = network.get_extra_info("socket") if network is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        else:  # another transport (tests' MockTransport): closing is all it offers
            self._response.close()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`close` was called before the stream ended by itself."""
        return self._cancelled

    def __enter__(self) -> EventStream[_E]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
        self._response.close()  # the iterating thread itself: safe to release now


def iter_events(response: httpx.Response) -> Iterator[TicketChanged]:
    """Typed ticket changes of the ``/events`` stream (``kind`` from the event name if the data has none).

    Malformed events are skipped with a warning.
    """
    for sse in _iter_response_sse(response):
        try:
            change = msgspec.json.decode(sse.data.encode(), type=TicketChanged)
        except msgspec.DecodeError:
            logger.warning("ignoring a malformed %r event on /events", sse.event)
            continue
        yield change if change.kind else msgspec.structs.replace(change, kind=sse.event)


def _iter_response_sse(response: httpx.Response) -> Iterator[Any]:
    parser = SseParser()
    try:
        for chunk in response.iter_bytes():  # decoded: the server may compress
            yield from parser.feed(chunk)
    except httpx.TransportError as exc:
        raise ServerUnreachable(
            message="The connection dropped while the answer was arriving. Your question is kept; try again.",
            detail=str(exc) or type(exc).__name__,
        ) from exc
    parser.close()


def iter_answer(response: httpx.Response) -> Iterator[StreamEvent]:
    """Typed events until ``done``.

    An ``error`` event is passed on but does not end the stream (the server may follow with a retrieval-only
    answer). A stream that stops without ``done`` ends with an ``error`` event: the server's own last one if it
    sent one just before closing, else ``stream_incomplete``.
    """
    last: StreamEvent | None = None
    try:
        for sse in _iter_response_sse(response):
            kind = _STREAM_TYPES.get(sse.event)
            if kind is None:
                logger.debug("skipping unknown stream event %r", sse.event)
                continue
            try:
                event = msgspec.json.decode(sse.data.encode(), type=kind)
            except msgspec.DecodeError:
                logger.warning("ignoring a malformed %r event", sse.event)
                continue
            last = event
            yield event
            if isinstance(event, DoneEvent):
                return
        if not isinstance(last, ErrorEvent):
            yield ErrorEvent(code="stream_incomplete", message="The answer stopped before it was complete. Try again.")
    finally:
        response.close()
