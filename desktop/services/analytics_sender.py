"""Sends the recorder's usage batches in the background: every few minutes, one at a time, and once more at quit.

A batch is taken from the :class:`~desktop.core.analytics.AnalyticsRecorder` just before it is posted, and given
back when it was not delivered for a reason that passes (no network, the server busy, 429 too frequent, the session
needing a new sign-in): a transient failure loses nothing, and a delivered batch is never sent again. A batch the
server refuses for good (another 4xx, such as 422) is dropped: it would fail the same way every time and hold back
every later event.

The request runs on this sender's own :class:`~desktop.services.workers.WorkerPool`; results come back to its bound
slots on the GUI thread. Quit waits for the last batch at most :data:`QUIT_WAIT_MS`: statistics never delay it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.core.api.errors import ApiError, SessionExpired
from desktop.services.workers import CallWorker, WorkerPool

if TYPE_CHECKING:
    from desktop.core.analytics import AnalyticsRecorder, UsageBatch

__all__ = ["DEFAULT_SEND_INTERVAL_MS", "QUIT_TIMEOUT_S", "QUIT_WAIT_MS", "AnalyticsSender", "Send"]

logger = logging.getLogger(__name__)

DEFAULT_SEND_INTERVAL_MS: Final = 5 * 60_000
QUIT_TIMEOUT_S: Final = 1.0  # each phase (connect, send, answer) of the last request at quit
QUIT_WAIT_MS: Final = 1_500  # quit goes on after this, delivered or not

# ``ApiClient.send_analytics`` in effect: ``send(batch, timeout_s) -> accepted``; ``None``: the usual timeouts.
Send = Callable[["UsageBatch", "float | None"], int]


class AnalyticsSender(QObject):
    """Posts pending usage batches while started; stopped, it sends nothing (the events wait in the recorder).

    Args:
        recorder: Where the events wait; batches are taken from it and given back on a transient failure.
        interval_ms: How often to send while started (0: only when :meth:`send_now` is called, and at quit).
        parent: Owning QObject.

    Signals:
        sent(int, int): A batch was delivered: how many events the server accepted, of how many sent (none of
            several: the account's switch is off on the server, which stored nothing).
        session_expired(): The session ended (the batch waits for the next sign-in).
    """

    sent = Signal(int, int)
    session_expired = Signal()

    def __init__(
        self, recorder: AnalyticsRecorder, *, interval_ms: int = DEFAULT_SEND_INTERVAL_MS, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._recorder = recorder
        self._send: Send | None = None
        self._pool = WorkerPool(max_threads=1, parent=self)
        self._running: CallWorker[int] | None = None
        self._batch: UsageBatch | None = None  # the batch in flight, to give back if it fails
        self._more = False  # a batch went through: the next follows at once, until none is left
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.send_now)

    @property
    def active(self) -> bool:
        """Started (signed in, with the account's switch on)."""
        return self._send is not None

    @property
    def busy(self) -> bool:
        """A batch is on its way."""
        return self._running is not None

    def start(self, send: Send) -> None:
        """Send through ``send`` from now on, on the timer."""
        self._send = send
        if self._timer.interval() > 0 and not self._timer.isActive():
            self._timer.start()

    def stop(self) -> None:
        """Send nothing more (signed out, the switch turned off); a request under way ends on its own."""
        self._send = None
        self._timer.stop()

    @Slot()
    def send_now(self) -> None:
        """Post the oldest pending batch (the next ones follow while each goes through); nothing while stopped."""
        send = self._send
        if send is None or self._running is not None:
            return
        batch = self._recorder.take_batch()
        if batch is None:
            return
        worker: CallWorker[int] = CallWorker(lambda: send(batch, None), self)
        worker.succeeded.connect(self._on_sent)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_finished)
        self._running, self._batch = worker, batch
        worker.start(self._pool)

    def flush(self, *, timeout_s: float = QUIT_TIMEOUT_S, wait_ms: int = QUIT_WAIT_MS) -> None:
        """At quit: post what is pending once more, waiting ``wait_ms`` at most; then send nothing more.

        The batch goes even without events: it tells the server how long the app ran in all. Best effort: whatever
        is not delivered in time is lost with the app (events live in memory only).
        """
        send = self._send
        self.stop()
        batch = self._recorder.take_batch(final=True) if send is not None and self._running is None else None
        if send is not None and batch is not None:
            self._pool.start(lambda: _last_send(send, batch, timeout_s))
        self._pool.wait(wait_ms, keep_queued=True)

    @Slot(object)
    def _on_sent(self, accepted: int) -> None:
        batch, self._batch = self._batch, None
        self._more = True
        self.sent.emit(accepted, len(batch.events) if batch is not None else 0)

    @Slot(object)
    def _on_failed(self, error: ApiError) -> None:
        batch, self._batch = self._batch, None
        if batch is None:
            return
        if error.is_transient or isinstance(error, SessionExpired):
            self._recorder.put_back(batch)
            logger.info("usage events not sent (%s); kept for later", error.code)
        else:
            logger.warning("usage events refused (%s: %s); %d dropped", error.code, error.detail, len(batch.events))
        if isinstance(error, SessionExpired):
            self.session_expired.emit()

    @Slot()
    def _on_finished(self) -> None:
        worker, self._running = self._running, None
        if worker is not None:
            worker.deleteLater()
        if self._more:
            self._more = False
            self.send_now()


def _last_send(send: Send, batch: UsageBatch, timeout_s: float) -> None:
    """The batch posted at quit, in the pool; its outcome is only logged (the app is ending)."""
    try:
        send(batch, timeout_s)
    except Exception as exc:  # an ApiError or a closed client: the events are lost with the app, as documented
        logger.info("usage events not sent at quit: %r", exc)
