"""The sign-in dialog and the account presenters against the real server and a local OpenID Connect issuer.

The browser is the issuer's ``browse`` (it follows Google's redirect to the app's loopback listener); the dialog,
the session presenter, the desktop's Google flow and the server's ID-token checks are the real ones.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.core.api import ApiClient, OtpRequired
from desktop.core.auth import MemoryTokenStore
from desktop.core.settings import DesktopSettings, SettingsStore
from desktop.presenters.account_presenter import AccountPresenter
from desktop.presenters.session_presenter import SessionPresenter
from desktop.services.settings_store import QtSettingsStore
from desktop.services.tasks import TaskRunner
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


def _mails_to(mailbox: Mailbox, address: str, page: str) -> list[str]:
    """The tokens of the links to ``/{page}`` mailed to ``address``, oldest first."""
    return [link_token(m, page) for m in mailbox.messages() if m["To"] == address and f"/{page}?" in str(m)]


def test_an_unconfirmed_address_gets_its_confirmation_mail_again_and_its_link_works(
    qtbot: QtBot, session: SessionPresenter, live_server: LiveServer, mailbox: Mailbox
) -> None:
    with ApiClient(live_server.url, tokens=MemoryTokenStore()) as owner:
        owner.register(name="Ada", email="ada@example.com", username="ada", password=TEST_PASSWORD, age_confirmed=True)
    qtbot.waitUntil(lambda: len(_mails_to(mailbox, "ada@example.com", "verify-email")) == 1, timeout=TIMEOUT_MS)

    dialog = open_dialog(qtbot, session)
    dialog.login_edit.setText("ada@example.com")
    dialog.password_edit.setText(TEST_PASSWORD)
    click(dialog.sign_in_button)
    qtbot.waitUntil(dialog.resend_box.isVisible, timeout=TIMEOUT_MS)
    click(dialog.resend_box.resend_button)
    qtbot.waitUntil(dialog.resend_box.info.isVisible, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(_mails_to(mailbox, "ada@example.com", "verify-email")) == 2, timeout=TIMEOUT_MS)

    with ApiClient(live_server.url, tokens=MemoryTokenStore()) as owner:
        owner.verify_email(_mails_to(mailbox, "ada@example.com", "verify-email")[-1])
    with qtbot.wait_signal(session.signed_in, timeout=TIMEOUT_MS):
        click(dialog.sign_in_button)


def test_forgot_password_mails_a_link_that_sets_a_new_password(
    qtbot: QtBot, session: SessionPresenter, live_server: LiveServer, mailbox: Mailbox
) -> None:
    with ApiClient(live_server.url, tokens=MemoryTokenStore()) as owner:
        owner.register(name="Ada", email="ada@example.com", username="ada", password=TEST_PASSWORD, age_confirmed=True)
        owner.verify_email(
            link_token([m for m in mailbox.messages() if m["To"] == "ada@example.com"][-1], "verify-email")
        )

    dialog = open_dialog(qtbot, session)
    dialog.login_edit.setText("ada@example.com")
    click(dialog.forgot_button)
    click(dialog.forgot_page.send_button)
    qtbot.waitUntil(dialog.forgot_page.info.isVisible, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: bool(_mails_to(mailbox, "ada@example.com", "reset-password")), timeout=TIMEOUT_MS)

    new_password = "quartz-meadow-falcon-97"
    token = _mails_to(mailbox, "ada@example.com", "reset-password")[-1]
    reset = httpx.post(
        f"{live_server.url}/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": new_password}
    )
    assert reset.status_code == 204, reset.text
    with ApiClient(live_server.url, tokens=MemoryTokenStore()) as owner:
        assert owner.login("ada@example.com", new_password).email == "ada@example.com"


def test_the_account_presenters_change_the_password_and_turn_two_step_on_against_the_server(
    qtbot: QtBot, qapp: object, live_server: LiveServer, mailbox: Mailbox
) -> None:
    client = ApiClient(live_server.url, tokens=MemoryTokenStore())
    client.register(name="Ada", email="ada@example.com", username="ada", password=TEST_PASSWORD, age_confirmed=True)
    client.verify_email(link_token([m for m in mailbox.messages() if m["To"] == "ada@example.com"][-1], "verify-email"))
    client.login("ada", TEST_PASSWORD)
    runner = TaskRunner()
    account = AccountPresenter(lambda: client, runner=runner)
    try:
        with qtbot.wait_signal(account.profile_changed, timeout=TIMEOUT_MS):
            account.refresh()
        new_password = "quartz-meadow-falcon-97"
        with qtbot.wait_signal(account.password_changed, timeout=TIMEOUT_MS):
            account.change_password(TEST_PASSWORD, new_password, new_password)

        with qtbot.wait_signal(account.two_factor.setup_ready, timeout=TIMEOUT_MS) as setup:
            account.two_factor.start()
        secret = parse_qs(urlsplit(setup.args[0].uri).query)["secret"][0]
        with qtbot.wait_signal(account.two_factor.codes_ready, timeout=TIMEOUT_MS) as codes:
            account.two_factor.confirm(pyotp.TOTP(secret).now(), new_password)
    finally:
        runner.shutdown()
        client.close()

    assert len(codes.args[0]) == 10
    with ApiClient(live_server.url, tokens=MemoryTokenStore()) as again, pytest.raises(OtpRequired):
        again.login("ada", new_password)  # the new password is right, and the second step is on
