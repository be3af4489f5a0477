"""Usage analytics in the composed app, offscreen: the start is recorded, Quit sends it, the Account switch stops it.

The windows' factories hand this run's one recorder to the chat, capture and redaction presenters.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest

from desktop.app import TechPal, ensure_application
from desktop.core.settings import SettingsStore
from desktop.presenters.capture_presenter import CapturePresenter
from desktop.presenters.tray_presenter import TrayAction
from desktop.services.hotkey import HotkeySupport
from desktop.services.secrets import KeyringTokenStore
from desktop.ui.redaction_view import RedactionView
from desktop.windows import default_capture_factory, default_chat_factory
from tests.fixtures.fake_server import FakeServer, SecureMemoryKeyring

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot

pytestmark = pytest.mark.qt_log_ignore(
    r"No such signal QPlatformNativeInterface::systemTrayWindowChanged",
    r"This plugin does not support (propagateSizeHints|raise)\(\)",
)

TIMEOUT_MS = 5000
PASSWORD = "correct horse battery"


class Apps:
    """Signed-in TechPals on a temporary config, the fake server and an in-memory keyring; Quit from the tray."""

    def __init__(self, qapp: QApplication, tmp_path: Path, api: FakeServer) -> None:
        self.qapp = qapp
        self.tmp_path = tmp_path
        self.api = api
        self.keyring = SecureMemoryKeyring()
        self.made: list[TechPal] = []

    def start_signed_in(self, qtbot: QtBot, **options: object) -> TechPal:
        techpal = TechPal(
            ensure_application(),
            self.api.url,
            settings_store=SettingsStore(self.tmp_path / "config" / "settings.json"),
            token_store_factory=lambda: KeyringTokenStore(self.keyring),
            queue_root=self.tmp_path / "outbox",
            ask_user=lambda _title, _text: True,
            probe_hotkey=lambda: HotkeySupport(False, "no"),
            refresh_interval_ms=600_000,
            **options,  # type: ignore[arg-type]
        )
        self.made.append(techpal)
        techpal.start()
        qtbot.waitUntil(lambda: techpal.session.ready, timeout=TIMEOUT_MS)
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
def apps(qapp: QApplication, tmp_path: Path, fake_server: FakeServer) -> Iterator[Apps]:
    fake_server.add_account(password=PASSWORD)
    palette, style = qapp.palette(), qapp.style().name()
    made = Apps(qapp, tmp_path, fake_server)
    yield made
    for techpal in made.made:
        techpal.shutdown()
        techpal.deleteLater()
    qapp.setPalette(palette)
    qapp.setStyle(style)


def test_a_run_records_its_start_and_quit_sends_it_without_waiting(
    qtbot: QtBot, apps: Apps, fake_server: FakeServer
) -> None:
    techpal = apps.start_signed_in(qtbot)
    assert techpal.analytics.batch_sender.active  # signed in, and the account allows it

    took = apps.quit(techpal)

    (batch,) = fake_server.analytics_batches
    assert batch["session_id"] == str(techpal.analytics.recorder.session_id)
    assert [event["name"] for event in batch["events"]] == ["app_started"]
    assert took < 3
    assert fake_server.requests_to("POST", "/analytics/events")[0].headers["Authorization"].startswith("Bearer ")


def test_each_start_is_a_new_anonymous_session(qtbot: QtBot, apps: Apps, fake_server: FakeServer) -> None:
    apps.quit(apps.start_signed_in(qtbot))
    apps.quit(apps.start_signed_in(qtbot))

    first, second = fake_server.analytics_batches
    assert first["session_id"] != second["session_id"]
    account = fake_server.account("ada@example.com")
    assert account.id not in {first["session_id"], second["session_id"]}


def test_the_account_windows_privacy_switch_stops_analytics_at_once(
    qtbot: QtBot, apps: Apps, fake_server: FakeServer
) -> None:
    techpal = apps.start_signed_in(qtbot)
    techpal.tray.actions_by_kind[TrayAction.ACCOUNT].trigger()
    window = techpal.windows.account.window
    assert window is not None
    box = window.switches["analytics"]
    qtbot.waitUntil(lambda: box.isChecked() and box.isEnabled(), timeout=TIMEOUT_MS)
    window.tabs.setCurrentIndex([window.tabs.tabText(i) for i in range(window.tabs.count())].index("Privacy"))
    qtbot.waitUntil(box.isVisible, timeout=TIMEOUT_MS)

    QTest.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))

    qtbot.waitUntil(lambda: techpal.analytics.recorder.allowed is False, timeout=TIMEOUT_MS)
    assert fake_server.account("ada@example.com").analytics is False
    assert techpal.analytics.recorder.pending == []  # the start, recorded before, is dropped
    assert not techpal.analytics.batch_sender.active
    apps.quit(techpal)
    assert fake_server.hits("analytics") == 0


def test_the_real_chat_and_capture_record_into_the_apps_recorder(
    qtbot: QtBot, apps: Apps, fake_server: FakeServer
) -> None:
    techpal = apps.start_signed_in(qtbot, chat_factory=default_chat_factory, capture_factory=default_capture_factory)
    techpal.tray.actions_by_kind[TrayAction.ASK].trigger()
    chat = techpal.connection.chat_presenter
    assert chat is not None

    with qtbot.wait_signal(chat.draft_cleared, timeout=TIMEOUT_MS):
        chat.send("Outlook asks for my password again and again")

    names = [event.name.value for event in techpal.analytics.recorder.pending]
    assert names == ["app_started", "question_asked", "answer_received"]
    flow = techpal.windows._capture_flow()
    assert isinstance(flow, CapturePresenter)
    assert flow._analytics is techpal.analytics.recorder
    view = flow._redaction_factory(Image.new("RGB", (20, 10)))
    assert isinstance(view, RedactionView)
    try:
        assert view.presenter._analytics is techpal.analytics.recorder
    finally:
        view.presenter.cancel()  # what closing the window does: lets go of the shared encoder
        view.deleteLater()
