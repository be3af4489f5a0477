"""Export (access and portability): a ZIP of everything of the account, built after the answer, one a day."""

from __future__ import annotations

import datetime
import io
import json
import uuid
import zipfile
from typing import TYPE_CHECKING

from server.domain.privacy.exports import build_stale_exports
from tests.fixtures.db import query, rows_eventually
from tests.fixtures.images import jpeg_bytes, png_bytes
from tests.fixtures.tickets import create_ticket, parse_sse
from tests.server.integration.privacy.conftest import lifecycle_on_this_loop

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.app import TechPalApp
    from server.settings import Settings
    from tests.fixtures.auth import TestUser, UserFactory
    from tests.fixtures.mail import Mailbox


async def _export(client: AsyncTestClient[Litestar], user: TestUser) -> tuple[dict[str, object], zipfile.ZipFile]:
    started = await client.post("/api/v1/me/export", headers=user.headers)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "pending"
    export_id = started.json()["id"]
    status = (await client.get(f"/api/v1/me/exports/{export_id}", headers=user.headers)).json()
    download = await client.get(f"/api/v1/me/exports/{export_id}/download", headers=user.headers)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["cache-control"] == "no-store"
    return status, zipfile.ZipFile(io.BytesIO(download.content))


async def test_the_archive_holds_the_profile_settings_and_every_ticket_with_its_screenshots(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, mailbox: Mailbox
) -> None:
    user = signed_in_user
    change = {"analytics": False, "email": "new@example.com", "current_password": user.password}
    await client.patch("/api/v1/me", json=change, headers=user.headers)
    shots = [png_bytes(320, 200), jpeg_bytes(300, 180)]
    with_shots = (
        await create_ticket(client, user, description="Outlook asks for my password", screenshots=shots)
    ).json()
    plain = (await create_ticket(client, user, description="The printer is offline", priority="high")).json()
    answer = parse_sse((await client.post(f"/api/v1/tickets/{plain['id']}/resolve", headers=user.headers)).text)
    cited = [data for name, data in answer if name == "citation"]

    status, archive = await _export(client, user)

    assert status["status"] == "ready"
    assert status["size_bytes"] > 0
    names = set(archive.namelist())
    assert {"README.txt", "profile.json", "sessions.json", "settings.json", "billing.json"} <= names
    profile = json.loads(archive.read("profile.json"))
    assert (profile["email"], profile["username"], profile["name"]) == (user.email, user.username, user.name)
    assert profile["pending_email"] == "new@example.com"
    assert profile["sign_in"] == {"password": True, "google_account_id": None, "two_step_since": None}
    assert datetime.datetime.fromisoformat(profile["created_at"]).tzinfo is not None  # ISO-8601 with the zone
    settings_doc = json.loads(archive.read("settings.json"))
    assert (settings_doc["analytics"], settings_doc["ai_processing"], settings_doc["kb_contribution"]) == (
        False,
        True,
        True,
    )
    assert json.loads(archive.read("sessions.json"))[0]["device_name"] == "tests"
    billing = json.loads(archive.read("billing.json"))
    assert billing["plan"] == "free"
    assert "card" not in json.dumps(billing["subscriptions"])
    first = json.loads(archive.read(f"tickets/{with_shots['id']}/ticket.json"))
    assert first["description"] == "Outlook asks for my password"
    assert [s["file"] for s in first["screenshots"]] == ["screenshots/0.png", "screenshots/1.jpg"]  # as the API
    assert all("ocr_text" in s for s in first["screenshots"])
    stored = [archive.read(f"tickets/{with_shots['id']}/{s['file']}") for s in first["screenshots"]]
    served = [
        (await client.get(f"/api/v1/tickets/{with_shots['id']}/screenshots/{n}", headers=user.headers)).content
        for n in range(2)
    ]
    assert stored == served  # the stored images, byte for byte
    second = json.loads(archive.read(f"tickets/{plain['id']}/ticket.json"))
    assert second["priority"] == "high"
    assert second["priority_set_by"] == "user"
    assert [m["role"] for m in second["messages"]] == ["assistant"]
    assert [c["article_id"] for c in second["messages"][0]["citations"]] == [c["article_id"] for c in cited]
    assert any(h["field"] == "status" for h in second["status_history"])
    ready = await mailbox.latest_to(user.email)
    assert "ready" in ready["Subject"]
    body = ready.get_content()
    assert "Outlook" not in body
    assert user.username not in body


async def test_another_users_export_is_not_found(client: AsyncTestClient[Litestar], user_factory: UserFactory) -> None:
    owner, other = await user_factory(), await user_factory()
    export_id = (await client.post("/api/v1/me/export", headers=owner.headers)).json()["id"]

    for path in (f"/api/v1/me/exports/{export_id}", f"/api/v1/me/exports/{export_id}/download"):
        response = await client.get(path, headers=other.headers)
        assert response.status_code == 404, path
    assert (await client.get("/api/v1/me/exports", headers=other.headers)).json() == []
    assert (await client.get(f"/api/v1/me/exports/{uuid.uuid4()}", headers=owner.headers)).status_code == 404


