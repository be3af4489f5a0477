"""Screenshots are read after the 201, by a job: what the user and a reader see before, while and after it runs.

The app here runs no worker of its own (``inprocess_worker=False``), so the test decides when the queued jobs run
(:func:`run_jobs`, as a ``techpal-server worker`` would).
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING

import httpx
import pytest
from PIL import Image

from tests.fixtures.auth import create_user
from tests.fixtures.db import fetch_rows, fetch_value
from tests.fixtures.images import DIALOG_ERROR, desktop_screenshot, png_bytes, png_with_text_chunks
from tests.fixtures.server import run_jobs
from tests.fixtures.tickets import create_ticket, events_of, parse_sse

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.context import Models
    from server.settings import Settings
    from tests.fixtures.auth import TestUser
    from tests.fixtures.mail import Mailbox
    from tests.fixtures.server import LiveServer

SHOTS = "SELECT processed_at, model_blob_key, ocr_text, blob_key FROM ticket_screenshots WHERE ticket_id = $1::uuid"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(inprocess_worker=False)


def _blob_files(settings: Settings) -> dict[str, bytes]:
    root = settings.data_dir / "blobs"
    return {path.name: path.read_bytes() for path in root.rglob("*") if path.is_file()}


async def test_the_create_answers_before_the_screenshot_is_read_and_the_job_finishes_it(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings, models: Models, db_url: str
) -> None:
    upload = png_with_text_chunks()

    created = await create_ticket(client, signed_in_user, screenshots=[upload], read=False)

    ticket_id = created.json()["id"]
    [before] = await fetch_rows(db_url, SHOTS, ticket_id)
    assert before["processed_at"] is None
    assert before["model_blob_key"] is None
    assert before["ocr_text"] is None
    assert list(_blob_files(settings).values()) == [upload], "stored as uploaded, nothing else yet"
    assert await fetch_value(db_url, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'") == 1

    await run_jobs(settings, models)

    [after] = await fetch_rows(db_url, SHOTS, ticket_id)
    assert after["processed_at"] is not None
    assert after["ocr_text"] == ""
    files = _blob_files(settings)
    assert set(files) == {after["blob_key"], after["model_blob_key"]}, "the upload's own file is gone"
    assert b"secret" not in files[after["blob_key"]], "the kept image is the sanitised one"
    assert await fetch_value(db_url, "SELECT count(*) FROM procrastinate_jobs") == 0


async def test_a_reader_waits_for_the_job_and_gets_the_sanitised_image(
    live_server: LiveServer, mailbox: Mailbox, settings: Settings, models: Models
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        user = await create_user(http, mailbox)
        created = (await create_ticket(http, user, screenshots=[png_with_text_chunks()], read=False)).json()

        reading = asyncio.create_task(http.get(created["screenshots"][0]["url"], headers=user.headers))
        await asyncio.sleep(1)
        assert not reading.done(), "nobody is served the upload as sent"
        await run_jobs(settings, models)
        served = await asyncio.wait_for(reading, 15)

    assert served.status_code == 200
    assert b"secret" not in served.content
    assert Image.open(io.BytesIO(served.content)).size == (64, 48)


async def test_an_answer_streams_progress_while_the_screenshot_is_read_then_answers(
    live_server: LiveServer, mailbox: Mailbox, settings: Settings, models: Models, db_url: str
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as http:
        user = await create_user(http, mailbox)
        created = (await create_ticket(http, user, screenshots=[desktop_screenshot()], read=False)).json()
        async with http.stream("POST", f"/api/v1/tickets/{created['id']}/resolve", headers=user.headers) as stream:
            events = events_of(stream)
            assert await anext(events) == (
                "progress",
                {"code": "reading_screenshot", "message": "Reading your screenshot…"},
            )
            jobs = asyncio.create_task(run_jobs(settings, models))
            names = [name async for name, _ in events]
            await jobs

    assert names[-1] == "done"
    [shot] = await fetch_rows(db_url, SHOTS, created["id"])
    assert DIALOG_ERROR in shot["ocr_text"].split("\n")


async def test_a_read_screenshot_answers_with_no_progress_event(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings, models: Models
) -> None:
    created = (await create_ticket(client, signed_in_user, screenshots=[png_bytes()], read=False)).json()
    await run_jobs(settings, models)

    response = await client.post(f"/api/v1/tickets/{created['id']}/resolve", headers=signed_in_user.headers)

    assert "progress" not in [name for name, _ in parse_sse(response.text)]


async def test_an_upload_that_cannot_be_decoded_after_all_is_dropped_with_its_file(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings, models: Models, db_url: str
) -> None:
    whole = png_bytes(300, 200)
    # Complete by its header and its end, but the pixel data in between is garbage.
    middle = len(whole) // 2
    broken = whole[:60] + bytes(b ^ 0x5A for b in whole[60:middle]) + whole[middle:]
    created = (await create_ticket(client, signed_in_user, screenshots=[broken], read=False)).json()

    await run_jobs(settings, models)

    assert await fetch_rows(db_url, SHOTS, created["id"]) == []
    assert _blob_files(settings) == {}
    detail = (await client.get(f"/api/v1/tickets/{created['id']}", headers=signed_in_user.headers)).json()
    assert detail["screenshots"] == []
    assert detail["description"] == created["description"], "the ticket itself stays"
