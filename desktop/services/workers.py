"""The one way Tech Pal runs work off the GUI thread: a :class:`WorkerPool`, and the workers built on it.

A :class:`WorkerPool` is a private :class:`QThreadPool` that runs plain Python callables. It is the only place in
``desktop`` that creates threads: every background job (API calls, the streamed answer, the events stream, health
checks, the offline drain, keyring and hotkey probes, redaction and OCR) is a callable started on some owner's pool.

A job reports back by emitting signals of a :class:`QObject` that lives in the GUI thread; since the emitting thread
differs from the receiver's, Qt *queues* the call. Connect those signals to bound slots of QObjects, never to
lambdas or plain functions: those have no thread affinity, and Qt would run them in the worker thread, where
touching widgets crashes. Each owner has its own pool, so shutting one down waits only for that owner's work.

:class:`CallWorker` (one blocking call) and :class:`StreamWorker` (one streamed answer) are the two shapes the API
needs; every worker ends with exactly one ``finished()``, whatever happened, so its owner can forget it there.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from desktop.core.api.errors import ApiError

if TYPE_CHECKING:  # the models bring msgspec; the idle tray (health checks only) needs none of it
    from collections.abc import Callable

    from desktop.core.api import EventStream, StreamEvent

__all__ = ["CallWorker", "StreamWorker", "WorkerPool", "unexpected_failure"]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

SHUTDOWN_WAIT_MS: Final = 10_000


def unexpected_failure(exc: BaseException) -> ApiError:
    """A bug in our own code as an :class:`ApiError`, so the user still reads a sentence and the UI recovers."""
    return ApiError(
        status=0,
        code="client_error",
        message="Something went wrong inside Tech Pal. Your text is kept; please try again.",
        detail=repr(exc),
    )


class _Run(QRunnable):
    """Adapts a Python callable to :class:`QRunnable` (the pool owns and deletes it)."""

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__()
        self._work = work

    def run(self) -> None:
        """Run the work; it reports its own errors through signals."""
        self._work()


class WorkerPool(QObject):
    """A private thread pool for one owner, so shutting it down waits only for that owner's work.

    With one thread, jobs run one after the other in the order they were started.

    Args:
        max_threads: Parallel jobs; the rest wait in order. A stream holds a thread while it lasts.
        parent: Owning QObject.
    """

    def __init__(self, max_threads: int = 4, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)

    def start(self, work: Callable[[], None]) -> None:
        """Run ``work`` in a pool thread; it reports its results and errors itself, through signals."""
        self._pool.start(_Run(work))

    def clear(self) -> None:
        """Drop jobs that have not started yet (a running one goes on)."""
        self._pool.clear()

    @property
    def busy(self) -> bool:
        """A job is running."""
        return self._pool.activeThreadCount() > 0

    def wait(self, timeout_ms: int = SHUTDOWN_WAIT_MS, *, keep_queued: bool = False) -> bool:
        """Drop queued work (unless ``keep_queued``) and wait for the rest; True when everything ended in time."""
        if not keep_queued:
            self._pool.clear()
        return bool(self._pool.waitForDone(timeout_ms))


class CallWorker(QObject, Generic[_T]):
    """One blocking call (``create_ticket``, ``send_feedback``, ``list_tickets``, a queue write …) in a pool thread.

    Signals:
        succeeded(object): What the call returned.
        failed(object): The :class:`ApiError` it raised (a bug becomes one too, see :func:`unexpected_failure`).
        finished(): Always, last.
    """

    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, work: Callable[[], _T], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work

    def start(self, pool: WorkerPool) -> None:
        """Run the call in ``pool``; results arrive through the signals."""
        pool.start(self._run)

    def _run(self) -> None:
        try:
            result: Any = self._work()
        except ApiError as exc:
            self.failed.emit(exc)
        except Exception as exc:
            logger.exception("a background call failed unexpectedly")
            self.failed.emit(unexpected_failure(exc))
        else:
            self.succeeded.emit(result)
        self.finished.emit()


class StreamWorker(QObject):
    """Opens a streamed answer and emits one signal per event, in order; :meth:`cancel` stops it from any thread.

    Opening happens in the worker too (it is an HTTP request that may refresh the token or wait for the server),
    so a 402 or an unreachable server arrives as ``failed`` without ever blocking the GUI thread.

    Signals:
        opened(): The server accepted the request and the stream is open.
        triage(object): A :class:`TriageEvent`.
        citation(object): A :class:`Citation`.
        delta(str): The next piece of the answer's Markdown.
        notice(object): An :class:`ErrorEvent`: the model failed; a fallback answer may follow.
        note(object): A :class:`NoteEvent`: something the user should know about this answer (not a failure).
        progress(object): A :class:`ProgressEvent`: what the answer waits for before it starts.
        done(object): The :class:`DoneEvent` (the answer is complete).
        failed(object): The :class:`ApiError` that ended the stream (opening or mid-answer).
        finished(): Always, last; also after :meth:`cancel` (which emits nothing else).
    """

    opened = Signal()
    triage = Signal(object)
    citation = Signal(object)
    delta = Signal(str)
    notice = Signal(object)
    note = Signal(object)
    progress = Signal(object)
    done = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, open_stream: Callable[[], EventStream[StreamEvent]], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._open_stream = open_stream
        self._lock = threading.Lock()
        self._stream: EventStream[StreamEvent] | None = None
        self._cancelled = False

    def is_cancelled(self) -> bool:
        """Whether :meth:`cancel` was called (a method, not a property: another thread changes it)."""
        with self._lock:
            return self._cancelled

    def start(self, pool: WorkerPool) -> None:
        """Open and read the stream in ``pool``."""
        pool.start(self._run)

    @Slot()
    def cancel(self) -> None:
        """Stop reading: closes the connection; the worker then emits only ``finished``."""
        with self._lock:
            self._cancelled = True
            stream = self._stream
        if stream is not None:
            stream.close()

    def _run(self) -> None:
        try:
            self._read()
        except ApiError as exc:
            if not self.is_cancelled():
                self.failed.emit(exc)
        except Exception as exc:
            if not self.is_cancelled():
                logger.exception("reading a streamed answer failed unexpectedly")
                self.failed.emit(unexpected_failure(exc))
        self.finished.emit()

    def _read(self) -> None:
        from desktop.core.api.models import DoneEvent  # noqa: PLC0415 - see TYPE_CHECKING above

        if self.is_cancelled():
            return
        stream = self._open_stream()
        with self._lock:
            self._stream = stream
            cancelled = self._cancelled
        if cancelled:  # cancel() came while the request was being opened
            stream.close()
            return
        self.opened.emit()
        with stream:
            for event in stream:
                if self.is_cancelled():
                    return
                self._emit(event)
                if isinstance(event, DoneEvent):
                    return

    def _emit(self, event: StreamEvent) -> None:
        from desktop.core.api.models import (  # noqa: PLC0415
            Citation,
            DeltaEvent,
            ErrorEvent,
            NoteEvent,
            ProgressEvent,
            TriageEvent,
        )

        if isinstance(event, DeltaEvent):
            self.delta.emit(event.text)
        elif isinstance(event, Citation):
            self.citation.emit(event)
        elif isinstance(event, TriageEvent):
            self.triage.emit(event)
        elif isinstance(event, ErrorEvent):
            self.notice.emit(event)
        elif isinstance(event, NoteEvent):
            self.note.emit(event)
        elif isinstance(event, ProgressEvent):
            self.progress.emit(event)
        else:
            self.done.emit(event)
