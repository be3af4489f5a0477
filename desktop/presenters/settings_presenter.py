"""The settings dialog's view-model: validate, save, and apply each setting where it takes effect.

The theme applies the moment it is picked; the other settings apply on Save: a new server signs out of the old one,
the hotkey is (re-)registered, start-at-login writes the OS's autostart entry. The device-details preview is
collected in a worker and shows exactly the JSON a question would carry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from desktop.core.device import DeviceDetails, NetworkState, collect_device_details
from desktop.core.settings import THEMES, check_server_url
from desktop.presenters.session_presenter import INSECURE_URL_TEXT, SessionPresenter
from desktop.services.autostart import Autostart, AutostartError
from desktop.services.hotkey import GlobalHotkey, HotkeySupport, hotkey_support

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.services.settings_store import QtSettingsStore
    from desktop.services.tasks import TaskRunner

__all__ = ["SettingsChoice", "SettingsPresenter"]


@dataclass(frozen=True, slots=True)
class SettingsChoice:
    """What the user entered in the dialog (everything but the theme, which applies at once)."""

    server_url: str
    insecure_confirmed: bool
    capture_hotkey: str | None
    start_at_login: bool
    share_device_details: bool


class SettingsPresenter(QObject):
    """Reads and writes the settings for the dialog.

    Args:
        settings: The settings store.
        session: Changing the server goes through the session (it signs out first).
        autostart: The OS's start-at-login mechanism.
        hotkey: The global shortcut registration.
        runner: Where slow probes run (device details, hotkey support).
        network_state: The network state to put in the device details (from the last server check).
        collect_device: Probes this computer (injectable for tests).
        probe_hotkey: Checks whether global shortcuts work here (imports pynput lazily).
        parent: Owning QObject.

    Signals:
        device_preview_ready(object, str): Preview rows (label, value) and the exact JSON that would be sent.
        hotkey_support_ready(bool, str): Whether a shortcut can be set here, and why not.
        saved(): Save succeeded.
        failed(str): Save refused or failed; the message is for the user (nothing else changed).
    """

    device_preview_ready = Signal(object, str)
    hotkey_support_ready = Signal(bool, str)
    saved = Signal()
    failed = Signal(str)

    def __init__(
        self,
        settings: QtSettingsStore,
        session: SessionPresenter,
        *,
        autostart: Autostart,
        hotkey: GlobalHotkey,
        runner: TaskRunner,
        network_state: Callable[[], NetworkState | None] = lambda: None,
        collect_device: Callable[[NetworkState | None], DeviceDetails] = collect_device_details,
        probe_hotkey: Callable[[], HotkeySupport] = hotkey_support,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._session = session
        self._autostart = autostart
        self._hotkey = hotkey
        self._runner = runner
        self._network_state = network_state
        self._collect_device = collect_device
        self._probe_hotkey = probe_hotkey
        self._hotkey_support: HotkeySupport | None = None

    @property
    def settings(self) -> QtSettingsStore:
        """The store (the dialog reads current values from ``settings.settings``)."""
        return self._settings

    @property
    def hotkey_support(self) -> HotkeySupport | None:
        """Known after :meth:`load`."""
        return self._hotkey_support

    @Slot()
    def load(self) -> None:
        """Probe device details and hotkey support in the background (the dialog is already on screen)."""
        network = self._network_state()
        collect, probe = self._collect_device, self._probe_hotkey
        self._runner.run(lambda: collect(network), self._on_device)
        self._runner.run(probe, self._on_hotkey_support)

    def _on_device(self, details: DeviceDetails) -> None:
        payload = json.dumps(details.as_payload(), indent=2, ensure_ascii=False)
        self.device_preview_ready.emit(details.preview(), payload)

    def _on_hotkey_support(self, support: HotkeySupport) -> None:
        self._hotkey_support = support
        self.hotkey_support_ready.emit(support.available, support.reason)

    @Slot(str)
    def set_theme(self, theme: str) -> None:
        """Save and apply the theme at once (the app's theme controller listens to ``changed("theme")``)."""
        if theme in THEMES and theme != self._settings.settings.theme:
            self._settings.update(theme=theme)

    def needs_insecure_confirmation(self, url: str) -> bool:
        """Whether ``url`` would need the clear-text confirmation (``False`` for invalid URLs)."""
        try:
            return check_server_url(url).needs_insecure_confirmation
        except ValueError:
            return False

    def save(self, choice: SettingsChoice) -> bool:
        """Validate everything first, then apply; on refusal emit ``failed`` and change nothing."""
        current = self._settings.settings
        try:
            checked = check_server_url(choice.server_url)
        except ValueError as exc:
            self.failed.emit(f"That is not a usable server address: {exc}.")
            return False
        if checked.needs_insecure_confirmation and not choice.insecure_confirmed:
            self.failed.emit(INSECURE_URL_TEXT)
            return False
        hotkey = (choice.capture_hotkey or "").strip() or None
        if hotkey != current.capture_hotkey:
            problem = self._hotkey.register(hotkey)
            if problem:
                self.failed.emit(problem)
                return False
        if choice.start_at_login != current.start_at_login or choice.start_at_login != self._autostart_enabled():
            try:
                if choice.start_at_login:
                    self._autostart.enable()
                else:
                    self._autostart.disable()
            except AutostartError as exc:
                self.failed.emit(str(exc))
                return False
        self._settings.update(
            capture_hotkey=hotkey,
            start_at_login=choice.start_at_login,
            share_device_details=choice.share_device_details,
        )
        if not self._session.set_server(checked.url, insecure_confirmed=choice.insecure_confirmed):
            self.failed.emit("The server address was not changed.")
            return False
        self.saved.emit()
        return True

    def _autostart_enabled(self) -> bool:
        try:
            return self._autostart.is_enabled()
        except Exception:
            return False
