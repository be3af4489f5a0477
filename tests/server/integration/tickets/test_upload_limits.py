"""Ticket uploads cost neither memory nor unbounded concurrency.

Bodies stream to temporary files, and an account has at most 2 creates in flight (429 ``too_many_uploads`` beyond,
not counted against the hourly limit).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import io
import time
import tracemalloc
from typing import TYPE_CHECKING

import httpx
from PIL import Image

from server.domain.tickets.images import MAX_SCREENSHOT_BYTES
from server.domain.tickets.limits import UPLOADS_IN_FLIGHT
from server.domain.tickets.reading import ScreenshotProcessor
from server.domain.tickets.upload import CREATE_BODY_LIMIT, MAX_SCREENSHOTS, UPLOADS_DIR
from tests.fixtures.auth import create_user
from tests.fixtures.db import connect
from tests.fixtures.images import png_bytes
from tests.fixtures.server import serve
from tests.fixtures.tickets import create_ticket

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.context import AppContext
    from server.settings import Settings
    from tests.fixtures.auth import TestUser
    from tests.fixtures.mail import Mailbox
    from tests.fixtures.server import LiveServer

BOUNDARY = "techpal-upload-limits"
CHUNK = 64 * 1024


@functools.cache
def _big_png() -> bytes:
    """A valid PNG just under the 10 MB limit that decodes fast: one colour, stored without compression."""
    side = 1820
    out = io.BytesIO()
    Image.new("RGB", (side, side), (40, 90, 160)).save(out, "PNG", compress_level=0)
    data = out.getvalue()
    assert MAX_SCREENSHOT_BYTES * 0.9 < len(data) <= MAX_SCREENSHOT_BYTES, len(data)
    return data


def _text_part(name: str, value: str) -> bytes:
    return f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()


def _file_head(filename: str = "screen.png") -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="screenshots"; filename="{filename}"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()


def _form(description: str, files: Sequence[bytes]) -> list[bytes]:
    """The pieces of a multipart body, in order (not joined: a client streams them)."""
    pieces = [_text_part("description", description)]
    for data in files:
        pieces += [_file_head(), data, b"\r\n"]
    return [*pieces, f"--{BOUNDARY}--\r\n".encode()]


def _headers(user: dict[str, str], length: int | None = None) -> dict[str, str]:
    headers = {**user, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    if length is not None:
        headers["Content-Length"] = str(length)
    return headers


async def _streamed(pieces: Sequence[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        for start in range(0, len(piece), CHUNK):
            yield piece[start : start + CHUNK]


async def test_a_large_upload_streams_to_temporary_files_not_memory(context: AppContext, mailbox: Mailbox) -> None:
    # No OCR: its model's working memory is bounded per worker whatever the body size; this measures the body.
    quiet = dataclasses.replace(context, screenshots=ScreenshotProcessor(ocr=None))
    *pieces, closing = _form("Five big screenshots", [_big_png()] * MAX_SCREENSHOTS)
    size = sum(map(len, pieces)) + len(closing)
    assert 45 * 1024 * 1024 < size <= CREATE_BODY_LIMIT
    arrived, finish = asyncio.Event(), asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        async for chunk in _streamed(pieces):
            yield chunk
        arrived.set()
        await finish.wait()
        yield closing

    with serve(context=quiet) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
            user = (await create_user(http, mailbox)).headers
            tracemalloc.start()  # the server runs in this process: its allocations are traced
            try:
                baseline, _ = tracemalloc.get_traced_memory()
                upload = asyncio.create_task(http.post("/api/v1/tickets", content=body(), headers=_headers(user, size)))
                await asyncio.wait_for(arrived.wait(), timeout=60)
                await asyncio.sleep(0.5)  # the server reads what the socket still holds
                while_arriving = tracemalloc.get_traced_memory()[0] - baseline
                finish.set()
                response = await asyncio.wait_for(upload, timeout=60)
                peak = tracemalloc.get_traced_memory()[1] - baseline
            finally:
                tracemalloc.stop()

    assert response.status_code == 201, response.text
    assert response.json()["screenshot_count"] == MAX_SCREENSHOTS
    mib = 1024 * 1024
    # All but the last bytes arrived: they are on disk, not in the server's memory.
    assert while_arriving < size / 10, f"{while_arriving / mib:.1f} MiB held for a {size / mib:.1f} MiB body"
    # Then the screenshots are read back one at a time (the one in the workers and the next being read).
    assert peak < size / 2, f"peak {peak / mib:.1f} MiB for a {size / mib:.1f} MiB body"


async def _creates_counted(db_url: str) -> int:
    connection = await connect(db_url)
    try:
        return int(
            await connection.fetchval("SELECT coalesce(sum(count), 0) FROM rate_counters WHERE kind = 'ticket_create'")
        )
    finally:
        await connection.close()


async def test_an_account_has_at_most_two_uploads_in_flight(
    live_server: LiveServer, mailbox: Mailbox, db_url: str
) -> None:
    release = asyncio.Event()
    head, *tail = _form("A slow upload", [png_bytes()])

    async def slow_body() -> AsyncIterator[bytes]:
        yield head  # the description; the screenshot waits for ``release``
        await release.wait()
        for piece in tail:
            yield piece

    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as http:
        user = (await create_user(http, mailbox)).headers
        other = (await create_user(http, mailbox)).headers
        slow = [
            asyncio.create_task(http.post("/api/v1/tickets", content=slow_body(), headers=_headers(user)))
            for _ in range(UPLOADS_IN_FLIGHT)
        ]
        deadline = time.monotonic() + 15
        while await _creates_counted(db_url) < UPLOADS_IN_FLIGHT:  # counted once past the in-flight check
            assert time.monotonic() < deadline, "the slow uploads never started"
            await asyncio.sleep(0.05)

        refused = await http.post("/api/v1/tickets", files={"description": (None, "A third one")}, headers=user)
        assert (refused.status_code, refused.json()["code"]) == (429, "too_many_uploads"), refused.text
        assert int(refused.headers["retry-after"]) > 0
        assert await _creates_counted(db_url) == UPLOADS_IN_FLIGHT  # a refused upload costs no hourly credit
        others = await http.post("/api/v1/tickets", files={"description": (None, "Mine")}, headers=other)
        assert others.status_code == 201, others.text  # the limit is per account

        release.set()
        done = await asyncio.wait_for(asyncio.gather(*slow), timeout=30)
        assert [r.status_code for r in done] == [201] * UPLOADS_IN_FLIGHT, [r.text for r in done]
        again = await http.post("/api/v1/tickets", files={"description": (None, "Slots are free")}, headers=user)
        assert again.status_code == 201, again.text


async def test_an_upload_refused_midway_frees_its_slot(live_server: LiveServer, mailbox: Mailbox) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as http:
        user = (await create_user(http, mailbox)).headers
        for _ in range(UPLOADS_IN_FLIGHT + 1):
            bad = _form("Not an image", [b"GIF89a" + b"\0" * 200_000])
            response = await http.post("/api/v1/tickets", content=b"".join(bad), headers=_headers(user))
            assert (response.status_code, response.json()["code"]) == (422, "unsupported_image"), response.text
        ok = await http.post("/api/v1/tickets", files={"description": (None, "Still allowed")}, headers=user)
        assert ok.status_code == 201, ok.text


async def test_an_upload_the_disk_cannot_take_is_a_503_and_leaves_nothing(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings, db_url: str
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / UPLOADS_DIR).write_text("not a folder")  # the spool cannot be made

    response = await create_ticket(client, signed_in_user, screenshots=[png_bytes()], expect=None)

    assert (response.status_code, response.json()["code"]) == (503, "service_unavailable"), response.text
    connection = await connect(db_url)
    try:
        assert await connection.fetchval("SELECT count(*) FROM tickets") == 0
    finally:
        await connection.close()
    await create_ticket(client, signed_in_user, description="Without a screenshot the disk is not needed")
