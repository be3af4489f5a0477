"""The sign-in dialog's further steps: a forgotten password, the confirmation mail again, two-step sign-in, Google.

A part of :class:`~desktop.ui.sign_in_dialog.SignInDialog` (a mixin: the dialog provides what is declared here).
The widgets are in :mod:`desktop.ui.sign_in_pages`; this wires them to the session presenter and follows its
signals from page to page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QStackedWidget

from desktop.presenters.session_state import SignInStep
from desktop.ui.sign_in_pages import AgePage, ForgotPasswordPage, GoogleBox, OtpPage, Page, ResendBox

if TYPE_CHECKING:
    from desktop.presenters.session_presenter import SessionPresenter

__all__ = ["ADDRESS_NEEDED_TEXT", "SignInStepsView", "resent_text"]

ADDRESS_NEEDED_TEXT = "Enter your e-mail address to get the confirmation mail again."


def resent_text(email: str) -> str:
    """The confirmation line after the mail was sent again from the sign-in page."""
    return f"We sent the confirmation mail to {email} again. Open the link in it, then sign in here."


class SignInStepsView:
    """Builds and drives the further steps' pages and boxes of the sign-in dialog."""

    _session: SessionPresenter
    stack: QStackedWidget
    login_edit: QLineEdit
    password_edit: QLineEdit
    sign_in_error: QLabel

    @property
    def page(self) -> Page:
        """Provided by the dialog."""
        raise NotImplementedError

    def show_page(self, page: Page) -> None:
        """Provided by the dialog."""
        raise NotImplementedError

    def _show_error(self, label: QLabel, text: str) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------------ building
    def _build_sign_in_extras(self) -> None:
        """The sign-in page's "Forgot password?", "Sign in with Google" and "Resend the confirmation mail"."""
        self.sign_in_error.setObjectName("sign_in_error")
        self.forgot_button = QPushButton("Forgot password?")
        self.forgot_button.setObjectName("forgot_password_button")
        self.forgot_button.setFlat(True)
        self.forgot_button.setAutoDefault(False)
        self.google_box = GoogleBox()
        self.google_box.hide()  # until the server says it offers Google sign-in
        self.resend_box = ResendBox()
        self.resend_box.hide()  # until sign-in finds the address unconfirmed
        self._resend_from_sign_in = False
        self.forgot_button.clicked.connect(self._open_forgot)
        self.google_box.google_button.clicked.connect(self._start_google)
        self.google_box.cancel_button.clicked.connect(self._session.cancel_google)
        self.resend_box.resend_button.clicked.connect(self._resend_from_sign_in_page)

    def _build_step_pages(self) -> None:
        """The pages after :class:`Page.VERIFY`, in the stack's order, and the session's signals for them."""
        self.forgot_page = ForgotPasswordPage()
        self.otp_page = OtpPage()
        self.age_page = AgePage()
        for page in (self.forgot_page, self.otp_page, self.age_page):
            self.stack.addWidget(page)
        self.forgot_page.send_button.clicked.connect(self._submit_forgot)
        self.forgot_page.email_edit.returnPressed.connect(self._submit_forgot)
        self.forgot_page.back_button.clicked.connect(lambda: self.show_page(Page.SIGN_IN))
        self.otp_page.verify_button.clicked.connect(self._submit_otp)
        self.otp_page.code_edit.returnPressed.connect(self._submit_otp)
        self.otp_page.back_button.clicked.connect(self._leave_otp)
        self.age_page.continue_button.clicked.connect(self._session.confirm_google_age)
        self.age_page.back_button.clicked.connect(self._leave_age)

        session = self._session
        session.password_reset_sent.connect(self._on_reset_sent)
        session.verification_needed.connect(self._on_verification_needed)
        session.otp_required.connect(self._on_otp_required)
        session.google_available.connect(self._on_google_available)
        session.google_waiting.connect(self.google_box.set_waiting)
        session.google_age_required.connect(self._on_age_required)
        session.load_providers()

    def _step_buttons(self) -> tuple[QPushButton, ...]:
        """Buttons that send a request: disabled while one runs."""
        return (
            self.forgot_page.send_button,
            self.otp_page.verify_button,
            self.age_page.continue_button,
            self.resend_box.resend_button,
            self.google_box.google_button,
        )

    def _step_errors(self) -> tuple[QLabel, ...]:
        return (self.forgot_page.error, self.otp_page.error)

    def _step_fields(self) -> dict[Page, QLineEdit]:
        return {Page.FORGOT: self.forgot_page.email_edit, Page.OTP: self.otp_page.code_edit}

    def _step_error_label(self, step: str) -> QLabel | None:
        """Where a failed step's message goes; the sign-in page comes back for a failure of the sign-in itself."""
        if step == SignInStep.FORGOT.value:
            return self.forgot_page.error
        if step == SignInStep.OTP.value:
            return self.otp_page.error
        if step == SignInStep.RESEND.value and self._resend_from_sign_in:
            return self.sign_in_error
        if step in (SignInStep.SIGN_IN.value, SignInStep.GOOGLE.value) and self.page in (Page.OTP, Page.AGE):
            self.show_page(Page.SIGN_IN)  # an expired challenge, or Google refused: start again from here
        return None

    # ------------------------------------------------------------------------------------------------ forgot
    def _open_forgot(self) -> None:
        login = self.login_edit.text().strip()
        if "@" in login and not self.forgot_page.email_edit.text():
            self.forgot_page.email_edit.setText(login)
        self.forgot_page.info.hide()
        self.show_page(Page.FORGOT)

    def _submit_forgot(self) -> None:
        self.forgot_page.error.hide()
        self.forgot_page.info.hide()
        self._session.request_password_reset(self.forgot_page.email_edit.text())

    def _on_reset_sent(self, text: str) -> None:
        self.forgot_page.info.setText(text)
        self.forgot_page.info.show()

    # ------------------------------------------------------------------------------------------------ resend
    def _on_verification_needed(self) -> None:
        self.resend_box.email_edit.setVisible("@" not in self.login_edit.text())
        self.resend_box.info.hide()
        self.resend_box.show()

    def _resend_from_sign_in_page(self) -> None:
        self.sign_in_error.hide()
        self.resend_box.info.hide()
        login = self.login_edit.text().strip()
        email = login if "@" in login else self.resend_box.email_edit.text().strip()
        if "@" not in email:
            self.resend_box.email_edit.show()
            self.resend_box.email_edit.setFocus()
            self._show_error(self.sign_in_error, ADDRESS_NEEDED_TEXT)
            return
        self._resend_from_sign_in = True
        self._resent_to = email
        self._session.resend_verification(email)

    def _on_resent_from_sign_in(self) -> bool:
        """Show the confirmation line if the mail was asked for on the sign-in page; returns whether it was."""
        if not self._resend_from_sign_in:
            return False
        self._resend_from_sign_in = False
        self.resend_box.info.setText(resent_text(self._resent_to))
        self.resend_box.info.show()
        return True

    # ------------------------------------------------------------------------------------------------ two-step
    def _on_otp_required(self) -> None:
        self.otp_page.code_edit.clear()
        self.show_page(Page.OTP)

    def _submit_otp(self) -> None:
        self.otp_page.error.hide()
        self._session.submit_otp(self.otp_page.code_edit.text())

    def _leave_otp(self) -> None:
        self._session.cancel_otp()
        self.otp_page.code_edit.clear()
        self.show_page(Page.SIGN_IN)

    # ------------------------------------------------------------------------------------------------ Google
    def _on_google_available(self, available: bool) -> None:
        self.google_box.setVisible(available)

    def _start_google(self) -> None:
        self.sign_in_error.hide()
        self._session.sign_in_with_google()

    def _on_age_required(self) -> None:
        self.age_page.reset()
        self.show_page(Page.AGE)

    def _leave_age(self) -> None:
        self._session.cancel_google()
        self.show_page(Page.SIGN_IN)

    def _end_steps(self) -> None:
        """The dialog closed: stop waiting for the browser, forget a challenge or an unconfirmed Google sign-in."""
        self._session.cancel_google()
        self._session.cancel_otp()
