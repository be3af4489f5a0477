"""Objection switches on the profile, signing out other devices, and privacy-policy notices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.fixtures.db import query
from tests.fixtures.server import run_server_command
from tests.server.integration.privacy.conftest import login

if TYPE_CHECKING:
    from pathlib import Path

    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from server.settings import Settings
    from tests.fixtures.auth import TestUser, UserFactory
    from tests.fixtures.mail import OutboxReader


async def test_each_objection_is_stored_and_shown(client: AsyncTestClient[Litestar], signed_in_user: TestUser) -> None:
    me = (await client.get("/api/v1/me", headers=signed_in_user.headers)).json()
    assert (me["kb_contribution"], me["analytics"], me["ai_processing"]) == (True, True, True)

    changed = await client.patch(
        "/api/v1/me", json={"analytics": False, "ai_processing": False}, headers=signed_in_user.headers
    )

    assert (changed.json()["analytics"], changed.json()["ai_processing"]) == (False, False)
    me = (await client.get("/api/v1/me", headers=signed_in_user.headers)).json()
    assert (me["kb_contribution"], me["analytics"], me["ai_processing"]) == (True, False, False)
    bad = await client.patch("/api/v1/me", json={"analytics": "no"}, headers=signed_in_user.headers)
    assert bad.status_code == 422


async def test_sign_out_every_other_device(client: AsyncTestClient[Litestar], signed_in_user: TestUser) -> None:
    others = [(await login(client, signed_in_user)).json()["access_token"] for _ in range(2)]

    response = await client.delete("/api/v1/auth/sessions", headers=signed_in_user.headers)

    assert response.status_code == 204
    sessions = (await client.get("/api/v1/auth/sessions", headers=signed_in_user.headers)).json()
    assert [s["current"] for s in sessions] == [True]
    for token in others:
        assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401


async def publish(settings: Settings, tmp_path: Path, version: str, summary: str, *extra: str) -> tuple[int, str]:
    """``techpal-server policy publish VERSION --summary-file …`` as the operator runs it."""
    summary_file = tmp_path / f"summary-{version}.txt"
    summary_file.write_text(summary, encoding="utf-8")
    assert settings.db.url is not None
    return await run_server_command(
        settings.data_dir,
        settings.db.url.get_secret_value(),
        "policy",
        "publish",
        version,
        "--summary-file",
        str(summary_file),
        *extra,
    )


async def test_a_published_policy_is_mailed_shown_once_and_accepted(
    client: AsyncTestClient[Litestar],
    user_factory: UserFactory,
    settings: Settings,
    tmp_path: Path,
    mailbox: OutboxReader,
) -> None:
    reader, unverified = await user_factory(), await user_factory(verified=False)
    assert (await client.get("/api/v1/me", headers=reader.headers)).json()["policy"] is None
    summary = "We now keep API logs for 90 days instead of 180."

    code, output = await publish(settings, tmp_path, "2027-01", summary, "--url", "https://techpal.example/privacy")

    assert code == 0, output
    assert "mailed to 1 accounts" in output
    notice = await mailbox.latest_to(reader.email)
    assert notice["Subject"] == "Our privacy policy has changed"
    assert summary in notice.get_content()
    assert all(m["Subject"] != notice["Subject"] for m in mailbox.messages() if m["To"] == unverified.email)
    policy = (await client.get("/api/v1/me", headers=reader.headers)).json()["policy"]
    assert policy["version"] == "2027-01"
    assert (policy["summary"], policy["url"], policy["accepted"]) == (summary, "https://techpal.example/privacy", False)

    stale = await client.post("/api/v1/me/policy/accept", json={"version": "2026-01"}, headers=reader.headers)
    assert (stale.status_code, stale.json()["code"]) == (422, "unknown_policy_version")
    for _ in range(2):  # twice is fine: the first acceptance stands
        accepted = await client.post("/api/v1/me/policy/accept", json={"version": "2027-01"}, headers=reader.headers)
        assert accepted.status_code == 204
    assert (await client.get("/api/v1/me", headers=reader.headers)).json()["policy"]["accepted"] is True
    [row] = await query(settings, "SELECT version, accepted_at FROM policy_acceptances")
    assert row["version"] == "2027-01"

    newcomer = await user_factory()  # registering agrees to the policy in force: no "policy changed" notice
    assert (await client.get("/api/v1/me", headers=newcomer.headers)).json()["policy"]["accepted"] is True

    again, output = await publish(settings, tmp_path, "2027-01", "Another text.")
    assert again != 0
    assert "published already" in output
