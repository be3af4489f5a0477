"""The sign-in dialog, offscreen, driven like a user against a real local HTTP server."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QLineEdit

from desktop.core.settings import DesktopSettings, SettingsStore
from desktop.presenters.session_presenter import SessionPresenter
from desktop.services.secrets import KeyringTokenStore
from desktop.services.settings_store import QtSettingsStore
from desktop.ui.sign_in_dialog import VERIFIED_TEXT, Page, SignInDialog
from tests.fixtures.fake_server import FakeServer, SecureMemoryKeyring

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytestqt.qtbot import QtBot

# Offscreen windows cannot size themselves from hints; harmless here.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")

TIMEOUT_MS = 5000
PASSWORD = "correct horse battery"


@pytest.fixture
def session(qapp: object, tmp_path: Path, fake_server: FakeServer) -> Iterator[SessionPresenter]:
    """A started session presenter on the fake server."""
    store = SettingsStore(tmp_path / "settings.json")
    store.save(DesktopSettings(server_url=fake_server.url))
    backend = SecureMemoryKeyring()
    session = SessionPresenter(
        QtSettingsStore(store), token_store_factory=lambda: KeyringTokenStore(backend), queue_root=tmp_path / "q"
    )
    yield session
    session.shutdown()


@pytest.fixture
def dialog(qtbot: QtBot, session: SessionPresenter) -> SignInDialog:
    """The dialog on the sign-in page, once the session is ready."""
    with qtbot.wait_signal(session.state_changed, timeout=TIMEOUT_MS):
        session.start()
    dialog = SignInDialog(session)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def page_of(dialog: SignInDialog) -> Page:
    """The page on show (a call, so the type checker does not carry one comparison over to the next)."""
    return dialog.page


def type_into(qtbot: QtBot, widget: QLineEdit, text: str) -> None:
    widget.clear()
    QTest.keyClicks(widget, text)


def test_typing_starts_in_the_login_field(dialog: SignInDialog) -> None:
    assert page_of(dialog) == Page.SIGN_IN
    assert dialog.focusWidget() is dialog.login_edit


def test_with_the_login_filled_in_typing_starts_in_the_password_field(dialog: SignInDialog) -> None:
    # GIVEN the user typed the login, looked at "Create an account…" and came back
    QTest.keyClicks(dialog.login_edit, "ada@example.com")
    QTest.mouseClick(dialog.create_account_button, Qt.MouseButton.LeftButton)
    assert dialog.focusWidget() is dialog.name_edit
    # WHEN they go back to sign in
    dialog.show_page(Page.SIGN_IN)
    # THEN the password is next
    assert dialog.focusWidget() is dialog.password_edit


def test_on_the_server_page_typing_starts_in_the_address(qtbot: QtBot, session: SessionPresenter) -> None:
    with qtbot.wait_signal(session.state_changed, timeout=TIMEOUT_MS):
        session.start()
    dialog = SignInDialog(session, ask_server=True)
    qtbot.addWidget(dialog)
    dialog.show()

    assert page_of(dialog) == Page.SERVER
    assert dialog.focusWidget() is dialog.server_edit


def test_a_user_creates_an_account_confirms_it_and_signs_in(
    qtbot: QtBot, dialog: SignInDialog, fake_server: FakeServer
) -> None:
    # GIVEN the dialog on the sign-in page
    assert page_of(dialog) == Page.SIGN_IN
    assert dialog.server_label.text() == f"Server: {fake_server.url}"
    # WHEN the user creates an account
    QTest.mouseClick(dialog.create_account_button, Qt.MouseButton.LeftButton)
    assert page_of(dialog) == Page.REGISTER
    type_into(qtbot, dialog.name_edit, "Ada Lovelace")
    type_into(qtbot, dialog.email_edit, "ada@example.com")
    type_into(qtbot, dialog.username_edit, "ada")
    type_into(qtbot, dialog.new_password_edit, PASSWORD)
    dialog.age_check.setChecked(True)
    QTest.mouseClick(dialog.register_button, Qt.MouseButton.LeftButton)
    # THEN it asks for the code from the mail
    qtbot.waitUntil(lambda: page_of(dialog) is Page.VERIFY, timeout=TIMEOUT_MS)
    assert "ada@example.com" in dialog.verify_info.text()
    # WHEN the user pastes the link from the mail
    token = fake_server.account("ada@example.com").verify_token
    type_into(qtbot, dialog.token_edit, f"{fake_server.url}/verify-email?token={token}")
    QTest.mouseClick(dialog.verify_button, Qt.MouseButton.LeftButton)
    # THEN the address is confirmed and the sign-in page comes back, login filled in
    qtbot.waitUntil(lambda: page_of(dialog) is Page.SIGN_IN, timeout=TIMEOUT_MS)
    assert dialog.sign_in_info.text() == VERIFIED_TEXT
    assert dialog.login_edit.text() == "ada@example.com"
    # WHEN the user signs in
    type_into(qtbot, dialog.password_edit, PASSWORD)
    with qtbot.wait_signal(dialog.finished, timeout=TIMEOUT_MS) as finished:
        QTest.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    # THEN the dialog closes, accepted, with the password fields cleared
    assert finished.args == [QDialog.DialogCode.Accepted.value]
    assert dialog.password_edit.text() == ""


def test_a_wrong_password_is_shown_in_words(qtbot: QtBot, dialog: SignInDialog, fake_server: FakeServer) -> None:
    fake_server.add_account(password=PASSWORD)
    type_into(qtbot, dialog.login_edit, "ada@example.com")
    type_into(qtbot, dialog.password_edit, "not the password")

    QTest.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(dialog.sign_in_error.isVisible, timeout=TIMEOUT_MS)
    assert dialog.sign_in_error.text() == "That e-mail/username and password don't match. Check them and try again."
    assert dialog.isVisible()


def test_field_errors_are_listed_under_the_form(qtbot: QtBot, dialog: SignInDialog) -> None:
    dialog.show_page(Page.REGISTER)
    type_into(qtbot, dialog.name_edit, "Ada")
    type_into(qtbot, dialog.email_edit, "ada@example.com")
    type_into(qtbot, dialog.username_edit, "ada")
    type_into(qtbot, dialog.new_password_edit, "short")
    dialog.age_check.setChecked(True)

    QTest.mouseClick(dialog.register_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(dialog.register_error.isVisible, timeout=TIMEOUT_MS)
    assert dialog.register_error.text() == "Choose a stronger password.\nPassword: Use at least 10 characters."


def test_first_use_asks_for_the_server_and_plain_http_elsewhere_needs_the_checkbox(
    qtbot: QtBot, session: SessionPresenter
) -> None:
    with qtbot.wait_signal(session.state_changed, timeout=TIMEOUT_MS):
        session.start()
    dialog = SignInDialog(session, ask_server=True)
    qtbot.addWidget(dialog)
    pages = [page_of(dialog)]

    type_into(qtbot, dialog.server_edit, "http://help.example.com")
    assert not dialog.insecure_check.isHidden()
    QTest.mouseClick(dialog.server_continue, Qt.MouseButton.LeftButton)
    pages.append(page_of(dialog))
    assert "travel unencrypted" in dialog.server_error.text()

    dialog.insecure_check.setChecked(True)
    QTest.mouseClick(dialog.server_continue, Qt.MouseButton.LeftButton)

    pages.append(page_of(dialog))
    assert pages == [Page.SERVER, Page.SERVER, Page.SIGN_IN]
    assert dialog.server_label.text() == "Server: http://help.example.com"


def test_https_needs_no_checkbox(qtbot: QtBot, session: SessionPresenter) -> None:
    dialog = SignInDialog(session, ask_server=True)
    qtbot.addWidget(dialog)

    type_into(qtbot, dialog.server_edit, "https://help.example.com")

    assert dialog.insecure_check.isHidden()


def test_a_deleted_account_is_offered_a_restore_which_then_signs_in(
    qtbot: QtBot, dialog: SignInDialog, fake_server: FakeServer
) -> None:
    # GIVEN an account deleted on another device, removed for good on 6 January 2027 (local time) unless restored
    account = fake_server.add_account(password=PASSWORD)
    account.purge_after = datetime.datetime(2027, 1, 6, 12, 0).astimezone().isoformat()
    type_into(qtbot, dialog.login_edit, "ada@example.com")
    type_into(qtbot, dialog.password_edit, PASSWORD)
    # WHEN the user signs in
    QTest.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    # THEN the dialog says until when it can be restored, and offers to
    qtbot.waitUntil(dialog.restore_button.isVisible, timeout=TIMEOUT_MS)
    assert dialog.restore_info.text() == "This account is scheduled for deletion on 6 January 2027."
    assert dialog.sign_in_error.isHidden()
    # WHEN the user restores it
    with qtbot.wait_signal(dialog.finished, timeout=TIMEOUT_MS) as finished:
        QTest.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
    # THEN the account is back and the user is signed in with the same credentials, without typing them again
    assert finished.args == [QDialog.DialogCode.Accepted.value]
    assert account.purge_after is None
    assert fake_server.requests_to("POST", "/auth/restore")[0].json() == {
        "login": "ada@example.com",
        "password": PASSWORD,
    }
    assert fake_server.hits("login") == 2
    assert dialog.password_edit.text() == ""


def test_a_failed_restore_says_why_and_keeps_the_dialog(
    qtbot: QtBot, dialog: SignInDialog, fake_server: FakeServer
) -> None:
    account = fake_server.add_account(password=PASSWORD)
    account.purge_after = "2027-01-06T12:00:00+00:00"
    type_into(qtbot, dialog.login_edit, "ada")
    type_into(qtbot, dialog.password_edit, PASSWORD)
    QTest.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.restore_button.isVisible, timeout=TIMEOUT_MS)
    fake_server.fail("restore", 503, "service_unavailable")

    QTest.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(dialog.sign_in_error.isVisible, timeout=TIMEOUT_MS)
    assert dialog.sign_in_error.text() == "The server is busy or starting up. Please try again in a moment."
    assert dialog.isVisible()
    assert account.purge_after is not None
