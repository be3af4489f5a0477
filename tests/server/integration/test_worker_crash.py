"""``kill -9`` of a worker while it reads a screenshot: another worker runs the job again, and the text lands once.

A ``techpal-server run`` without a worker of its own stores the ticket; worker 1 takes the job and is killed outright
while OCR runs. Its heartbeat stops, so worker 2 (started after the kill) puts the job back in the queue after
``TECHPAL_JOB_STALLED_AFTER`` seconds and reads the screenshot: one row, processed, with the dialog's text once, and
no file of the upload left in storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.fixtures.auth import create_user
from tests.fixtures.db import fetch_rows, fetch_value
from tests.fixtures.images import DIALOG_ERROR, desktop_screenshot
from tests.fixtures.mail import OutboxReader
from tests.fixtures.server import TEST_SECRET_KEY, start_server_process, start_worker_process
from tests.fixtures.tickets import screenshots_read

if TYPE_CHECKING:
    from pathlib import Path

STALLED_AFTER = 5


async def _job_running(db_url: str, within: float) -> None:
    deadline = time.monotonic() + within
    while not await fetch_value(db_url, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"):
        assert time.monotonic() < deadline, "no worker took the job"
        await asyncio.sleep(0.02)


@pytest.mark.slow
async def test_a_job_whose_worker_was_killed_runs_again_and_its_text_lands_once(db_url: str, tmp_path: Path) -> None:
    env = {
        "TECHPAL_DATABASE_URL": db_url.replace("+asyncpg", ""),
        "TECHPAL_SECRET_KEY": TEST_SECRET_KEY,
        "TECHPAL_BLOB_URL": str(tmp_path / "blobs"),
        "TECHPAL_INPROCESS_WORKER": "false",
        "TECHPAL_JOB_STALLED_AFTER": str(STALLED_AFTER),
        "TECHPAL_LOG_LEVEL": "warning",
    }
    with contextlib.ExitStack() as running:
        server = start_server_process(tmp_path / "server", **env)
        running.callback(server.stop)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            user = await create_user(http, OutboxReader(tmp_path / "server" / "outbox"))
            upload = desktop_screenshot()
            files = {"description": (None, "Update fails"), "screenshots": ("shot.png", upload, "image/png")}
            created = await http.post("/api/v1/tickets", files=files, headers=user.headers)
            assert created.status_code == 201, created.text
        ticket_id = created.json()["id"]

        first = start_worker_process(tmp_path / "worker-1", **env)
        running.callback(first.stop)
        await _job_running(db_url, within=60)
        first.stop(signal.SIGKILL)
        await asyncio.sleep(0.5)
        unread = "SELECT count(*) FROM ticket_screenshots WHERE ticket_id = $1::uuid AND processed_at IS NULL"
        assert await fetch_value(db_url, unread, ticket_id) == 1, "killed before the job could finish"

        second = start_worker_process(tmp_path / "worker-2", **env)
        running.callback(second.stop)
        await screenshots_read(db_url, ticket_id, within=STALLED_AFTER * 4 + 60)

    assert any("job_rescued" in line for line in second.output), "worker 2 put the dead worker's job back"
    rows = await fetch_rows(db_url, "SELECT ocr_text, blob_key FROM ticket_screenshots WHERE ticket_id = $1::uuid",
                            ticket_id)  # fmt: skip
    assert len(rows) == 1
    lines = rows[0]["ocr_text"].split("\n")
    assert lines.count(DIALOG_ERROR) == 1
    stored = {path.name for path in (tmp_path / "blobs").rglob("*") if path.is_file()}
    assert rows[0]["blob_key"] in stored
    assert len(stored) == 2, "the sanitised image and the model's copy; the upload's own file is gone"
    assert await fetch_value(db_url, "SELECT count(*) FROM procrastinate_jobs") == 0, "done jobs leave no row"
