"""The server's ``/api/v1/events`` stream in the background, turned into desktop notifications.

A job on a one-thread :class:`~desktop.services.workers.WorkerPool` keeps one streamed request open, forwards each
ticket change as a signal, and reconnects with exponential backoff when the stream ends or the server cannot be
reached. A revoked session stops it (the app sends the user back to sign-in). :meth:`EventsWorker.stop` closes the
stream from the GUI thread, which ends the blocking read at once.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QObject, Signal

from desktop.core.api.errors import ApiError, SessionExpired
from desktop.services.workers import WorkerPool

if TYPE_CHECKING:  # the client's module brings httpx and msgspec; the idle tray without a session needs neither
    from collections.abc import Callable

    from desktop.core.api.client import ApiClient, EventStream
    from desktop.core.api.models import TicketChanged

__all__ = ["EventsWorker", "backoff_delays", "describe_change"]

logger = logging.getLogger(__name__)

FIRST_DELAY_S: Final = 1.0
MAX_DELAY_S: Final = 60.0
_SNIPPET = 160
_STATUS_WORDS: Final = {
    "open": "is open again",
    "escalated": "was passed to a support agent",
    "waiting_on_user": "is waiting for your answer",
    "resolved": "is marked as resolved",
    "closed": "was closed",
}


def backoff_delays(first: float = FIRST_DELAY_S, maximum: float = MAX_DELAY_S) -> Callable[[bool], float]:
    """A delay function: call with ``True`` after a good connection (resets), ``False`` after a failure (doubles)."""
    current = first

    def next_delay(reset: bool) -> float:
        nonlocal current
        if reset:
            current = first
        delay = current
        current = min(maximum, current * 2)
        return delay

    return next_delay


def describe_change(change: TicketChanged) -> tuple[str, str] | None:
    """(title, text) of a notification for a change worth one, else ``None``.

    Agent replies and status changes are; the user's own messages and the AI's answers (which the user is
    watching stream in) are not.
    """
    if change.kind == "message" and change.role == "agent":
        text = " ".join((change.preview or "").split())
        if len(text) > _SNIPPET:
            text = text[: _SNIPPET - 1] + "…"
        return "New reply from support", text or "A support agent answered your question."
    status = change.new_status
    if status is not None:
        words = _STATUS_WORDS.get(status, f"is now {status.replace('_', ' ')}")
        return "Ticket update", f"Your ticket {words}."
    return None


class EventsWorker(QObject):
    """Listens to my tickets' changes while signed in.

    Args:
        client: The signed-in API client.
        delays: Backoff policy (see :func:`backoff_delays`); tests pass a fast one.
        parent: Owning QObject.

    Signals:
        ticket_changed(object): One :class:`TicketChanged`.
        notify(str, str): Title and text of a desktop notification (see :func:`describe_change`).
        connected(): The stream is open.
        session_expired(): The session was revoked; the worker has stopped.
    """

    ticket_changed = Signal(object)
    notify = Signal(str, str)
    connected = Signal()
    session_expired = Signal()

    def __init__(
        self,
        client: ApiClient,
        *,
        delays: Callable[[bool], float] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._client = client
        self._delays = delays or backoff_delays()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._stream: EventStream[TicketChanged] | None = None
        self._pool = WorkerPool(max_threads=1, parent=self)
        self._started = False
        self._alive = threading.Event()

    @property
    def running(self) -> bool:
        """The background job is alive."""
        return self._alive.is_set()

    def start(self) -> None:
        """Start listening (once)."""
        if self._started:
            return
        self._started = True
        self._stop.clear()
        self._alive.set()
        self._pool.start(self._run)

    def stop(self, timeout_ms: int = 5_000) -> None:
        """Close the stream and wait up to ``timeout_ms`` for the job to end (0: do not wait)."""
        self._stop.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()
        if not self._started:
            return
        if self._pool.wait(timeout_ms):
            self._started = False
        elif timeout_ms:  # still running: the owner keeps this worker until its shutdown waits for it
            logger.warning("the events stream did not stop within %d ms", timeout_ms)

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._alive.clear()

    def _loop(self) -> None:
        while not self._stop.is_set():
            healthy = False
            try:
                stream = self._client.events()
            except SessionExpired:
                self.session_expired.emit()
                return
            except ApiError as exc:
                logger.info("events stream unavailable (%s)", exc.code)
            except Exception:
                logger.exception("events stream crashed while connecting")
            else:
                outcome = self._consume(stream)
                if outcome is None:
                    return
                healthy = outcome
            if self._stop.wait(self._delays(healthy)):
                return

    def _consume(self, stream: EventStream[TicketChanged]) -> bool | None:
        """Read until the stream ends; True if it delivered anything (the next delay resets), None to stop."""
        with self._lock:
            if self._stop.is_set():
                stream.close()
                return None
            self._stream = stream
        self.connected.emit()
        received = False
        try:
            for change in stream:
                received = True
                self.ticket_changed.emit(change)
                notification = describe_change(change)
                if notification is not None:
                    self.notify.emit(*notification)
        except SessionExpired:
            self.session_expired.emit()
            return None
        except ApiError as exc:
            logger.info("events stream dropped (%s)", exc.code)
        except Exception:
            logger.exception("events stream crashed")
        finally:
            with self._lock:
                self._stream = None
            stream.close()
        return received
