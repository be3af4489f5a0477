"""SettingsPresenter: validation, applying each setting, and the device-details preview."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from desktop.core.auth import MemoryTokenStore
from desktop.core.device import DeviceDetails, NetworkState
from desktop.core.settings import DesktopSettings, SettingsStore
from desktop.presenters.session_presenter import INSECURE_URL_TEXT, SessionPresenter
from desktop.presenters.settings_presenter import SettingsChoice, SettingsPresenter
from desktop.services.autostart import make_autostart
from desktop.services.hotkey import GlobalHotkey, HotkeySupport
from desktop.services.settings_store import QtSettingsStore
from desktop.services.tasks import TaskRunner

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

TIMEOUT_MS = 5000
DETAILS = DeviceDetails(os="Linux", os_version="Debian 12", cpu="Xeon", ram_gb=16.0, free_disk_gb=80.5)


class Harness:
    """The presenter with its collaborators, on a temporary home."""

    def __init__(self, tmp_path: Path) -> None:
        store = SettingsStore(tmp_path / "config" / "settings.json")
        store.save(DesktopSettings(server_url="http://127.0.0.1:8000"))
        self.settings = QtSettingsStore(store)
        self.session = SessionPresenter(
            self.settings, token_store_factory=MemoryTokenStore, queue_root=tmp_path / "outbox"
        )
        self.runner = TaskRunner()
        self.autostart = make_autostart("linux", command=["techpal"], home=tmp_path)
        self.autostart_path = tmp_path / ".config" / "autostart" / "techpal.desktop"
        self.networks: list[NetworkState | None] = []

        def collect(network: NetworkState | None) -> DeviceDetails:
            self.networks.append(network)
            return DeviceDetails(**{**{f: getattr(DETAILS, f) for f in DETAILS.__slots__}, "network": network})

        self.presenter = SettingsPresenter(
            self.settings,
            self.session,
            autostart=self.autostart,
            hotkey=GlobalHotkey(),
            runner=self.runner,
            network_state=lambda: "online",
            collect_device=collect,
            probe_hotkey=lambda: HotkeySupport(False, "no shortcuts here"),
        )

    def choice(self, **changes: object) -> SettingsChoice:
        current = self.settings.settings
        values: dict[str, object] = {
            "server_url": current.server_url,
            "insecure_confirmed": False,
            "capture_hotkey": current.capture_hotkey,
            "start_at_login": current.start_at_login,
            "share_device_details": current.share_device_details,
        }
        values.update(changes)
        return SettingsChoice(**values)  # type: ignore[arg-type]


@pytest.fixture
def harness(qapp: object, tmp_path: Path) -> Iterator[Harness]:
    """A presenter whose session has started (its token store is open)."""
    harness = Harness(tmp_path)
    yield harness
    harness.runner.shutdown()
    harness.session.shutdown()


def test_the_theme_is_saved_and_announced_at_once(harness: Harness) -> None:
    changed: list[str] = []
    harness.settings.changed.connect(changed.append)

    harness.presenter.set_theme("dark")
    harness.presenter.set_theme("purple")

    assert changed == ["theme"]
    assert harness.settings.settings.theme == "dark"


def test_the_preview_is_exactly_the_json_that_would_be_sent(qtbot: QtBot, harness: Harness) -> None:
    with qtbot.wait_signal(harness.presenter.device_preview_ready, timeout=TIMEOUT_MS) as blocker:
        harness.presenter.load()

    rows, payload = blocker.args
    assert json.loads(payload) == {
        "os": "Linux",
        "os_version": "Debian 12",
        "cpu": "Xeon",
        "ram_gb": 16.0,
        "free_disk_gb": 80.5,
        "network": "online",
    }
    assert ("Memory", "16 GB") in rows
    assert harness.networks == ["online"]


def test_hotkey_support_is_reported_with_its_reason(qtbot: QtBot, harness: Harness) -> None:
    with qtbot.wait_signal(harness.presenter.hotkey_support_ready, timeout=TIMEOUT_MS) as blocker:
        harness.presenter.load()

    assert blocker.args == [False, "no shortcuts here"]


def test_start_at_login_writes_and_removes_the_autostart_entry(harness: Harness) -> None:
    assert harness.presenter.save(harness.choice(start_at_login=True, share_device_details=True))
    assert harness.autostart_path.is_file()
    assert harness.settings.settings.start_at_login
    assert harness.settings.settings.share_device_details

    assert harness.presenter.save(harness.choice(start_at_login=False))
    assert not harness.autostart_path.exists()


def test_plain_http_elsewhere_is_refused_without_confirmation_and_nothing_changes(
    qtbot: QtBot, harness: Harness
) -> None:
    with qtbot.wait_signal(harness.presenter.failed, timeout=TIMEOUT_MS) as blocker:
        saved = harness.presenter.save(harness.choice(server_url="http://help.example.com", start_at_login=True))

    assert not saved
    assert blocker.args == [INSECURE_URL_TEXT]
    assert harness.settings.settings.server_url == "http://127.0.0.1:8000"
    assert not harness.autostart_path.exists()


def test_a_confirmed_plain_http_server_is_saved(qtbot: QtBot, harness: Harness) -> None:
    with qtbot.wait_signal(harness.session.state_changed, timeout=TIMEOUT_MS):
        harness.session.start()

    assert harness.presenter.save(harness.choice(server_url="http://help.example.com/", insecure_confirmed=True))

    assert harness.settings.settings.server_url == "http://help.example.com"
    assert harness.settings.settings.insecure_http_confirmed


def test_an_invalid_server_address_is_refused_in_words(qtbot: QtBot, harness: Harness) -> None:
    with qtbot.wait_signal(harness.presenter.failed, timeout=TIMEOUT_MS) as blocker:
        assert not harness.presenter.save(harness.choice(server_url="help.example.com"))

    assert blocker.args[0].startswith("That is not a usable server address")


def test_a_hotkey_that_cannot_be_registered_is_refused(qtbot: QtBot, harness: Harness) -> None:
    with qtbot.wait_signal(harness.presenter.failed, timeout=TIMEOUT_MS) as blocker:
        assert not harness.presenter.save(harness.choice(capture_hotkey="<ctrl>+<alt>+h"))

    assert "pynput" in blocker.args[0] or "shortcut" in blocker.args[0]
    assert harness.settings.settings.capture_hotkey is None
