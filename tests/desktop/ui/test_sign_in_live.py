"""The sign-in dialog against the real server and a local OpenID Connect issuer: nothing faked but the browser.

The browser is the issuer's ``browse`` (it follows Google's redirect to the app's loopback listener); the dialog,
the session presenter, the desktop's Google flow and the server's ID-token checks are the real ones.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import pyotp
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.core.api import ApiClient
from desktop.core.auth import MemoryTokenStore
from desktop.core.settings import DesktopSettings, SettingsStore
from desktop.presenters.session_presenter import SessionPresenter
from desktop.services.settings_store import QtSettingsStore
from desktop.ui.sign_in_dialog import Page, SignInDialog
from server.settings import GoogleSettings, Secret, Settings
from tests.fixtures.auth import TEST_PASSWORD
from tests.fixtures.mail import link_token
from tests.fixtures.oidc_issuer import CLIENT_ID, CLIENT_SECRET, FakeIssuer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from PySide6.QtWidgets import QWidget
    from pytestqt.qtbot import QtBot

    from tests.fixtures.mail import Mailbox
    from tests.fixtures.server import LiveServer

pytestmark = [
    pytest.mark.usefixtures("anyio_backend"),  # the server fixtures are async
    pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)"),
]
TIMEOUT_MS = 20_000


@pytest.fixture
def settings(settings: Settings, oidc_issuer: FakeIssuer) -> Settings:
    """The live server with Google sign-in pointed at the local issuer."""
    google = GoogleSettings(client_id=CLIENT_ID, client_secret=Secret(CLIENT_SECRET), issuer=oidc_issuer.url)
    return settings.replace(google=google)


@pytest.fixture
def session(
    qapp: object, tmp_path: Path, live_server: LiveServer, oidc_issuer: FakeIssuer
) -> Iterator[SessionPresenter]:
    """The app's session presenter on the live server; its "system browser" is the issuer's ``browse``."""
    store = SettingsStore(tmp_path / "settings.json")
    store.save(DesktopSettings(server_url=live_server.url))

    def open_browser(url: str) -> bool:
        threading.Thread(target=oidc_issuer.browse, args=(url,), daemon=True).start()
        return True

    presenter = SessionPresenter(
        QtSettingsStore(store), token_store_factory=MemoryTokenStore, queue_root=tmp_path / "q", open_url=open_browser
    )
    yield presenter
    presenter.shutdown()


def open_dialog(qtbot: QtBot, session: SessionPresenter) -> SignInDialog:
    with qtbot.wait_signal(session.state_changed, timeout=TIMEOUT_MS):
        session.start()
    with qtbot.wait_signal(session.google_available, timeout=TIMEOUT_MS):
        dialog = SignInDialog(session)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def click(button: QWidget) -> None:
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def test_a_first_google_sign_in_confirms_the_age_and_signs_in(
    qtbot: QtBot, session: SessionPresenter, oidc_issuer: FakeIssuer
) -> None:
    dialog = open_dialog(qtbot, session)
    assert dialog.google_box.google_button.isVisible()

    click(dialog.google_box.google_button)
    qtbot.waitUntil(lambda: dialog.page == Page.AGE, timeout=TIMEOUT_MS)
    assert not session.is_signed_in
    dialog.age_page.age_check.setChecked(True)
    with qtbot.wait_signal(session.signed_in, timeout=TIMEOUT_MS) as signed_in:
        click(dialog.age_page.continue_button)

    profile = signed_in.args[0]
    assert (profile.email, profile.name, profile.google_linked) == ("ada@example.com", "Ada Lovelace", True)
    assert session.is_signed_in
    assert oidc_issuer.token_requests[-1]["code_verifier"]


def test_a_password_sign_in_with_two_step_on_asks_for_the_code(
    qtbot: QtBot, session: SessionPresenter, live_server: LiveServer, mailbox: Mailbox
) -> None:
    with ApiClient(live_server.url, tokens=MemoryTokenStore()) as owner:
        owner.register(name="Ada", email="ada@example.com", username="ada", password=TEST_PASSWORD, age_confirmed=True)
        owner.verify_email(
            link_token([m for m in mailbox.messages() if m["To"] == "ada@example.com"][-1], "verify-email")
        )
        owner.login("ada", TEST_PASSWORD)
        secret = owner.start_totp().secret
        owner.confirm_totp(pyotp.TOTP(secret).now(), current_password=TEST_PASSWORD)

    dialog = open_dialog(qtbot, session)
    dialog.login_edit.setText("ada")
    dialog.password_edit.setText(TEST_PASSWORD)
    click(dialog.sign_in_button)
    qtbot.waitUntil(lambda: dialog.page == Page.OTP, timeout=TIMEOUT_MS)

    dialog.otp_page.code_edit.setText("000000")
    click(dialog.otp_page.verify_button)
    qtbot.waitUntil(lambda: bool(dialog.otp_page.error.text()), timeout=TIMEOUT_MS)
    assert "4 attempts left" in dialog.otp_page.error.text()
    assert dialog.page == Page.OTP

    dialog.otp_page.code_edit.setText(pyotp.TOTP(secret).at(time.time() + 30))
    with qtbot.wait_signal(session.signed_in, timeout=TIMEOUT_MS) as signed_in:
        click(dialog.otp_page.verify_button)
    assert signed_in.args[0].two_factor is True
