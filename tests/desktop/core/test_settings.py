"""Local settings: defaults, round trip, atomic saves, and no crash on a damaged file."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from typing import TYPE_CHECKING

import pytest

from desktop.core.settings import (
    SCHEMA_VERSION,
    DesktopSettings,
    SettingsStore,
    check_server_url,
    default_settings_path,
)

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def store(tmp_path: Path) -> SettingsStore:
    return SettingsStore(tmp_path / "config" / "settings.json")


def test_defaults_are_private_and_local() -> None:
    settings = DesktopSettings()

    assert settings.server_url == "http://127.0.0.1:8000"
    assert settings.theme == "system"
    assert settings.capture_hotkey is None
    assert settings.start_at_login is False
    assert settings.share_device_details is False
    assert settings.version == SCHEMA_VERSION


def test_missing_file_gives_defaults(store: SettingsStore) -> None:
    assert store.load() == DesktopSettings()


def test_round_trip(store: SettingsStore) -> None:
    settings = DesktopSettings(
        server_url="https://help.example.com/techpal",
        theme="dark",
        capture_hotkey="<ctrl>+<alt>+h",
        start_at_login=True,
        share_device_details=True,
        account_id="0b6c2a43-3f59-4a3e-9a7e-5b8f1f0d7c11",
    )

    store.save(settings)

    assert store.load() == settings
    assert [p.name for p in store.path.parent.iterdir()] == ["settings.json"]  # no temp file left


def test_save_replaces_atomically_and_a_failed_write_keeps_the_old_file(
    store: SettingsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save(DesktopSettings(theme="light"))

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.save(DesktopSettings(theme="dark"))
    monkeypatch.undo()

    assert store.load().theme == "light"
    assert [p.name for p in store.path.parent.iterdir()] == ["settings.json"]


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe\x00", b"", b"null"])
def test_a_corrupt_file_gives_defaults_with_a_warning(
    store: SettingsStore, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(content)

    with caplog.at_level(logging.WARNING):
        assert store.load() == DesktopSettings()

    assert caplog.records


def test_each_invalid_value_falls_back_alone(store: SettingsStore, caplog: pytest.LogCaptureFixture) -> None:
    store.path.parent.mkdir(parents=True)
    document = {
        "server_url": "ftp://files.example.com",
        "theme": "purple",
        "capture_hotkey": 42,
        "start_at_login": "yes",
        "share_device_details": True,
        "from_the_future": 1,
    }
    store.path.write_text(json.dumps(document))

    with caplog.at_level(logging.WARNING):
        settings = store.load()

    assert settings == DesktopSettings(share_device_details=True)
    text = caplog.text
    for name in ("server_url", "theme", "capture_hotkey", "start_at_login", "from_the_future"):
        assert name in text


def test_server_url_is_normalized_when_loaded(store: SettingsStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text(json.dumps({"server_url": "  https://help.example.com/  "}))

    assert store.load().server_url == "https://help.example.com"


@pytest.mark.parametrize(
    ("url", "insecure"),
    [
        ("http://127.0.0.1:8000", False),
        ("http://localhost:8000/", False),
        ("http://[::1]:8000", False),
        ("http://127.3.4.5", False),
        ("http://app.localhost", False),
        ("https://help.example.com", False),
        ("http://help.example.com", True),
        ("http://192.168.1.10:8000", True),
        ("http://localhost.evil.com", True),
    ],
)
def test_plain_http_beyond_this_computer_needs_confirmation(url: str, insecure: bool) -> None:
    assert check_server_url(url).needs_insecure_confirmation is insecure


@pytest.mark.parametrize("url", ["", "example.com", "ftp://x", "javascript:alert(1)", "https://x/?q=1", "https://"])
def test_unusable_server_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        check_server_url(url)


def test_an_insecure_confirmation_holds_only_for_the_url_it_was_given_for(store: SettingsStore) -> None:
    confirmed = DesktopSettings(
        server_url="http://help.example.com", insecure_http_allowed_for="http://help.example.com"
    )
    store.save(confirmed)

    assert store.load().insecure_http_confirmed is True
    moved = dataclasses.replace(store.load(), server_url="http://other.example.com")
    assert moved.insecure_http_confirmed is False
    assert DesktopSettings().insecure_http_confirmed is False


def test_settings_are_immutable_and_changed_by_replace() -> None:
    settings = DesktopSettings()

    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.theme = "dark"  # type: ignore[misc]
    assert dataclasses.replace(settings, theme="dark").theme == "dark"


def test_default_path_is_under_the_platform_config_dir() -> None:
    path = default_settings_path()

    assert path.name == "settings.json"
    assert path.parent.name == "techpal"
