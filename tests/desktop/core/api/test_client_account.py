"""ApiClient's account and data-rights requests against the fake server, over real HTTP.

What is sent and what comes back: password, devices, the export (streamed to disk), deletion and restore, the policy.
"""

from __future__ import annotations

import datetime
import os
from typing import TYPE_CHECKING

import pytest

from desktop.core.api import AccountDeleted, ApiClient, ApiError, ExportInfo
from desktop.core.auth import MemoryTokenStore
from tests.fixtures.fake_server import ACCOUNT

if TYPE_CHECKING:
    from pathlib import Path

    from tests.fixtures.fake_server import FakeServer

PASSWORD = "correct horse battery"
ZIP = b"PK\x03\x04" + os.urandom(300_000) + b"PK\x05\x06"  # several chunks of the fake's 64 KiB


def test_changing_the_password_sends_both_and_ends_the_other_sessions(
    signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    account = fake_server.account("ada@example.com")
    fake_server.add_session(account, "ada-phone")

    signed_in_client.change_password(PASSWORD, "a much longer new password")

    assert fake_server.requests_to("POST", "/me/password")[0].json() == {
        "current_password": PASSWORD,
        "new_password": "a much longer new password",
    }
    assert fake_server.session_devices(account) == ["Tech Pal"]  # this one stays
    assert signed_in_client.me().email == "ada@example.com"


def test_a_wrong_current_password_is_invalid_credentials(signed_in_client: ApiClient) -> None:
    with pytest.raises(ApiError) as caught:
        signed_in_client.change_password("not it", "a much longer new password")

    assert (caught.value.status, caught.value.code) == (403, "invalid_credentials")


def test_devices_are_listed_and_signed_out_one_or_all_others(
    signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    account = fake_server.account("ada@example.com")
    phone = fake_server.add_session(account, "ada-phone")
    fake_server.add_session(account, "ada-tablet")

    listed = signed_in_client.sessions()
    signed_in_client.end_session(phone)
    after_one = [s.device_name for s in signed_in_client.sessions()]
    signed_in_client.end_other_sessions()
    after_all = signed_in_client.sessions()

    assert [(s.device_name, s.current) for s in listed] == [
        ("Tech Pal", True),
        ("ada-phone", False),
        ("ada-tablet", False),
    ]
    assert after_one == ["Tech Pal", "ada-tablet"]
    assert [s.device_name for s in after_all] == ["Tech Pal"]
    assert fake_server.requests_to("DELETE", f"/auth/sessions/{phone}")


def test_an_export_is_started_followed_and_downloaded_to_disk_in_chunks(
    signed_in_client: ApiClient, fake_server: FakeServer, tmp_path: Path
) -> None:
    started = signed_in_client.start_export()
    pending = signed_in_client.export(str(started.id))
    fake_server.finish_exports(ZIP)
    ready = signed_in_client.export(str(started.id))
    destination = tmp_path / "techpal-data.zip"

    written = signed_in_client.download_export(str(started.id), destination)

    assert (started.status, pending.status, ready.status, ready.size_bytes) == ("pending", "pending", "ready", len(ZIP))
    assert signed_in_client.exports() == [ready]
    assert written == len(ZIP)
    assert destination.read_bytes() == ZIP
    assert sorted(p.name for p in tmp_path.iterdir()) == ["techpal-data.zip"]  # no temporary file left behind
    assert fake_server.requests_to("GET", "/download")[0].headers["Accept"] == "application/zip"


def test_a_failed_download_leaves_no_file_and_keeps_an_existing_one(
    signed_in_client: ApiClient, fake_server: FakeServer, tmp_path: Path
) -> None:
    export_id = signed_in_client.start_export().id  # still pending: the server answers 409 export_not_ready
    destination = tmp_path / "techpal-data.zip"
    destination.write_bytes(b"an older export")

    with pytest.raises(ApiError) as caught:
        signed_in_client.download_export(str(export_id), destination)

    assert caught.value.code == "export_not_ready"
    assert destination.read_bytes() == b"an older export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["techpal-data.zip"]


def test_one_export_a_day_is_refused_with_retry_after(signed_in_client: ApiClient, fake_server: FakeServer) -> None:
    fake_server.add_export(fake_server.account("ada@example.com"), age=datetime.timedelta(hours=2), content=ZIP)

    with pytest.raises(ApiError) as caught:
        signed_in_client.start_export()

    assert (caught.value.status, caught.value.code) == (429, "export_limited")
    assert caught.value.retry_after is not None
    assert 21.9 * 3600 < caught.value.retry_after <= 22 * 3600


def test_deletion_sends_the_password_and_the_account_signs_in_only_after_a_restore(
    signed_in_client: ApiClient, fake_server: FakeServer
) -> None:
    before = datetime.datetime.now(datetime.UTC)
    scheduled = signed_in_client.delete_account(PASSWORD)
    fresh = ApiClient(fake_server.url, tokens=MemoryTokenStore())

    with fresh, pytest.raises(AccountDeleted) as caught:
        fresh.login("ada@example.com", PASSWORD)
    fresh = ApiClient(fake_server.url, tokens=MemoryTokenStore())
    with fresh:
        fresh.restore_account("ada", PASSWORD)
        profile = fresh.login("ada", PASSWORD)

    assert fake_server.requests_to("DELETE", "/api/v1/me")[0].json() == {"password": PASSWORD}
    assert before + datetime.timedelta(days=29) < scheduled.purge_after < before + datetime.timedelta(days=31)
    assert caught.value.purge_after == scheduled.purge_after
    assert fake_server.requests_to("POST", "/auth/restore")[0].json() == {"login": "ada", "password": PASSWORD}
    assert str(profile.id) == ACCOUNT


def test_a_wrong_password_deletes_nothing(signed_in_client: ApiClient) -> None:
    with pytest.raises(ApiError) as caught:
        signed_in_client.delete_account("not it")

    assert caught.value.code == "invalid_credentials"
    assert signed_in_client.me().email == "ada@example.com"


def test_the_policy_is_on_the_profile_until_accepted(signed_in_client: ApiClient, fake_server: FakeServer) -> None:
    fake_server.publish_policy("2026-12", "We now keep API logs for 90 days.", "https://example.com/privacy")

    before = signed_in_client.me().policy
    signed_in_client.accept_policy("2026-12")
    after = signed_in_client.me().policy

    assert before is not None
    assert (before.version, before.summary, before.url, before.accepted) == (
        "2026-12",
        "We now keep API logs for 90 days.",
        "https://example.com/privacy",
        False,
    )
    assert after is not None
    assert after.accepted
    assert fake_server.requests_to("POST", "/me/policy/accept")[0].json() == {"version": "2026-12"}


def test_profile_changes_and_switches_are_patched(signed_in_client: ApiClient, fake_server: FakeServer) -> None:
    profile = signed_in_client.update_me(email="ada@new.example", current_password=PASSWORD, ai_processing=False)

    assert fake_server.requests_to("PATCH", "/api/v1/me")[0].json() == {
        "email": "ada@new.example",
        "current_password": PASSWORD,
        "ai_processing": False,
    }
    assert (profile.email, profile.pending_email, profile.ai_processing) == (
        "ada@example.com",
        "ada@new.example",
        False,
    )


def test_forget_drops_the_tokens_without_a_request(signed_in_client: ApiClient, fake_server: FakeServer) -> None:
    signed_in_client.forget()

    assert not signed_in_client.signed_in
    assert signed_in_client.account is None
    assert fake_server.hits("logout") == 0


def test_export_info_tolerates_what_it_does_not_know() -> None:
    import msgspec

    info = msgspec.json.decode(
        b'{"id": "7d7c5a54-2f0c-4bd2-8c55-8a4c1c4f1b0e", "status": "ready", "x": 1}', type=ExportInfo
    )

    assert (info.status, info.size_bytes, info.created_at) == ("ready", None, None)
