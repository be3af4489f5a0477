"""The durable job queue: work that outlives its request, on PostgreSQL through procrastinate (ADR 11).

A slice describes its background work as a :class:`JobSpec` (a name, an async function taking JSON-able keyword
arguments, how often to try) and enqueues it with :func:`defer` **inside the transaction that made the work
necessary**: the job exists exactly when the rows that need it do, so a crash between "stored" and "enqueued"
cannot lose it and a rolled-back request leaves no job behind. :func:`defer` calls procrastinate's own SQL entry
point (``procrastinate_defer_jobs_v1``, the function its client calls too) on the caller's connection; the version
is pinned in ``pyproject.toml`` and ``tests/server/integration/jobs`` fails if that entry point changes.

Workers (:meth:`JobQueue.work`: ``techpal-server worker``, and one inside every ``techpal-server run`` unless
``TECHPAL_INPROCESS_WORKER=false``) take jobs with ``FOR UPDATE SKIP LOCKED``, wake on ``NOTIFY``, retry a failing
job with exponential backoff and send heartbeats; a job whose worker stopped beating (killed, machine gone) is put
back in the queue by any other worker after :attr:`JobQueue.stalled_after` seconds. A job may thus run more than
once: every job function is idempotent. When the last attempt fails, the spec's ``gave_up`` runs, so whoever waits
for the work (a ticket's pending screenshot) is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from typing import TYPE_CHECKING, Any, Final

import procrastinate
import structlog
from procrastinate.psycopg_connector import PsycopgConnector
from sqlalchemy import text
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

__all__ = ["JobQueue", "JobSpec", "defer", "libpq_url"]

logger = structlog.get_logger(__name__)

QUEUE: Final = "default"
RESTART_PAUSE_S: Final = 5.0
_DEFER = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, NULL, CAST(:args AS jsonb), NULL)]"
    "::procrastinate_job_to_defer_v1[])"
)


@dataclasses.dataclass(frozen=True, slots=True)
class JobSpec:
    """One kind of job: ``run(**args)`` does the work; ``gave_up(**args)`` runs once the last attempt failed."""

    name: str
    run: Callable[..., Awaitable[None]]
    attempts: int = 6  # the first and five retries, 2, 4, 8, 16 and 32 s after each failure
    gave_up: Callable[..., Awaitable[None]] | None = None


async def defer(db: AsyncSession | AsyncConnection, name: str, **args: str | int) -> None:
    """Enqueue job ``name`` with ``args`` in ``db``'s transaction: it runs only if that transaction commits."""
    await db.execute(_DEFER, {"queue": QUEUE, "task": name, "args": json.dumps(args)})


def libpq_url(sqlalchemy_url: str) -> str:
    """The libpq connection string psycopg needs for our SQLAlchemy (asyncpg) URL."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class JobQueue:
    """The jobs the server knows and the workers that run them. Building one opens nothing."""

    def __init__(self, db_url: str, *, stalled_after: float = 30.0) -> None:
        self.stalled_after = stalled_after
        # A connection that cannot be had within 5 s fails the call: a database that went away must not hang the
        # worker's shutdown (the worker starts again once it is back).
        connector = PsycopgConnector(conninfo=libpq_url(db_url), min_size=1, max_size=4, timeout=5)
        self._app = procrastinate.App(connector=connector)
        self._specs: dict[str, JobSpec] = {}

    def register(self, spec: JobSpec) -> None:
        """Make ``spec`` known to this process's workers."""
        if spec.name in self._specs:
            raise ValueError(f"job {spec.name!r} is registered twice")
        self._specs[spec.name] = spec

        async def run(context: procrastinate.JobContext, /, **args: Any) -> None:
            try:
                await spec.run(**args)
            except Exception:
                last = context.job.attempts + 1 >= spec.attempts
                logger.warning("job_failed", job=spec.name, attempt=context.job.attempts + 1, last=last,
                               exc_info=True)  # fmt: skip
                if last and spec.gave_up is not None:
                    await spec.gave_up(**args)
                raise

        # procrastinate counts retries, and reads 0 as "no limit".
        retry = (
            procrastinate.RetryStrategy(max_attempts=spec.attempts - 1, exponential_wait=2)
            if spec.attempts > 1
            else False
        )
        self._app.task(name=spec.name, queue=QUEUE, pass_context=True, retry=retry)(run)

    async def work(self, *, concurrency: int = 4, name: str = "worker", until_idle: bool = False) -> None:
        """Run jobs until cancelled, or (``until_idle``) until none is left to start; then close the connections.

        Jobs running at the end may finish (up to 8 s). A worker that fails (the database away) starts again after a
        pause; with ``until_idle`` the failure is raised.
        """
        while True:
            try:
                await self._work_once(concurrency=concurrency, name=name, until_idle=until_idle)
                return
            except Exception:
                if until_idle:
                    raise
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    return  # stopped while failing: procrastinate turns a cancellation into its own shutdown
                logger.warning("job_worker_failed", retry_in_s=RESTART_PAUSE_S, exc_info=True)
                await asyncio.sleep(RESTART_PAUSE_S)

    async def _work_once(self, *, concurrency: int, name: str, until_idle: bool) -> None:
        connector = self._app.connector
        try:
            await self._app.open_async()
            rescuing = asyncio.create_task(self._rescue_stalled_jobs())
            try:
                await self._app.run_worker_async(
                    concurrency=concurrency,
                    name=name,
                    wait=not until_idle,
                    install_signal_handlers=False,  # the caller (uvicorn, our CLI) owns the signals
                    delete_jobs="successful",  # a finished job keeps no ids of users' data around
                    update_heartbeat_interval=self.stalled_after / 4,
                    stalled_worker_timeout=self.stalled_after,
                    shutdown_graceful_timeout=8,
                )
            finally:
                rescuing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await rescuing
        finally:
            # Also when opening was cancelled or failed half-way: the pool's reconnecting tasks must not outlive
            # the worker (they kept a stopped server's event loop, and so its process, alive).
            await asyncio.shield(connector.close_async())

    async def _rescue_stalled_jobs(self) -> None:
        """Put back in the queue the jobs of workers whose heartbeat stopped (killed, or their machine gone)."""
        manager = self._app.job_manager
        while True:
            await asyncio.sleep(self.stalled_after / 3)
            try:
                for job in await manager.get_stalled_jobs(seconds_since_heartbeat=self.stalled_after):
                    logger.warning("job_rescued", job=job.task_name, job_id=job.id, attempts=job.attempts)
                    await manager.retry_job(job)
            except Exception:  # the database may be away for a moment; the next round tries again
                logger.warning("stalled_job_check_failed", exc_info=True)