async def test_one_export_a_day_then_429_with_retry_after(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings
) -> None:
    first = await client.post("/api/v1/me/export", headers=signed_in_user.headers)
    again = await client.post("/api/v1/me/export", headers=signed_in_user.headers)

    assert again.status_code == 429
    assert again.json()["code"] == "export_limited"
    assert 23 * 3600 < int(again.headers["retry-after"]) <= 24 * 3600
    await query(settings, "UPDATE data_exports SET created_at = created_at - interval '25 hours'")
    third = await client.post("/api/v1/me/export", headers=signed_in_user.headers)
    assert third.status_code == 202
    listed = (await client.get("/api/v1/me/exports", headers=signed_in_user.headers)).json()
    assert [e["id"] for e in listed] == [third.json()["id"], first.json()["id"]]  # newest first


async def test_an_expired_export_says_so_and_cannot_be_downloaded(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings
) -> None:
    export_id = (await client.post("/api/v1/me/export", headers=signed_in_user.headers)).json()["id"]
    await query(settings, "UPDATE data_exports SET expires_at = now() - interval '1 second'")

    info = (await client.get(f"/api/v1/me/exports/{export_id}", headers=signed_in_user.headers)).json()
    download = await client.get(f"/api/v1/me/exports/{export_id}/download", headers=signed_in_user.headers)

    assert (info["status"], info["size_bytes"]) == ("expired", None)
    assert (download.status_code, download.json()["code"]) == (409, "export_expired")


async def test_a_pending_export_left_by_a_crash_is_built_by_the_next_round(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings, app: TechPalApp
) -> None:
    export_id = (await client.post("/api/v1/me/export", headers=signed_in_user.headers)).json()["id"]
    await query(settings, "UPDATE data_exports SET status = 'pending', size_bytes = NULL")  # as if it died midway
    pending = await client.get(f"/api/v1/me/exports/{export_id}/download", headers=signed_in_user.headers)
    assert (pending.status_code, pending.json()["code"]) == (409, "export_not_ready")

    async with lifecycle_on_this_loop(app) as life:
        assert await build_stale_exports(life) == 0  # not stale yet: its builder may still run
        await query(settings, "UPDATE data_exports SET created_at = created_at - interval '11 minutes'")
        assert await build_stale_exports(life) == 1

    info = (await client.get(f"/api/v1/me/exports/{export_id}", headers=signed_in_user.headers)).json()
    assert info["status"] == "ready"


async def test_a_lost_screenshot_file_does_not_stop_the_export(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings
) -> None:
    ticket = (await create_ticket(client, signed_in_user, screenshots=[png_bytes(200, 100)])).json()
    for path in (settings.data_dir / "blobs").rglob("*"):
        if path.is_file():
            path.unlink()  # a disk fault

    status, archive = await _export(client, signed_in_user)

    assert status["status"] == "ready"
    document = json.loads(archive.read(f"tickets/{ticket['id']}/ticket.json"))
    assert len(document["screenshots"]) == 1  # still listed…
    assert not [n for n in archive.namelist() if "/screenshots/" in n]  # …without a file, as README.txt explains


async def test_an_export_that_keeps_failing_does_not_lock_its_owner_out(
    client: AsyncTestClient[Litestar], signed_in_user: TestUser, settings: Settings
) -> None:
    await client.post("/api/v1/me/export", headers=signed_in_user.headers)
    await query(settings, "UPDATE data_exports SET status = 'pending', size_bytes = NULL")  # its build fails
    refused = await client.post("/api/v1/me/export", headers=signed_in_user.headers)
    assert refused.status_code == 429  # it may still finish
    await query(settings, "UPDATE data_exports SET created_at = created_at - interval '61 minutes'")

    again = await client.post("/api/v1/me/export", headers=signed_in_user.headers)

    assert again.status_code == 202


async def test_the_archive_holds_the_api_keys_and_their_usage_but_never_a_key(
    client: AsyncTestClient[Litestar], settings: Settings, signed_in_user: TestUser
) -> None:
    user = signed_in_user
    body = {"name": "Reporting", "scopes": ["tickets:read"]}
    created = (await client.post("/api/v1/me/api-keys", json=body, headers=user.headers)).json()
    key_headers = {"Authorization": f"Bearer {created['key']}"}
    assert (await client.get("/api/v1/tickets", headers=key_headers)).status_code == 200
    assert settings.db.url is not None
    assert await rows_eventually(settings.db.url.get_secret_value(), "SELECT id FROM api_key_usage")  # within 1 s

    _status, archive = await _export(client, user)

    [key] = json.loads(archive.read("api_keys.json"))
    assert (key["id"], key["name"], key["prefix"], key["scopes"]) == (
        created["id"],
        "Reporting",
        created["prefix"],
        ["tickets:read"],
    )
    assert [(call["method"], call["route"], call["status"]) for call in key["usage"]] == [
        ("GET", "/api/v1/tickets", 200)
    ]
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert created["key"].encode() not in everything
