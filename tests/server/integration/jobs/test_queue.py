"""The job queue on the test's PostgreSQL: enqueued with the work's transaction, retried with backoff, given up."""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import create_async_engine

from server.db.transactions import session_of_its_own
from server.lib.jobs import JobQueue, JobSpec, defer
from tests.fixtures.db import fetch_value

JOBS_LEFT = "SELECT count(*) FROM procrastinate_jobs"


class Recorder:
    """A job that fails its first ``failures`` runs, and what happened to it."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.runs: list[tuple[str, float]] = []
        self.given_up: list[str] = []

    async def run(self, item: str) -> None:
        self.runs.append((item, time.monotonic()))
        if len(self.runs) <= self.failures:
            raise RuntimeError("not yet")

    async def give_up(self, item: str) -> None:
        self.given_up.append(item)


async def _enqueue(db_url: str, name: str, item: str, *, commit: bool) -> None:
    engine = create_async_engine(db_url)
    try:
        async with session_of_its_own(engine) as db:
            await defer(db, name, item=item)
            if not commit:
                await db.rollback()
    finally:
        await engine.dispose()


async def test_a_job_exists_only_if_its_transaction_commits_and_runs_once(db_url: str) -> None:
    recorder = Recorder()
    queue = JobQueue(db_url)
    queue.register(JobSpec("test.record", recorder.run))

    await _enqueue(db_url, "test.record", "rolled back", commit=False)
    await _enqueue(db_url, "test.record", "committed", commit=True)
    await queue.work(until_idle=True)

    assert [item for item, _ in recorder.runs] == ["committed"]
    assert await fetch_value(db_url, JOBS_LEFT) == 0, "a done job keeps no row"


async def test_a_failing_job_is_retried_after_a_pause_and_then_given_up(db_url: str) -> None:
    recorder = Recorder(failures=5)
    queue = JobQueue(db_url)
    queue.register(JobSpec("test.flaky", recorder.run, attempts=2, gave_up=recorder.give_up))

    await _enqueue(db_url, "test.flaky", "x", commit=True)
    deadline = time.monotonic() + 30
    while not recorder.given_up and time.monotonic() < deadline:
        await queue.work(until_idle=True)

    assert [item for item, _ in recorder.runs] == ["x", "x"]
    assert recorder.runs[1][1] - recorder.runs[0][1] >= 1.9, "the retry waits (2 s after the first failure)"
    assert recorder.given_up == ["x"]
    assert await fetch_value(db_url, "SELECT status::text FROM procrastinate_jobs") == "failed"


async def test_a_job_that_fails_once_succeeds_on_its_retry(db_url: str) -> None:
    recorder = Recorder(failures=1)
    queue = JobQueue(db_url)
    queue.register(JobSpec("test.once", recorder.run, gave_up=recorder.give_up))

    await _enqueue(db_url, "test.once", "y", commit=True)
    deadline = time.monotonic() + 30
    while len(recorder.runs) < 2 and time.monotonic() < deadline:
        await queue.work(until_idle=True)

    assert len(recorder.runs) == 2
    assert recorder.given_up == []
    assert await fetch_value(db_url, JOBS_LEFT) == 0
