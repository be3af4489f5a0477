"""A bounded thread pool for blocking, CPU-heavy work (image decoding, OCR, embeddings) called from async code.

Unbounded ``asyncio.to_thread`` would queue every upload of a traffic spike in memory and answer minutes later; this
pool runs at most ``workers`` jobs, lets at most ``max_waiting`` more wait (each at most ``wait_timeout`` seconds),
and refuses the rest at once with a 503 ``busy`` carrying a ``Retry-After`` estimated from recent job times. The event
loop only awaits futures, so it keeps serving other requests (``/health``) while the pool is full.

A job whose caller gives up (client disconnect, cancellation) keeps its worker until the thread finishes — a thread
cannot be interrupted — so the bound always counts the threads really busy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import math
import time
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from server.lib.exceptions import ServiceUnavailable

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["BoundedExecutor"]

P = ParamSpec("P")
T = TypeVar("T")


class BoundedExecutor:
    """Runs blocking callables in ``workers`` threads, with a bounded, time-limited wait for a free one."""

    def __init__(
        self,
        *,
        workers: int = 2,
        max_waiting: int = 8,
        wait_timeout: float = 30.0,
        name: str = "worker",
        busy_message: str = "The server is busy; please try again in a moment.",
    ) -> None:
        if workers < 1 or max_waiting < 0 or wait_timeout <= 0:
            raise ValueError("workers >= 1, max_waiting >= 0 and wait_timeout > 0 are required")
        self.workers = workers
        self.max_waiting = max_waiting
        self.wait_timeout = wait_timeout
        self._busy_message = busy_message
        self._threads = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._free: asyncio.Semaphore | None = None  # bound to the running loop on first use
        self._admitted = 0  # running + waiting
        self._running = 0
        self._closed = False
        self._mean_seconds = 1.0  # moving average of job durations, for Retry-After

    @property
    def running(self) -> int:
        """Jobs whose thread is working now."""
        return self._running

    @property
    def waiting(self) -> int:
        """Jobs waiting for a free worker."""
        return self._admitted - self._running

    def _busy(self) -> ServiceUnavailable:
        rounds = math.ceil((self.waiting + 1) / self.workers)
        retry_after = max(1, math.ceil(rounds * self._mean_seconds))
        return ServiceUnavailable(self._busy_message, code="busy", headers={"Retry-After": str(retry_after)})

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Runs ``fn(*args, **kwargs)`` in a worker thread and returns its result (or raises its exception).

        Raises:
            ServiceUnavailable: code ``busy`` when the pool and its queue are full or the wait timed out,
                ``service_unavailable`` after :meth:`close`.
        """
        if self._closed:
            raise ServiceUnavailable("The server is shutting down; please try again in a moment.")
        if self._admitted >= self.workers + self.max_waiting:
            raise self._busy()
        if self._free is None:
            self._free = asyncio.Semaphore(self.workers)
        free = self._free
        self._admitted += 1
        released = False
        try:
            try:
                async with asyncio.timeout(self.wait_timeout):
                    await free.acquire()
            except TimeoutError:
                raise self._busy() from None
            self._running += 1
            loop = asyncio.get_running_loop()
            started = time.monotonic()

            def finished(_: concurrent.futures.Future[T]) -> None:
                # Runs in the worker thread (or here, when cancelled before starting).
                def release() -> None:
                    self._running -= 1
                    self._admitted -= 1
                    self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * (time.monotonic() - started)
                    free.release()

                with contextlib.suppress(RuntimeError):  # the loop is gone; nobody waits on this pool any more
                    loop.call_soon_threadsafe(release)

            try:
                job = self._threads.submit(functools.partial(fn, *args, **kwargs))
            except RuntimeError:  # shut down between our check and now
                self._running -= 1
                free.release()
                raise ServiceUnavailable("The server is shutting down; please try again in a moment.") from None
            released = True  # from here on, ``finished`` gives the slot back when the thread is done
            job.add_done_callback(finished)
            return await asyncio.wrap_future(job)
        finally:
            if not released:
                self._admitted -= 1

    async def close(self) -> None:
        """Refuses new jobs, drops queued ones and waits for running threads to finish."""
        self._closed = True
        await asyncio.to_thread(self._threads.shutdown, wait=True, cancel_futures=True)
