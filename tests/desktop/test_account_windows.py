"""The Account entry of the composed app, offscreen: sign-in first, deletion and restore, policy notices, exports.

An export that gets ready after the window closed is still announced, and clicking that notification opens its tab.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QObject

from desktop.account_windows import DELETED_TITLE
from desktop.app import TechPal, ensure_application
from desktop.core.settings import DesktopSettings, SettingsStore
from desktop.presenters.policy_presenter import POLICY_TITLE
from desktop.presenters.tray_presenter import TrayAction
from desktop.services.hotkey import HotkeySupport
from desktop.services.secrets import KeyringTokenStore
from tests.fixtures.fake_server import FakeServer, SecureMemoryKeyring

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot

    from desktop.core.ocr_text import OcrUpload
    from desktop.ui.account_window import AccountWindow

pytestmark = pytest.mark.qt_log_ignore(
    r"No such signal QPlatformNativeInterface::systemTrayWindowChanged",
    r"This plugin does not support (propagateSizeHints|raise)\(\)",
)

TIMEOUT_MS = 5000
PASSWORD = "correct horse battery"
SUMMARY = "We now keep API logs for 90 days, then delete them."


class _Chat(QObject):
    def present(self) -> None: ...

    def attach(self, data: bytes, media_type: str, ocr: OcrUpload | None = None) -> None: ...


class App:
    """A TechPal on a temporary config, the fake server and an in-memory keyring; records tray notifications."""

    def __init__(self, tmp_path: Path, api: FakeServer) -> None:
        self.tmp_path = tmp_path
        self.api = api
        self.keyring = SecureMemoryKeyring()
        self.made: list[TechPal] = []
        self.notifications: list[tuple[str, str]] = []

    def make(self, saved: DesktopSettings | None = None) -> TechPal:
        store = SettingsStore(self.tmp_path / "config" / "settings.json")
        if saved is not None:
            store.save(saved)
        techpal = TechPal(
            ensure_application(),
            self.api.url,
            settings_store=store,
            token_store_factory=lambda: KeyringTokenStore(self.keyring),
            queue_root=self.tmp_path / "outbox",
            chat_factory=lambda _app: _Chat(),
            ask_user=lambda _title, _text: True,
            probe_hotkey=lambda: HotkeySupport(False, "no"),
            refresh_interval_ms=600_000,
        )
        techpal.presenter.notification.connect(lambda title, text: self.notifications.append((title, text)))
        self.made.append(techpal)
        return techpal

    def started_and_signed_in(self, qtbot: QtBot) -> TechPal:
        techpal = self.make()
        techpal.start()
        qtbot.waitUntil(lambda: techpal.session.ready, timeout=TIMEOUT_MS)
        with qtbot.wait_signal(techpal.session.signed_in, timeout=TIMEOUT_MS):
            techpal.session.sign_in("ada@example.com", PASSWORD)
        return techpal


@pytest.fixture
def app(qapp: QApplication, tmp_path: Path, fake_server: FakeServer) -> Iterator[App]:
    fake_server.add_account(password=PASSWORD)
    harness = App(tmp_path, fake_server)
    yield harness
    for techpal in harness.made:
        techpal.shutdown()
        techpal.deleteLater()


def account_window(techpal: TechPal) -> AccountWindow:
    window = techpal.windows.account.window
    assert window is not None
    return window


def test_the_account_entry_asks_for_sign_in_first_then_opens_the_window(qtbot: QtBot, app: App) -> None:
    techpal = app.make()
    techpal.start()
    qtbot.waitUntil(lambda: techpal.session.ready, timeout=TIMEOUT_MS)

    techpal.tray.actions_by_kind[TrayAction.ACCOUNT].trigger()

    assert techpal.sign_in_dialog is not None
    assert techpal.sign_in_dialog.isVisible()
    assert techpal.windows.account.window is None
    with qtbot.wait_signal(techpal.session.signed_in, timeout=TIMEOUT_MS):
        techpal.session.sign_in("ada@example.com", PASSWORD)
    window = account_window(techpal)
    assert window.isVisible()
    qtbot.waitUntil(lambda: window.email_edit.text() == "ada@example.com", timeout=TIMEOUT_MS)


def test_deleting_the_account_signs_out_here_and_says_until_when_it_can_be_restored(
    qtbot: QtBot, app: App, fake_server: FakeServer
) -> None:
    techpal = app.started_and_signed_in(qtbot)
    techpal.tray.actions_by_kind[TrayAction.ACCOUNT].trigger()
    window = account_window(techpal)
    window.data_pane.open_delete_dialog()
    dialog = window.data_pane.delete_dialog
    assert dialog is not None
    dialog.password_edit.setText(PASSWORD)

    with qtbot.wait_signal(techpal.session.signed_out, timeout=TIMEOUT_MS):
        dialog.delete_button.click()

    qtbot.waitUntil(lambda: not app.keyring.passwords, timeout=TIMEOUT_MS)  # the tokens are gone from the keyring
    assert not techpal.session.is_signed_in
    assert techpal.settings.settings.account_id is None
    assert not window.isVisible()
    deleted = [text for title, text in app.notifications if title == DELETED_TITLE]
    assert len(deleted) == 1
    assert deleted[0].startswith("Your account is closed and will be removed for good on ")
    assert fake_server.hits("logout") == 0  # the server ended the sessions itself


def test_a_new_policy_is_shown_once_and_ok_records_it(qtbot: QtBot, app: App, fake_server: FakeServer) -> None:
    fake_server.publish_policy("2026-12", SUMMARY, "https://example.com/privacy")

    techpal = app.started_and_signed_in(qtbot)

    dialog = techpal.windows.account.policy_dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.windowTitle() == "Tech Pal"
    assert POLICY_TITLE in dialog.heading_label.text()
    assert dialog.version_label.text().startswith("Version 2026-12, published ")
    assert dialog.summary_label.text() == SUMMARY
    assert not dialog.link_label.isHidden()
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: fake_server.hits("accept_policy") == 1, timeout=TIMEOUT_MS)
    assert fake_server.requests_to("POST", "/me/policy/accept")[0].json() == {"version": "2026-12"}
    assert "2026-12" in fake_server.account("ada@example.com").accepted_policies
    # signing in again does not show it again
    techpal.session.sign_out(clear_queue=False)
    with qtbot.wait_signal(techpal.session.signed_in, timeout=TIMEOUT_MS):
        techpal.session.sign_in("ada@example.com", PASSWORD)
    assert techpal.windows.account.policy_dialog is None


def test_a_policy_notice_whose_acceptance_failed_does_not_nag_again_this_run(
    qtbot: QtBot, app: App, fake_server: FakeServer
) -> None:
    fake_server.publish_policy("2026-12", SUMMARY)
    fake_server.fail("accept_policy", 503, "service_unavailable")
    techpal = app.started_and_signed_in(qtbot)
    dialog = techpal.windows.account.policy_dialog
    assert dialog is not None
    assert dialog.link_label.isHidden()  # no URL: no link
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: fake_server.hits("accept_policy") == 1, timeout=TIMEOUT_MS)

    techpal.session.sign_out(clear_queue=False)
    with qtbot.wait_signal(techpal.session.signed_in, timeout=TIMEOUT_MS):
        techpal.session.sign_in("ada@example.com", PASSWORD)

    assert techpal.windows.account.policy_dialog is None


def test_a_new_policy_is_shown_at_start_when_a_saved_session_is_restored(
    qtbot: QtBot, app: App, fake_server: FakeServer
) -> None:
    first = app.started_and_signed_in(qtbot)
    saved = first.settings.settings
    first.shutdown()
    fake_server.publish_policy("2027-01", SUMMARY)

    techpal = app.make(saved=saved)
    techpal.start()

    qtbot.waitUntil(lambda: techpal.windows.account.policy_dialog is not None, timeout=TIMEOUT_MS)
    dialog = techpal.windows.account.policy_dialog
    assert dialog is not None
    assert dialog.summary_label.text() == SUMMARY


def test_an_export_that_gets_ready_after_the_window_closed_is_still_announced(
    qtbot: QtBot, app: App, fake_server: FakeServer
) -> None:
    techpal = app.started_and_signed_in(qtbot)
    techpal.tray.actions_by_kind[TrayAction.ACCOUNT].trigger()
    window = account_window(techpal)
    export = techpal.windows.account.export
    assert export is not None
    export._timer.setInterval(50)  # poll quickly for the test
    window.data_pane.start_button.click()
    qtbot.waitUntil(lambda: fake_server.hits("export") >= 1, timeout=TIMEOUT_MS)

    window.close()
    fake_server.finish_exports(b"PK-zip-bytes")

    qtbot.waitUntil(lambda: "Your data is ready" in [t for t, _ in app.notifications], timeout=TIMEOUT_MS)
    assert not window.isVisible()


def test_restoring_a_deleted_account_from_sign_in_is_confirmed_by_a_notification(
    qtbot: QtBot, app: App, fake_server: FakeServer
) -> None:
    # GIVEN an account deleted 10 days ago, and the sign-in dialog saying it can still be restored
    purge_after = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=20)
    fake_server.account("ada@example.com").purge_after = purge_after.isoformat()
    techpal = app.make()
    techpal.start()
    qtbot.waitUntil(lambda: techpal.session.ready, timeout=TIMEOUT_MS)
    techpal.tray.actions_by_kind[TrayAction.ACCOUNT].trigger()
    dialog = techpal.sign_in_dialog
    assert dialog is not None
    dialog.login_edit.setText("ada@example.com")
    dialog.password_edit.setText(PASSWORD)
    dialog.sign_in_button.click()
    qtbot.waitUntil(dialog.restore_button.isVisible, timeout=TIMEOUT_MS)
    assert "Your account is restored" not in [title for title, _ in app.notifications]
    # WHEN the user restores it
    with qtbot.wait_signal(techpal.session.signed_in, timeout=TIMEOUT_MS):
        dialog.restore_button.click()
    # THEN a notification confirms it, saying what came back and what did not
    restored = [text for title, text in app.notifications if title == "Your account is restored"]
    assert restored == [
        "Your profile, tickets and conversations are back. A cancelled subscription does not restart; sign in again "
        "on your other devices."
    ]
    assert techpal.session.is_signed_in


def ready_export_announced(qtbot: QtBot, app: App, fake_server: FakeServer) -> tuple[TechPal, AccountWindow]:
    """Signed in, an export asked for in the Account window, which was then closed on the Profile tab; now ready."""
    techpal = app.started_and_signed_in(qtbot)
    techpal.tray.actions_by_kind[TrayAction.ACCOUNT].trigger()
    window = account_window(techpal)
    export = techpal.windows.account.export
    assert export is not None
    export._timer.setInterval(50)  # poll quickly for the test
    window.data_pane.start_button.click()
    qtbot.waitUntil(lambda: fake_server.hits("export") >= 1, timeout=TIMEOUT_MS)
    window.tabs.setCurrentIndex(0)
    window.close()
    fake_server.finish_exports(b"PK-zip-bytes")
    qtbot.waitUntil(lambda: "Your data is ready" in [t for t, _ in app.notifications], timeout=TIMEOUT_MS)
    return techpal, window


def test_clicking_the_data_ready_notification_opens_the_your_data_tab(
    qtbot: QtBot, app: App, fake_server: FakeServer
) -> None:
    techpal, window = ready_export_announced(qtbot, app, fake_server)
    assert not window.isVisible()

    techpal.tray.messageClicked.emit()

    assert window.isVisible()
    assert window.tabs.currentWidget() is window.data_pane
    assert not window.data_pane.save_button.isHidden()


def test_after_signing_out_the_data_ready_notification_opens_nothing(
    qtbot: QtBot, app: App, fake_server: FakeServer
) -> None:
    techpal, window = ready_export_announced(qtbot, app, fake_server)
    techpal.session.sign_out(clear_queue=False)

    techpal.tray.messageClicked.emit()

    assert not window.isVisible()
    assert techpal.sign_in_dialog is None
