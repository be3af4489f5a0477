"""Screenshots through the ticket API: stored sanitised, served to the owner and agents only, bad uploads refused.

Hostile uploads and oversized bodies are refused with nothing left behind (no rows, no blob files).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from server.domain.accounts.cli import change_role
from tests.fixtures.db import connect
from tests.fixtures.images import (
    HOSTILE_UPLOADS,
    hostile_upload_bytes,
    jpeg_with_exif_gps,
    png_bytes,
    png_with_text_chunks,
    webp_bytes,
)
from tests.fixtures.tickets import create_ticket

if TYPE_CHECKING:
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.settings import Settings
    from tests.fixtures.auth import TestUser, UserFactory

MB = 1024 * 1024


def _blob_files(settings: Settings) -> set[Path]:
    root = settings.data_dir / "blobs"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


async def _counts(db_url: str) -> tuple[int, int]:
    connection = await connect(db_url)
    try:
        tickets = await connection.fetchval("SELECT count(*) FROM tickets")
        shots = await connection.fetchval("SELECT count(*) FROM ticket_screenshots")
        return int(tickets), int(shots)
    finally:
        await connection.close()


async def test_screenshots_are_stored_sanitised_and_served_back(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings
) -> None:
    uploads = [jpeg_with_exif_gps(), png_with_text_chunks(), webp_bytes()]

    created = (await create_ticket(client, signed_in_user, screenshots=uploads)).json()
    ticket = (await client.get(f"/api/v1/tickets/{created['id']}", headers=signed_in_user.headers)).json()

    assert ticket["screenshot_count"] == 3
    assert [s["index"] for s in ticket["screenshots"]] == [0, 1, 2]
    assert [s["media_type"] for s in ticket["screenshots"]] == ["image/jpeg", "image/png", "image/webp"]
    stored = {p.read_bytes() for p in _blob_files(settings)}
    for shot in ticket["screenshots"]:
        assert shot["url"] == f"/api/v1/tickets/{ticket['id']}/screenshots/{shot['index']}"
        response = await client.get(shot["url"], headers=signed_in_user.headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(shot["media_type"])
        assert response.headers["cache-control"] == "no-store"  # personal data: no cache keeps it
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.content in stored  # exactly the stored, sanitised bytes
        assert len(response.content) == shot["size"]
        image = Image.open(io.BytesIO(response.content))
        assert (image.width, image.height) == (shot["width"], shot["height"])
        assert not image.getexif(), "EXIF must be stripped"
        assert b"Jane Doe" not in response.content
        assert b"Spyphone" not in response.content
        assert b"secret" not in response.content
    # The JPEG's EXIF orientation was applied before the metadata went: 80x40 shown upright is 40x80.
    assert (ticket["screenshots"][0]["width"], ticket["screenshots"][0]["height"]) == (40, 80)
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=signed_in_user.headers)).json()
    assert detail["screenshots"] == ticket["screenshots"]


async def test_screenshot_access_owner_agent_and_strangers(
    client: AsyncTestClient[Litestar], user_factory: UserFactory, db_url: str
) -> None:
    owner, stranger, agent = await user_factory(), await user_factory(), await user_factory()
    await change_role(db_url, agent.email, "agent", grant=True)
    ticket = (await create_ticket(client, owner, screenshots=[png_bytes()])).json()
    url = ticket["screenshots"][0]["url"]

    assert (await client.get(url, headers=owner.headers)).status_code == 200
    assert (await client.get(url, headers=agent.headers)).status_code == 200
    refused = await client.get(url, headers=stranger.headers)
    assert (refused.status_code, refused.json()["code"]) == (404, "ticket_not_found")
    assert (await client.get(url)).status_code == 401
    for index in ("1", "-1", "99"):
        missing = await client.get(url[: -len("0")] + index, headers=owner.headers)
        assert missing.status_code == 404, index
    # The agent sees the image, not the owner's ticket page: that stays the owner's (agents get their own routes).
    assert (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=agent.headers)).status_code == 404


async def test_same_image_in_two_tickets_is_stored_once(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings
) -> None:
    first = (await create_ticket(client, signed_in_user, screenshots=[png_bytes()])).json()
    files = _blob_files(settings)
    second = (await create_ticket(client, signed_in_user, description="again", screenshots=[png_bytes()])).json()

    assert _blob_files(settings) == files
    for ticket in (first, second):
        response = await client.get(ticket["screenshots"][0]["url"], headers=signed_in_user.headers)
        assert response.status_code == 200


@pytest.mark.parametrize("name", HOSTILE_UPLOADS)
async def test_hostile_upload_is_refused_and_nothing_is_stored(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings, db_url: str, name: str
) -> None:
    # A good screenshot first: it is processed, but must not be stored when its neighbour is refused.
    await create_ticket(client, signed_in_user, description="earlier", screenshots=[webp_bytes()])
    before, files = await _counts(db_url), _blob_files(settings)
    hostile, code = hostile_upload_bytes(name)

    response = await create_ticket(
        client, signed_in_user, expect=None, screenshots=[png_bytes(), ("screenshot.png", hostile, "image/png")]
    )

    assert 400 <= response.status_code < 500, response.text
    assert response.json()["code"] == code
    assert await _counts(db_url) == before
    assert _blob_files(settings) == files


async def test_more_than_five_screenshots_is_422(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings, db_url: str
) -> None:
    response = await create_ticket(client, signed_in_user, expect=None, screenshots=[png_bytes()] * 6)

    assert response.status_code == 422
    assert response.json()["code"] == "too_many_screenshots"
    assert await _counts(db_url) == (0, 0)
    assert _blob_files(settings) == set()


async def test_five_screenshots_are_fine(client: AsyncTestClient[Litestar], signed_in_user: TestUser) -> None:
    shots = [png_bytes(32 + n, 24) for n in range(5)]

    ticket = (await create_ticket(client, signed_in_user, screenshots=shots)).json()

    assert [s["width"] for s in ticket["screenshots"]] == [32, 33, 34, 35, 36]


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "understated-length"])
async def test_body_over_55_mb_is_413(
    client: AsyncTestClient[Litestar],
    signed_in_user: TestUser,
    settings: Settings,
    db_url: str,
    announced: bool,
) -> None:
    boundary = "techpal-big-body"
    headers = {**signed_in_user.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    # Announced: refused on the header, before reading. Understated (as a chunked or lying client): the limit must
    # hold on the bytes actually counted. The bytes sit before the first boundary, where the multipart parser skips
    # them, so only the route's limit can stop them.
    if not announced:
        headers["Content-Length"] = "1000"
    body = b"\0" * (56 * MB)

    response = await client.post("/api/v1/tickets", content=body, headers=headers)

    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "body_too_large"
    assert await _counts(db_url) == (0, 0)
    assert _blob_files(settings) == set()


async def test_body_just_under_the_limit_is_read(client: AsyncTestClient[Litestar], signed_in_user: TestUser) -> None:
    # 54 MB of skipped preamble, then a real form: the limit is 55 MB, not less.
    boundary = "techpal-big-body"
    headers = {**signed_in_user.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    form = f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="description"\r\n\r\nbig\r\n--{boundary}--\r\n'

    response = await client.post("/api/v1/tickets", content=b"\0" * (54 * MB) + form.encode(), headers=headers)

    assert response.status_code == 201, response.text


async def test_json_routes_keep_their_small_limit(client: AsyncTestClient[Litestar], signed_in_user: TestUser) -> None:
    response = await client.patch("/api/v1/me", json={"name": "x" * (1 * MB)}, headers=signed_in_user.headers)

    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
