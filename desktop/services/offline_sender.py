"""Sends the questions queued while offline once the server is back: on a timer, and as soon as health turns ok.

The drain itself (disk reads, HTTP, deletes) runs in a worker thread. Each entry carries the ``Idempotency-Key`` it
got when queued, and the core queue deletes an entry only after the server accepted it and serializes drains, so
a drain started twice (timer and health at once, or after a lost answer) still creates one ticket per question.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.core.api import ApiError, SessionExpired, Ticket
from desktop.core.health import ServerState, ServerStatus
from desktop.core.question import Question
from desktop.services.workers import CallWorker, WorkerPool

if TYPE_CHECKING:
    from desktop.core.offline_queue import DrainResult, OfflineQueue

__all__ = ["DEFAULT_DRAIN_INTERVAL_MS", "OfflineSender"]

logger = logging.getLogger(__name__)

DEFAULT_DRAIN_INTERVAL_MS: Final = 60_000

Send = Callable[[Question, str], Ticket]


class OfflineSender(QObject):
    """Drains one account's :class:`OfflineQueue` in the background.

    Args:
        queue: The signed-in account's outbox.
        send: ``ApiClient.create_ticket`` in effect: ``send(question, idempotency_key) -> Ticket``.
        interval_ms: How often to try while the app runs (0 disables the timer; health changes still drain).
        parent: Owning QObject.

    Signals:
        sent(object, object): A queued :class:`QueuedQuestion` became this :class:`Ticket`.
        refused(object): The server refused a queued question for good; it stays, marked failed, for the user.
        drained(object): One drain ended, with its :class:`DrainResult`.
        sign_in_required(): The session ended; the questions stay queued until the user signs in again.
        failed(str): The drain itself broke (e.g. the disk); in words.
    """

    sent = Signal(object, object)
    refused = Signal(object)
    drained = Signal(object)
    sign_in_required = Signal()
    failed = Signal(str)

    def __init__(
        self,
        queue: OfflineQueue,
        send: Send,
        *,
        interval_ms: int = DEFAULT_DRAIN_INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._queue = queue
        self._send = send
        self._pool = WorkerPool(max_threads=1, parent=self)
        self._running: CallWorker[DrainResult[Ticket]] | None = None
        self._again = False
        self._last_state: ServerState | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.drain)

    @property
    def queue(self) -> OfflineQueue:
        """The outbox being drained."""
        return self._queue

    @property
    def busy(self) -> bool:
        """A drain is running."""
        return self._running is not None

    def start(self) -> None:
        """Drain now, then on the timer."""
        if self._timer.interval() > 0:
            self._timer.start()
        self.drain()

    def stop(self) -> None:
        """Stop the timer and wait for a running drain (sign-out, quit)."""
        self._timer.stop()
        self._pool.wait()

    @Slot(object)
    def on_health(self, status: ServerStatus) -> None:
        """Connect to ``HealthChecker.checked``: drains when the server turns (or is) reachable and ready."""
        previous, self._last_state = self._last_state, status.state
        if status.state is ServerState.ONLINE and previous is not ServerState.ONLINE:
            self.drain()

    @Slot()
    def drain(self) -> None:
        """Start a drain in the worker; while one runs, one more follows it (a question queued meanwhile)."""
        if self._running is not None:
            self._again = True
            return
        queue, send = self._queue, self._send
        worker: CallWorker[DrainResult[Ticket]] = CallWorker(lambda: queue.drain(send), self)
        worker.succeeded.connect(self._on_drained)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_finished)
        self._running = worker
        worker.start(self._pool)

    @Slot(object)
    def _on_drained(self, result: DrainResult[Ticket]) -> None:
        for entry, ticket in result.sent:
            self.sent.emit(entry, ticket)
        for refused in result.failed:
            self.refused.emit(refused)
        if result.stopped_by is not None:
            logger.info("offline queue: server still unavailable (%s)", result.stopped_by.code)
            self._again = False  # the timer or the next health change tries again
        self.drained.emit(result)

    @Slot(object)
    def _on_failed(self, error: ApiError) -> None:
        self._again = False
        if isinstance(error, SessionExpired):
            self.sign_in_required.emit()
            return
        logger.warning("draining the offline queue failed: %s (%s)", error.code, error.detail)
        self.failed.emit(f"Queued questions could not be sent: {error.message}")

    @Slot()
    def _on_finished(self) -> None:
        worker, self._running = self._running, None
        if worker is not None:
            worker.deleteLater()
        if self._again:
            self._again = False
            self.drain()
