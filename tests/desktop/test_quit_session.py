"""Quit and the server session: without a usable keyring the sign-in dies with the app, so Quit ends it on the server.

Otherwise every start would sign in afresh and add one more device to the account's device list.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import keyring.backends.fail
import pytest
from PySide6.QtCore import QTimer

from desktop.app import TechPal, ensure_application
from desktop.core.settings import SettingsStore
from desktop.presenters.tray_presenter import TrayAction
from desktop.services.hotkey import HotkeySupport
from desktop.services.secrets import KeyringTokenStore
from tests.fixtures.fake_server import FakeServer, SecureMemoryKeyring

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from keyring.backend import KeyringBackend
    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot

    from desktop.core.ocr_text import OcrUpload

pytestmark = pytest.mark.qt_log_ignore(
    r"No such signal QPlatformNativeInterface::systemTrayWindowChanged",
    r"This plugin does not support (propagateSizeHints|raise)\(\)",
)

TIMEOUT_MS = 5000
PASSWORD = "correct horse battery"


class _Chat:
    def present(self) -> None: ...

    def attach(self, data: bytes, media_type: str, ocr: OcrUpload | None = None) -> None: ...


class Runs:
    """Starts of the app on one config and one keyring backend, each signed in; Quit through the tray menu."""

    def __init__(self, qapp: QApplication, tmp_path: Path, api: FakeServer) -> None:
        self.qapp = qapp
        self.tmp_path = tmp_path
        self.api = api
        self.made: list[TechPal] = []

    def start_signed_in(self, qtbot: QtBot, backend: KeyringBackend) -> TechPal:
        techpal = TechPal(
            ensure_application(),
            self.api.url,
            settings_store=SettingsStore(self.tmp_path / "config" / "settings.json"),
            token_store_factory=lambda: KeyringTokenStore(backend),
            queue_root=self.tmp_path / "outbox",
            chat_factory=lambda _app: _Chat(),
            ask_user=lambda _title, _text: True,
            probe_hotkey=lambda: HotkeySupport(False, "no"),
            refresh_interval_ms=600_000,
        )
        self.made.append(techpal)
        techpal.start()
        qtbot.waitUntil(lambda: techpal.session.ready, timeout=TIMEOUT_MS)
        if not techpal.session.is_signed_in:
            with qtbot.wait_signal(techpal.session.signed_in, timeout=TIMEOUT_MS):
                techpal.session.sign_in("ada@example.com", PASSWORD)
        return techpal

    def quit(self, techpal: TechPal) -> float:
        """Choose Quit in the tray menu; returns how long the app took to end (seconds)."""
        QTimer.singleShot(0, techpal.tray.actions_by_kind[TrayAction.QUIT].trigger)
        guard = QTimer(singleShot=True, interval=15_000)  # a Quit that hangs ends here, with 1
        guard.timeout.connect(lambda: self.qapp.exit(1))
        guard.start()
        began = time.monotonic()
        try:
            assert self.qapp.exec() == 0
        finally:
            guard.stop()  # it must not end a later test's event loop
        return time.monotonic() - began


@pytest.fixture
def runs(qapp: QApplication, tmp_path: Path, fake_server: FakeServer) -> Iterator[Runs]:
    fake_server.add_account(password=PASSWORD)
    palette, style = qapp.palette(), qapp.style().name()
    made = Runs(qapp, tmp_path, fake_server)
    yield made
    for techpal in made.made:
        techpal.shutdown()
        techpal.deleteLater()
    qapp.setPalette(palette)
    qapp.setStyle(style)


def no_keyring() -> KeyringBackend:
    return keyring.backends.fail.Keyring()  # type: ignore[no-untyped-call]


def test_without_a_keyring_quit_signs_out_on_the_server_so_restarts_add_no_device(
    qtbot: QtBot, runs: Runs, fake_server: FakeServer
) -> None:
    account = fake_server.account("ada@example.com")
    for _run in range(3):
        techpal = runs.start_signed_in(qtbot, no_keyring())
        assert len(fake_server.session_devices(account)) == 1

        runs.quit(techpal)

        assert fake_server.session_devices(account) == []
    assert fake_server.logouts == 3


def test_with_a_keyring_quit_keeps_the_session_for_the_next_start(
    qtbot: QtBot, runs: Runs, fake_server: FakeServer
) -> None:
    backend = SecureMemoryKeyring()
    runs.quit(runs.start_signed_in(qtbot, backend))

    techpal = runs.start_signed_in(qtbot, backend)

    assert fake_server.logouts == 0
    assert fake_server.hits("login") == 1  # the second start was still signed in
    assert techpal.session.is_signed_in


def test_quit_does_not_wait_long_for_a_server_that_does_not_answer(
    qtbot: QtBot, runs: Runs, fake_server: FakeServer
) -> None:
    techpal = runs.start_signed_in(qtbot, no_keyring())
    fake_server.set_delay(30, "logout")

    took = runs.quit(techpal)

    assert fake_server.hits("logout") == 1  # it was asked
    assert took < 4  # 2 s for the answer, then Quit goes on
