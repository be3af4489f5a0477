"""Run a blocking call (network, keyring, disk) off the GUI thread and get its result back on the GUI thread.

The call runs on a :class:`~desktop.services.workers.WorkerPool`. The worker thread emits a signal of the
:class:`TaskRunner`, which lives in the GUI thread; Qt therefore queues the call of the runner's own slot, and that
slot — already on the GUI thread — hands the result to the Python callback. Callbacks are never connected to a
worker's signal directly: a lambda has no thread affinity, so Qt would run it in the worker thread (ADR 3).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from desktop.services.workers import WorkerPool

__all__ = ["TaskRunner"]

logger = logging.getLogger(__name__)

OnSuccess = Callable[[Any], None]
OnError = Callable[[BaseException], None]


class TaskRunner(QObject):
    """Blocking calls whose results arrive on the GUI thread as callbacks. Create it on the GUI thread.

    Args:
        max_threads: Parallel calls; the rest wait in order.
        parent: Owning QObject.
    """

    _succeeded = Signal(int, object)
    _failed = Signal(int, object)

    def __init__(self, *, max_threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = WorkerPool(max_threads, parent=self)
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[OnSuccess, OnError | None]] = {}
        self._closed = False
        self._succeeded.connect(self._deliver_success)
        self._failed.connect(self._deliver_failure)

    def run(self, call: Callable[[], Any], on_success: OnSuccess, on_error: OnError | None = None) -> int:
        """Start ``call()`` in a worker thread; ``on_success(result)`` or ``on_error(exc)`` then run on this thread.

        Returns:
            The task's id (0 when the runner is shut down and nothing was started).
        """
        if self._closed:
            return 0
        task_id = next(self._ids)
        self._callbacks[task_id] = (on_success, on_error)
        succeeded, failed = self._succeeded, self._failed

        def job() -> None:  # every outcome is reported, so no caller waits forever
            try:
                result = call()
            except Exception as exc:
                failed.emit(task_id, exc)
                return
            succeeded.emit(task_id, result)

        self._pool.start(job)
        return task_id

    @property
    def pending(self) -> int:
        """Calls started whose result has not been delivered yet."""
        return len(self._callbacks)

    def shutdown(self, timeout_ms: int = 5_000, *, last: Callable[[], object] | None = None) -> None:
        """Drop queued calls, wait for running ones, and deliver nothing more.

        Args:
            timeout_ms: How long to wait, in all.
            last: One more call, made after the running ones within the same wait (its result is dropped).
        """
        self._closed = True
        self._pool.clear()
        if last is not None:

            def job() -> None:
                try:
                    last()
                except Exception:
                    logger.warning("the last call before shutdown failed", exc_info=True)

            self._pool.start(job)
        self._pool.wait(timeout_ms, keep_queued=last is not None)
        self._callbacks.clear()

    @Slot(int, object)
    def _deliver_success(self, task_id: int, result: object) -> None:
        callbacks = self._callbacks.pop(task_id, None)
        if callbacks is not None:
            callbacks[0](result)

    @Slot(int, object)
    def _deliver_failure(self, task_id: int, error: object) -> None:
        callbacks = self._callbacks.pop(task_id, None)
        if callbacks is None:
            return
        assert isinstance(error, BaseException)
        if callbacks[1] is None:
            logger.error("background task failed", exc_info=error)
        else:
            callbacks[1](error)
