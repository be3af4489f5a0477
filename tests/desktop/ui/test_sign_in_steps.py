"""The sign-in dialog's further steps, offscreen, against the fake server.

A forgotten password, the confirmation mail again, two-step sign-in's code, and Google sign-in (its browser part
played by a stand-in of GoogleSignIn, the browser by a list of opened URLs).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyotp
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog

from desktop.core.google_sign_in import GoogleSignInError
from desktop.core.settings import DesktopSettings, SettingsStore
from desktop.presenters.session_presenter import SessionPresenter
from desktop.presenters.session_steps import RESET_SENT_TEXT
from desktop.services.secrets import KeyringTokenStore
from desktop.services.settings_store import QtSettingsStore
from desktop.ui.sign_in_dialog import Page, SignInDialog
from desktop.ui.sign_in_steps import ADDRESS_NEEDED_TEXT, resent_text
from tests.fixtures.fake_server import GOOGLE_CLIENT_ID, FakeServer, SecureMemoryKeyring

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from PySide6.QtWidgets import QLineEdit, QWidget
    from pytestqt.qtbot import QtBot

    from desktop.core.api.models import GoogleProvider

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")

TIMEOUT_MS = 5000
PASSWORD = "correct horse battery"
AUTHORIZE = "https://accounts.google.example/o/oauth2/v2/auth"


@dataclass
class Identity:
    """What GoogleSignIn.run returns."""

    id_token: str
    nonce: str


@dataclass
class FakeGoogle:
    """Plays ``GoogleSignIn(provider, open_browser)``: "opens the browser", then returns ``identity``.

    With ``wait`` it blocks until cancelled (the user never finishes in the browser); with ``error`` it raises it.
    """

    identity: Identity | None = None
    error: Exception | None = None
    wait: bool = False
    providers: list[GoogleProvider] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def __call__(self, provider: GoogleProvider, open_browser: Callable[[str], object]) -> FakeGoogle.Run:
        self.providers.append(provider)
        return FakeGoogle.Run(self, provider, open_browser)

    @dataclass
    class Run:
        owner: FakeGoogle
        provider: GoogleProvider
        open_browser: Callable[[str], object]

        def run(self, cancel: threading.Event | None = None) -> Identity:
            nonce = self.owner.identity.nonce if self.owner.identity else "n"
            self.open_browser(f"{AUTHORIZE}?client_id={self.provider.client_id}&nonce={nonce}")
            if self.owner.wait:
                assert cancel is not None
                cancel.wait(TIMEOUT_MS / 1000)
                self.owner.cancelled.set()
                raise GoogleSignInError("Sign-in was cancelled.", cancelled=True)
            if self.owner.error is not None:
                raise self.owner.error
            assert self.owner.identity is not None
            return self.owner.identity


@dataclass
class Harness:
    """The session presenter on the fake server, with the browser and Google stood in for."""

    session: SessionPresenter
    google: FakeGoogle
    opened: list[str]


@pytest.fixture
def harness(qapp: object, tmp_path: Path, fake_server: FakeServer) -> Iterator[Harness]:
    store = SettingsStore(tmp_path / "settings.json")
    store.save(DesktopSettings(server_url=fake_server.url))
    backend = SecureMemoryKeyring()
    google, opened = FakeGoogle(), list[str]()
    session = SessionPresenter(
        QtSettingsStore(store),
        token_store_factory=lambda: KeyringTokenStore(backend),
        queue_root=tmp_path / "q",
        open_url=opened.append,
        google_sign_in=google,
    )
    yield Harness(session, google, opened)
    session.shutdown()


def open_dialog(qtbot: QtBot, harness: Harness) -> SignInDialog:
    """The dialog on the sign-in page, once the session is ready and the server said which providers it has."""
    with qtbot.wait_signal(harness.session.state_changed, timeout=TIMEOUT_MS):
        harness.session.start()
    with qtbot.wait_signal(harness.session.google_available, timeout=TIMEOUT_MS):
        dialog = SignInDialog(harness.session)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def page_of(dialog: SignInDialog) -> Page:
    return dialog.page


def type_into(widget: QLineEdit, text: str) -> None:
    widget.clear()
    QTest.keyClicks(widget, text)


def click(button: QWidget) -> None:
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def sign_in_with_password(dialog: SignInDialog, login: str = "ada@example.com") -> None:
    type_into(dialog.login_edit, login)
    type_into(dialog.password_edit, PASSWORD)
    click(dialog.sign_in_button)


# ---------------------------------------------------------------------------------------------- forgot password
def test_forgot_password_mails_a_link_to_the_typed_address(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    dialog = open_dialog(qtbot, harness)
    type_into(dialog.login_edit, "ada@example.com")

    click(dialog.forgot_button)

    assert page_of(dialog) == Page.FORGOT
    assert dialog.forgot_page.email_edit.text() == "ada@example.com"  # what was typed to sign in
    assert dialog.focusWidget() is dialog.forgot_page.email_edit
    click(dialog.forgot_page.send_button)
    qtbot.waitUntil(dialog.forgot_page.info.isVisible, timeout=TIMEOUT_MS)
    assert dialog.forgot_page.info.text() == RESET_SENT_TEXT
    assert RESET_SENT_TEXT == "If an account exists for that address, a mail with a link is on its way."
    assert fake_server.password_resets == ["ada@example.com"]
    assert page_of(dialog) == Page.FORGOT


def test_forgot_password_needs_an_address_and_asks_nothing_without_one(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    dialog = open_dialog(qtbot, harness)
    type_into(dialog.login_edit, "ada")  # a username is no address to mail
    click(dialog.forgot_button)
    assert dialog.forgot_page.email_edit.text() == ""

    click(dialog.forgot_page.send_button)

    assert dialog.forgot_page.error.isVisible()
    assert dialog.forgot_page.error.text() == "Enter the e-mail address of your account."
    assert fake_server.hits("password_reset") == 0
    click(dialog.forgot_page.back_button)
    assert page_of(dialog) == Page.SIGN_IN


# ---------------------------------------------------------------------------------------------- confirmation mail
def test_an_unconfirmed_address_offers_the_confirmation_mail_again(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    fake_server.add_account(password=PASSWORD, verified=False)
    dialog = open_dialog(qtbot, harness)
    assert dialog.resend_box.isHidden()

    sign_in_with_password(dialog)
    qtbot.waitUntil(dialog.resend_box.isVisible, timeout=TIMEOUT_MS)
    assert "confirm your e-mail address" in dialog.sign_in_error.text()
    assert dialog.resend_box.email_edit.isHidden()  # the login is the address
    click(dialog.resend_box.resend_button)

    qtbot.waitUntil(dialog.resend_box.info.isVisible, timeout=TIMEOUT_MS)
    assert dialog.resend_box.info.text() == resent_text("ada@example.com")
    assert fake_server.requests_to("POST", "/verify-email/resend")[0].json() == {"email": "ada@example.com"}
    assert page_of(dialog) == Page.SIGN_IN


def test_after_a_username_sign_in_the_address_is_asked_for(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    fake_server.add_account(password=PASSWORD, verified=False)
    dialog = open_dialog(qtbot, harness)
    sign_in_with_password(dialog, login="ada")
    qtbot.waitUntil(dialog.resend_box.isVisible, timeout=TIMEOUT_MS)
    assert dialog.resend_box.email_edit.isVisible()

    click(dialog.resend_box.resend_button)  # no address typed yet
    assert dialog.sign_in_error.text() == ADDRESS_NEEDED_TEXT
    assert fake_server.hits("resend_verification") == 0
    type_into(dialog.resend_box.email_edit, "ada@example.com")
    click(dialog.resend_box.resend_button)

    qtbot.waitUntil(dialog.resend_box.info.isVisible, timeout=TIMEOUT_MS)
    assert fake_server.requests_to("POST", "/verify-email/resend")[0].json() == {"email": "ada@example.com"}
    assert dialog.sign_in_error.isHidden()


# ---------------------------------------------------------------------------------------------- two-step sign-in
def two_step_account(fake_server: FakeServer) -> str:
    return fake_server.turn_on_two_factor(fake_server.add_account(password=PASSWORD))


def test_the_right_code_finishes_the_sign_in(qtbot: QtBot, harness: Harness, fake_server: FakeServer) -> None:
    secret = two_step_account(fake_server)
    dialog = open_dialog(qtbot, harness)

    sign_in_with_password(dialog)
    qtbot.waitUntil(lambda: page_of(dialog) is Page.OTP, timeout=TIMEOUT_MS)
    assert dialog.otp_page.intro.text().endswith(
        "Enter the 6-digit code from your authenticator app, or one of your recovery codes."
    )
    assert dialog.focusWidget() is dialog.otp_page.code_edit
    code = pyotp.TOTP(secret).now()  # once: the next 30-second step may begin before the request is checked
    type_into(dialog.otp_page.code_edit, code)
    with qtbot.wait_signal(dialog.finished, timeout=TIMEOUT_MS) as finished:
        click(dialog.otp_page.verify_button)

    assert finished.args == [QDialog.DialogCode.Accepted.value]
    assert harness.session.is_signed_in
    assert fake_server.requests_to("POST", "/auth/login/otp")[0].json()["code"] == code


def test_a_recovery_code_signs_in_too(qtbot: QtBot, harness: Harness, fake_server: FakeServer) -> None:
    account = fake_server.add_account(password=PASSWORD)
    fake_server.turn_on_two_factor(account)
    dialog = open_dialog(qtbot, harness)
    sign_in_with_password(dialog)
    qtbot.waitUntil(lambda: page_of(dialog) is Page.OTP, timeout=TIMEOUT_MS)

    type_into(dialog.otp_page.code_edit, account.recovery_codes[0])
    with qtbot.wait_signal(dialog.finished, timeout=TIMEOUT_MS):
        click(dialog.otp_page.verify_button)

    assert harness.session.is_signed_in


def test_a_wrong_code_keeps_the_page_and_says_why(qtbot: QtBot, harness: Harness, fake_server: FakeServer) -> None:
    two_step_account(fake_server)
    dialog = open_dialog(qtbot, harness)
    sign_in_with_password(dialog)
    qtbot.waitUntil(lambda: page_of(dialog) is Page.OTP, timeout=TIMEOUT_MS)

    type_into(dialog.otp_page.code_edit, wrong_code(fake_server))
    click(dialog.otp_page.verify_button)

    qtbot.waitUntil(dialog.otp_page.error.isVisible, timeout=TIMEOUT_MS)
    assert dialog.otp_page.error.text() == (
        "That code isn't right. Check your authenticator app (or the recovery code) and try again. 4 attempts left."
    )
    assert page_of(dialog) == Page.OTP
    assert not harness.session.is_signed_in
    assert dialog.isVisible()


def wrong_code(fake_server: FakeServer) -> str:
    """A 6-digit code the fake refuses now (it accepts one 30-second step either side)."""
    secret = fake_server.account("ada@example.com").totp_secret
    assert secret is not None
    totp = pyotp.TOTP(secret)
    return next(code for code in (f"{n:06d}" for n in range(1000)) if not totp.verify(code, valid_window=1))


def test_an_expired_challenge_goes_back_to_the_password_with_the_reason(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    secret = two_step_account(fake_server)
    dialog = open_dialog(qtbot, harness)
    sign_in_with_password(dialog)
    qtbot.waitUntil(lambda: page_of(dialog) is Page.OTP, timeout=TIMEOUT_MS)
    fake_server.expire_challenges()  # five minutes later

    type_into(dialog.otp_page.code_edit, pyotp.TOTP(secret).now())
    click(dialog.otp_page.verify_button)

    qtbot.waitUntil(lambda: page_of(dialog) is Page.SIGN_IN, timeout=TIMEOUT_MS)
    assert dialog.sign_in_error.isVisible()
    assert dialog.sign_in_error.text() == (
        "Signing in took too long or too many codes were wrong. Please sign in again."
    )
    assert dialog.login_edit.text() == "ada@example.com"
    assert not harness.session.awaiting_otp


def test_back_from_the_code_forgets_the_challenge(qtbot: QtBot, harness: Harness, fake_server: FakeServer) -> None:
    two_step_account(fake_server)
    dialog = open_dialog(qtbot, harness)
    sign_in_with_password(dialog)
    qtbot.waitUntil(lambda: page_of(dialog) is Page.OTP, timeout=TIMEOUT_MS)

    click(dialog.otp_page.back_button)

    assert page_of(dialog) == Page.SIGN_IN
    assert not harness.session.awaiting_otp


# ---------------------------------------------------------------------------------------------- Google
def test_without_google_on_the_server_there_is_no_google_button(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    dialog = open_dialog(qtbot, harness)

    assert fake_server.hits("providers") == 1
    assert dialog.google_box.isHidden()
    assert harness.session.google_provider is None


def test_with_google_on_the_server_the_button_shows(qtbot: QtBot, harness: Harness, fake_server: FakeServer) -> None:
    fake_server.enable_google()

    dialog = open_dialog(qtbot, harness)

    assert dialog.google_box.isVisible()
    assert dialog.google_box.google_button.isVisible()
    assert dialog.google_box.google_button.text() == "Sign in with Google"
    assert harness.session.google_provider is not None
    assert harness.session.google_provider.client_id == GOOGLE_CLIENT_ID


def test_a_server_that_cannot_say_shows_no_google_button(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    fake_server.enable_google()
    fake_server.fail("providers", 503, "service_unavailable")

    dialog = open_dialog(qtbot, harness)

    assert dialog.google_box.isHidden()


def test_a_first_google_sign_in_confirms_the_age_and_sends_the_same_token_and_nonce(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    # GIVEN Google on the server, and a Google account with no Tech Pal account yet
    fake_server.enable_google()
    token = fake_server.google_token("grace@example.com", "nonce-42", name="Grace Hopper")
    harness.google.identity = Identity(token, "nonce-42")
    dialog = open_dialog(qtbot, harness)
    type_into(dialog.login_edit, "typed@example.com")
    # WHEN the user signs in with Google
    click(dialog.google_box.google_button)
    # THEN the browser opened Google's page, and the dialog asks for the age (nothing was made yet)
    qtbot.waitUntil(lambda: page_of(dialog) is Page.AGE, timeout=TIMEOUT_MS)
    assert harness.opened == [f"{AUTHORIZE}?client_id={GOOGLE_CLIENT_ID}&nonce=nonce-42"]
    with pytest.raises(KeyError):
        fake_server.account("grace@example.com")
    assert not dialog.age_page.continue_button.isEnabled()
    # WHEN they confirm being 18 or older
    dialog.age_page.age_check.setChecked(True)
    with qtbot.wait_signal(dialog.finished, timeout=TIMEOUT_MS) as finished:
        click(dialog.age_page.continue_button)
    # THEN the same token and nonce went again, with the age confirmed, and they are signed in
    assert finished.args == [QDialog.DialogCode.Accepted.value]
    first, second = (r.json() for r in fake_server.requests_to("POST", "/auth/google"))
    assert (first["id_token"], first["nonce"], first["age_confirmed"]) == (token, "nonce-42", False)
    assert (second["id_token"], second["nonce"], second["age_confirmed"]) == (token, "nonce-42", True)
    assert harness.session.profile is not None
    assert harness.session.profile.email == "grace@example.com"
    assert fake_server.account("grace@example.com").has_password is False


def test_cancelling_the_age_question_signs_in_nobody(qtbot: QtBot, harness: Harness, fake_server: FakeServer) -> None:
    fake_server.enable_google()
    harness.google.identity = Identity(fake_server.google_token("grace@example.com", "n"), "n")
    dialog = open_dialog(qtbot, harness)
    click(dialog.google_box.google_button)
    qtbot.waitUntil(lambda: page_of(dialog) is Page.AGE, timeout=TIMEOUT_MS)

    click(dialog.age_page.back_button)

    assert page_of(dialog) == Page.SIGN_IN
    harness.session.confirm_google_age()  # nothing left to confirm
    assert fake_server.hits("google") == 1
    assert not harness.session.is_signed_in


def test_waiting_for_the_browser_can_be_cancelled(qtbot: QtBot, harness: Harness, fake_server: FakeServer) -> None:
    fake_server.enable_google()
    harness.google.wait = True
    dialog = open_dialog(qtbot, harness)

    click(dialog.google_box.google_button)

    qtbot.waitUntil(dialog.google_box.cancel_button.isVisible, timeout=TIMEOUT_MS)
    assert dialog.google_box.waiting_label.text() == "Waiting for your browser… Finish signing in with Google there."
    assert dialog.google_box.google_button.isHidden()
    assert not dialog.sign_in_button.isEnabled()
    click(dialog.google_box.cancel_button)
    assert harness.google.cancelled.wait(TIMEOUT_MS / 1000)  # the flow was told to stop
    assert dialog.google_box.google_button.isVisible()
    assert dialog.google_box.cancel_button.isHidden()
    assert dialog.sign_in_button.isEnabled()
    qtbot.wait(50)  # the flow's own "cancelled" arrives and changes nothing
    assert dialog.sign_in_error.isHidden()
    assert fake_server.hits("google") == 0


def test_a_failed_google_sign_in_is_shown_and_the_typed_login_stays(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    fake_server.enable_google()
    harness.google.error = GoogleSignInError("Google sign-in was refused in the browser.")
    dialog = open_dialog(qtbot, harness)
    type_into(dialog.login_edit, "ada@example.com")

    click(dialog.google_box.google_button)

    qtbot.waitUntil(dialog.sign_in_error.isVisible, timeout=TIMEOUT_MS)
    assert dialog.sign_in_error.text() == "Google sign-in was refused in the browser."
    assert dialog.login_edit.text() == "ada@example.com"
    assert dialog.google_box.google_button.isVisible()


def test_the_servers_refusal_of_a_google_sign_in_is_shown(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    fake_server.enable_google()
    fake_server.add_account(password=PASSWORD, verified=False)
    harness.google.identity = Identity(fake_server.google_token("ada@example.com", "n"), "n")
    dialog = open_dialog(qtbot, harness)

    click(dialog.google_box.google_button)

    qtbot.waitUntil(dialog.sign_in_error.isVisible, timeout=TIMEOUT_MS)
    assert dialog.sign_in_error.text().startswith("Google sign-in can't open the Tech Pal account with this e-mail")
    assert page_of(dialog) == Page.SIGN_IN


def test_google_sign_in_of_an_account_with_two_step_asks_for_the_code(
    qtbot: QtBot, harness: Harness, fake_server: FakeServer
) -> None:
    fake_server.enable_google()
    secret = two_step_account(fake_server)
    harness.google.identity = Identity(fake_server.google_token("ada@example.com", "n"), "n")
    dialog = open_dialog(qtbot, harness)

    click(dialog.google_box.google_button)
    qtbot.waitUntil(lambda: page_of(dialog) is Page.OTP, timeout=TIMEOUT_MS)
    type_into(dialog.otp_page.code_edit, pyotp.TOTP(secret).now())
    with qtbot.wait_signal(dialog.finished, timeout=TIMEOUT_MS):
        click(dialog.otp_page.verify_button)

    assert harness.session.is_signed_in
