"""The Qt settings store: one copy in memory, saved through the core store, ``changed(name)`` per field."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from desktop.core.settings import SettingsStore
from desktop.services.settings_store import QtSettingsStore

if TYPE_CHECKING:
    from pathlib import Path


def test_update_saves_and_announces_each_changed_field(qapp: object, tmp_path: Path) -> None:
    store = QtSettingsStore(SettingsStore(tmp_path / "settings.json"))
    changed: list[str] = []
    store.changed.connect(changed.append)
    first_run_before = store.first_run

    store.update(theme="dark", start_at_login=True)
    store.update(theme="dark")

    assert sorted(changed) == ["start_at_login", "theme"]
    assert json.loads((tmp_path / "settings.json").read_text())["theme"] == "dark"
    assert (first_run_before, store.first_run) == (True, False)
    assert not QtSettingsStore(SettingsStore(tmp_path / "settings.json")).first_run


def test_override_applies_for_this_run_without_saving(qapp: object, tmp_path: Path) -> None:
    store = QtSettingsStore(SettingsStore(tmp_path / "settings.json"))
    changed: list[str] = []
    store.changed.connect(changed.append)

    store.override(server_url="https://help.example.com")

    assert store.settings.server_url == "https://help.example.com"
    assert changed == ["server_url"]
    assert not (tmp_path / "settings.json").exists()
    store.update(theme="light")  # the next save keeps the override
    assert json.loads((tmp_path / "settings.json").read_text())["server_url"] == "https://help.example.com"


def test_a_failed_save_still_applies_for_this_run(qapp: object, tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("not a directory")
    store = QtSettingsStore(SettingsStore(tmp_path / "blocked" / "settings.json"))

    store.update(theme="dark")

    assert store.settings.theme == "dark"
