"""The settings dialog, offscreen: the theme applies at once, the device preview, the hotkey explanation."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from PySide6.QtGui import QPalette

from desktop.core.auth import MemoryTokenStore
from desktop.core.device import DeviceDetails
from desktop.core.settings import DesktopSettings, SettingsStore
from desktop.presenters.session_presenter import SessionPresenter
from desktop.presenters.settings_presenter import SettingsPresenter
from desktop.services.autostart import make_autostart
from desktop.services.hotkey import GlobalHotkey, HotkeySupport
from desktop.services.settings_store import QtSettingsStore
from desktop.services.tasks import TaskRunner
from desktop.ui.settings_dialog import SettingsDialog
from desktop.ui.theme import ThemeController, dark_palette

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")

TIMEOUT_MS = 5000


@pytest.fixture
def parts(qapp: QApplication, tmp_path: Path) -> Iterator[tuple[SettingsPresenter, QtSettingsStore, ThemeController]]:
    store = SettingsStore(tmp_path / "settings.json")
    store.save(DesktopSettings(theme="light"))
    settings = QtSettingsStore(store)
    session = SessionPresenter(settings, token_store_factory=MemoryTokenStore, queue_root=tmp_path / "q")
    runner = TaskRunner()
    palette, style = qapp.palette(), qapp.style().name()
    theme = ThemeController(qapp, settings.settings.theme)
    settings.changed.connect(lambda name: theme.apply(settings.settings.theme) if name == "theme" else None)
    presenter = SettingsPresenter(
        settings,
        session,
        autostart=make_autostart("linux", command=["techpal"], home=tmp_path),
        hotkey=GlobalHotkey(),
        runner=runner,
        collect_device=lambda network: DeviceDetails(os="Linux", ram_gb=8.0, network=network),
        probe_hotkey=lambda: HotkeySupport(False, "Global shortcuts need the optional 'pynput' package."),
    )
    yield presenter, settings, theme
    runner.shutdown()
    session.shutdown()
    qapp.setPalette(palette)
    qapp.setStyle(style)


def test_choosing_dark_repaints_at_once(
    qtbot: QtBot, parts: tuple[SettingsPresenter, QtSettingsStore, ThemeController], qapp: QApplication
) -> None:
    presenter, settings, _theme = parts
    dialog = SettingsDialog(presenter)
    qtbot.addWidget(dialog)
    dialog.show()

    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData("dark"))

    assert settings.settings.theme == "dark"
    assert qapp.palette().color(QPalette.ColorRole.Window) == dark_palette().color(QPalette.ColorRole.Window)


def test_the_device_preview_and_the_hotkey_explanation_arrive(
    qtbot: QtBot, parts: tuple[SettingsPresenter, QtSettingsStore, ThemeController]
) -> None:
    presenter, _settings, _theme = parts
    dialog = SettingsDialog(presenter)
    qtbot.addWidget(dialog)

    qtbot.waitUntil(lambda: dialog.device_preview.toPlainText() != "", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: "pynput" in dialog.hotkey_note.text(), timeout=TIMEOUT_MS)

    assert json.loads(dialog.device_preview.toPlainText()) == {"os": "Linux", "ram_gb": 8.0}
    assert not dialog.hotkey_edit.isEnabled()


def test_save_applies_and_closes_and_an_error_keeps_it_open(
    qtbot: QtBot, parts: tuple[SettingsPresenter, QtSettingsStore, ThemeController], tmp_path: Path
) -> None:
    presenter, settings, _theme = parts
    dialog = SettingsDialog(presenter)
    qtbot.addWidget(dialog)
    dialog.show()

    dialog.server_edit.setText("http://help.example.com")
    assert not dialog.insecure_check.isHidden()
    dialog.buttons.accepted.emit()
    assert dialog.isVisible()
    assert "travel unencrypted" in dialog.error_label.text()

    dialog.server_edit.setText("https://help.example.com")
    dialog.autostart_check.setChecked(True)
    dialog.device_check.setChecked(True)
    dialog.buttons.accepted.emit()

    assert not dialog.isVisible()
    assert settings.settings.server_url == "https://help.example.com"
    assert settings.settings.start_at_login
    assert settings.settings.share_device_details
    assert (tmp_path / ".config" / "autostart" / "techpal.desktop").is_file()
