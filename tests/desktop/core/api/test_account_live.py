"""The desktop's account requests against the real server app: every answer decoded as the app decodes it.

Profile switches, devices, export (download streamed to a file), deletion, the refused sign-in, restore.
"""

from __future__ import annotations

import json
import time
import zipfile
from typing import TYPE_CHECKING

import pytest

from desktop.core.api import AccountDeleted, ApiClient
from desktop.core.auth import MemoryTokenStore
from tests.fixtures.auth import TEST_PASSWORD
from tests.fixtures.mail import link_token

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.fixtures.mail import Mailbox
    from tests.fixtures.server import LiveServer

pytestmark = pytest.mark.usefixtures("anyio_backend")  # the server fixtures are async
EMAIL = "acct@example.com"


@pytest.fixture
def api(live_server: LiveServer, mailbox: Mailbox) -> Iterator[ApiClient]:
    """Signed in the way the app signs in: register, open the mailed link, log in."""
    with ApiClient(live_server.url, tokens=MemoryTokenStore()) as client:
        client.register(name="Acct Holder", email=EMAIL, username="acct", password=TEST_PASSWORD, age_confirmed=True)
        mail = [m for m in mailbox.messages() if m["To"] == EMAIL][-1]
        client.verify_email(link_token(mail, "verify-email"))
        client.login(EMAIL, TEST_PASSWORD, device_name="pytest desktop")
        yield client


def test_switches_devices_and_export_round_trip(api: ApiClient, live_server: LiveServer, tmp_path: Path) -> None:
    with ApiClient(live_server.url, tokens=MemoryTokenStore()) as laptop:
        laptop.login(EMAIL, TEST_PASSWORD, device_name="laptop")
        assert sorted(s.device_name for s in api.sessions()) == ["laptop", "pytest desktop"]
        api.end_other_sessions()
        assert [s.current for s in api.sessions()] == [True]

    profile = api.update_me(analytics=False, ai_processing=False)
    assert (profile.analytics, profile.ai_processing, profile.kb_contribution) == (False, False, True)
    assert api.me().policy is None

    started = api.start_export()
    deadline = time.monotonic() + 20
    while (info := api.export(str(started.id))).status != "ready":
        assert time.monotonic() < deadline, info
        time.sleep(0.1)
    assert [e.id for e in api.exports()] == [started.id]
    target = tmp_path / "mine.zip"
    written = api.download_export(str(started.id), target)

    assert written == info.size_bytes == target.stat().st_size
    with zipfile.ZipFile(target) as archive:
        assert json.loads(archive.read("profile.json"))["email"] == EMAIL
        assert json.loads(archive.read("settings.json"))["ai_processing"] is False


def test_delete_then_restore(api: ApiClient) -> None:
    scheduled = api.delete_account(TEST_PASSWORD)

    with pytest.raises(AccountDeleted) as refused:
        api.login("acct", TEST_PASSWORD)
    assert refused.value.purge_after == scheduled.purge_after
    api.restore_account("acct", TEST_PASSWORD)
    assert api.login("acct", TEST_PASSWORD).email == EMAIL
